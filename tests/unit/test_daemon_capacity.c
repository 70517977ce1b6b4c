/* palisaded's map capacity settings (--max-classes and friends): flags, config keys, range
 * errors that name the setting, and the hint an apply error gets when a map is full. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../agent/daemonlib/capacity.h"
#include "test_daemon_cfg_util.h"

/* c's capacity fields, read by name (not through pald_capacities, which the parser uses). */
static void expect_sizes(const struct pald_config *c, uint32_t classes, uint32_t words,
			 uint32_t entries, uint32_t lists, uint32_t flows, uint32_t rule_ids)
{
	cr_expect_eq(c->dp_sizes.max_classes, classes);
	cr_expect_eq(c->dp_sizes.max_words, words);
	cr_expect_eq(c->dp_sizes.max_entries, entries);
	cr_expect_eq(c->dp_sizes.max_lists, lists);
	cr_expect_eq(c->dp_sizes.max_flows, flows);
	cr_expect_eq(c->dp_sizes.max_rule_ids, rule_ids);
}

Test(daemon_capacity, defaults_leave_the_datapath_its_own)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "p");
	for (size_t i = 0; i < pald_n_capacities; i++)
		cr_expect_eq(pald_capacity_get(&c, &pald_capacities[i]), 0, "%s",
			     pald_capacities[i].flag);
	pald_config_free(&c);
}

Test(daemon_capacity, every_flag_sets_its_field)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "p", "--max-classes", "11", "--max-words=12", "--max-entries",
		 "13", "--max-lists", "14", "--max-flows", "15", "--max-rule-ids", "16");
	expect_sizes(&c, 11, 12, 13, 14, 15, 16);
	pald_config_free(&c);
}

Test(daemon_capacity, config_keys)
{
	static const char text[] = "maxClasses: 2000000\nmaxWords: 4194304\nmaxEntries: 1048576\n"
				   "maxLists: 30000\nmaxFlows: 524288\nmaxRuleIds: 65536\n";
	struct pald_config c;
	char err[512] = "";

	memset(&c, 0, sizeof(c));
	cr_assert_eq(pald_config_apply_file_text(&c, "cfg.yaml", text, strlen(text), err,
						 sizeof(err)), 0, "%s", err);
	expect_sizes(&c, 2000000, 4194304, 1048576, 30000, 524288, 65536);
	pald_config_free(&c);
}

static void expect_usage_error(const char *flag, const char *value, const char *want)
{
	PARSE_ERR(want, "--policy-dir", "p", (char *)flag, (char *)value);
}

Test(daemon_capacity, out_of_range_names_the_setting_and_its_range)
{
	expect_usage_error("--max-classes", "0",
			   "max classes (--max-classes, maxClasses) must be a number from 1 to "
			   "67108864, got \"0\"");
	expect_usage_error("--max-classes", "67108865", "from 1 to 67108864");
	expect_usage_error("--max-words", "268435457", "max words (--max-words, maxWords)");
	expect_usage_error("--max-entries", "-1", "max entries");
	expect_usage_error("--max-lists", "12x", "max lists (--max-lists, maxLists)");
	expect_usage_error("--max-flows", "", "max flows");
	expect_usage_error("--max-rule-ids", "99999999999", "max rule ids");
}

Test(daemon_capacity, a_full_map_names_the_option_that_sizes_it)
{
	static const struct {
		const char *msg, *flag;
	} cases[] = {
		{ "pal_classes: No space left on device (raise max_classes?)", "--max-classes" },
		{ "pal_words full (9 words needed)", "--max-words" },
		{ "pal_entries full (9 entries needed)", "--max-entries" },
		{ "pal_lists: Argument list too long", "--max-lists" },
		{ "pal_small: No space left on device", "--max-lists" },
	};
	char out[768];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pald_capacity_explain(cases[i].msg, out, sizeof(out));
		cr_expect(strncmp(out, cases[i].msg, strlen(cases[i].msg)) == 0, "%s", out);
		cr_expect(strstr(out, cases[i].flag), "\"%s\" lacks %s", out, cases[i].flag);
		cr_expect(strstr(out, "--uninstall"), "%s", out);
	}
}

Test(daemon_capacity, other_errors_are_left_alone)
{
	char out[256];

	pald_capacity_explain("rule list too large (70000 entries, at most 131072)", out,
			      sizeof(out));
	cr_expect_str_eq(out, "rule list too large (70000 entries, at most 131072)");
	/* a longer identifier that merely starts with a map's name is not that map */
	pald_capacity_explain("pal_lists_x: gone", out, sizeof(out));
	cr_expect_str_eq(out, "pal_lists_x: gone");
	cr_expect_null(pald_capacity_in_message(NULL));
}

Test(daemon_capacity, what_did_not_fit_is_the_map_and_its_option)
{
	static const struct {
		const char *error, *want;
	} cases[] = {
		{ "datapath: pal_classes: No space left on device; raise --max-classes (config key "
		  "maxClasses); a pinned datapath keeps its sizes until `palisaded --uninstall`",
		  "pal_classes (--max-classes)" },
		{ "datapath: pal_small: No space left on device; raise --max-lists", "pal_small (--max-lists)" },
		{ "datapath: pal_lists: no free list id; raise --max-lists", "pal_lists (--max-lists)" },
		{ "datapath: pal_words full (9 words needed); raise --max-words", "pal_words (--max-words)" },
		{ "datapath: rule list too large (70000 entries, at most 131072)",
		  "rule list too large (70000 entries, at most 131072)" },
		{ "datapath rejected the policy: Cannot allocate memory",
		  "datapath rejected the policy: Cannot allocate memory" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pald_capacity_what_did_not_fit(cases[i].error, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].want);
	}
}
