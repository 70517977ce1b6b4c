/* The sized maps and their settings (capacity.h). */
#include "capacity.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

/* Limits: what one map may reserve. The preallocated maps (pal_words, pal_entries, pal_lists,
 * pal_flows, pal_rule_ctrs) take their memory when the datapath is created; the largest value
 * of each costs about 2 GiB (docs/operations.md has the bytes per entry). pal_classes is an LPM
 * trie that allocates per entry in use, so its limit only bounds what a runaway policy may take. */
const struct pald_capacity pald_capacities[] = {
	{ "pal_classes", NULL, "max-classes", "maxClasses", "max classes",
	  offsetof(struct pald_config, dp_sizes.max_classes), 1u << 26 },
	{ "pal_words", NULL, "max-words", "maxWords", "max words",
	  offsetof(struct pald_config, dp_sizes.max_words), 1u << 28 },
	{ "pal_entries", NULL, "max-entries", "maxEntries", "max entries",
	  offsetof(struct pald_config, dp_sizes.max_entries), 1u << 27 },
	{ "pal_lists", "pal_small", "max-lists", "maxLists", "max lists",
	  offsetof(struct pald_config, dp_sizes.max_lists), 1u << 24 },
	{ "pal_flows", "pal_flows4", "max-flows", "maxFlows", "max flows",
	  offsetof(struct pald_config, dp_sizes.max_flows), 1u << 24 },
	{ "pal_rule_ctrs", NULL, "max-rule-ids", "maxRuleIds", "max rule ids",
	  offsetof(struct pald_config, dp_sizes.max_rule_ids), 1u << 24 },
};
const size_t pald_n_capacities = sizeof(pald_capacities) / sizeof(pald_capacities[0]);

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Whether name occurs in msg as a whole word (pal_lists must not match pal_lists_x). */
static bool mentions(const char *msg, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = msg; (p = strstr(p, name)); p += n)
		if ((p == msg || !ident_char(p[-1])) && !ident_char(p[n]))
			return true;
	return false;
}

const struct pald_capacity *pald_capacity_in_message(const char *msg)
{
	for (size_t i = 0; msg && i < pald_n_capacities; i++) {
		const struct pald_capacity *cap = &pald_capacities[i];

		if (mentions(msg, cap->map) || (cap->map2 && mentions(msg, cap->map2)))
			return cap;
	}
	return NULL;
}

const struct pald_capacity *pald_capacity_of_field(size_t field)
{
	for (size_t i = 0; i < pald_n_capacities; i++)
		if (pald_capacities[i].field == field)
			return &pald_capacities[i];
	return NULL;
}

static uint32_t *field_of(struct pald_config *c, const struct pald_capacity *cap)
{
	return (uint32_t *)((char *)c + cap->field);
}

uint32_t pald_capacity_get(const struct pald_config *c, const struct pald_capacity *cap)
{
	return *(const uint32_t *)((const char *)c + cap->field);
}

int pald_capacity_set(struct pald_config *c, const struct pald_capacity *cap, const char *v,
		      char *err, size_t errlen)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < 1 || n > cap->limit) {
		snprintf(err, errlen, "%s (--%s, %s) must be a number from 1 to %u, got \"%s\"",
			 cap->what, cap->flag, cap->key, cap->limit, v);
		return -EINVAL;
	}
	*field_of(c, cap) = (uint32_t)n;
	return 0;
}

void pald_capacity_explain(const char *msg, char *out, size_t len)
{
	const struct pald_capacity *cap = pald_capacity_in_message(msg);

	if (cap)
		snprintf(out, len, "%s; raise --%s (config key %s); a pinned datapath keeps its "
			 "sizes until `palisaded --uninstall`", msg, cap->flag, cap->key);
	else
		snprintf(out, len, "%s", msg);
}

void pald_capacity_what_did_not_fit(const char *error, char *out, size_t len)
{
	const struct pald_capacity *cap = pald_capacity_in_message(error);
	const char *prefix = "datapath: ";

	if (!strncmp(error, prefix, strlen(prefix)))
		error += strlen(prefix);
	if (!cap)
		snprintf(out, len, "%.*s", (int)strcspn(error, ";"), error);
	else if (cap->map2 && mentions(error, cap->map2) && !mentions(error, cap->map))
		snprintf(out, len, "%s (--%s)", cap->map2, cap->flag);
	else
		snprintf(out, len, "%s (--%s)", cap->map, cap->flag);
}
