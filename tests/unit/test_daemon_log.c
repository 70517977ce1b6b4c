/* palisaded log lines: text and JSON forms, quoting, escaping, truncation, diagnostics. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../agent/daemonlib/log.h"

static const char *fmt_line(char *buf, size_t size, enum pald_log_format f, enum pald_log_level l,
			    const char *msg, const struct pald_kv *kv, size_t n)
{
	pald_log_format_line(buf, size, f, 1795907601 /* 2026-11-28T23:13:21Z */, l, msg, kv, n);
	return buf;
}

Test(daemon_log, text_line)
{
	char buf[256];
	struct pald_kv kv[] = { PALD_S("dir", "/etc/p"), PALD_I("generation", 3),
				PALD_F("seconds", 0.25), PALD_S("why", "two words"),
				PALD_S("empty", ""), PALD_S("none", NULL), PALD_S("eq", "a=b") };

	fmt_line(buf, sizeof(buf), PALD_LOG_TEXT, PALD_LOG_INFO, "policy applied", kv, 7);
	cr_expect_str_eq(buf, "2026-11-28T23:13:21Z info policy applied dir=/etc/p generation=3 "
			      "seconds=0.25 why=\"two words\" empty=\"\" none=\"\" eq=\"a=b\"\n");
}

Test(daemon_log, json_line)
{
	char buf[256];
	struct pald_kv kv[] = { PALD_S("file", "a\"b\\c\n"), PALD_I("line", -4), PALD_S("path", NULL),
				PALD_F("s", 1.5) };

	fmt_line(buf, sizeof(buf), PALD_LOG_JSON, PALD_LOG_ERROR, "bad\tpolicy", kv, 4);
	cr_expect_str_eq(buf, "{\"time\":\"2026-11-28T23:13:21Z\",\"level\":\"error\",\"msg\":"
			      "\"bad\\tpolicy\",\"file\":\"a\\\"b\\\\c\\n\",\"line\":-4,\"path\":null,"
			      "\"s\":1.5}\n");
}

Test(daemon_log, control_characters_escaped)
{
	char buf[128];
	struct pald_kv kv[] = { PALD_S("k", "\x01") };

	fmt_line(buf, sizeof(buf), PALD_LOG_JSON, PALD_LOG_WARN, "m", kv, 1);
	cr_expect(strstr(buf, "\"k\":\"\\u0001\"") != NULL, "%s", buf);
	fmt_line(buf, sizeof(buf), PALD_LOG_TEXT, PALD_LOG_WARN, "m", kv, 1);
	cr_expect(strstr(buf, "k=\"\\u0001\"") != NULL, "%s", buf);
}

Test(daemon_log, long_lines_are_cut_and_marked)
{
	char buf[80], msg[300];
	size_t len;

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	len = pald_log_format_line(buf, sizeof(buf), PALD_LOG_TEXT, 0, PALD_LOG_INFO, msg, NULL, 0);
	cr_expect_lt(len, sizeof(buf));
	cr_expect_eq(strlen(buf), len);
	cr_expect_eq(buf[len - 1], '\n');
	cr_expect_eq(strncmp(buf + len - 4, "...", 3), 0, "%s", buf);
}

Test(daemon_log, diag_text_is_compiler_style)
{
	char buf[256];
	struct pal_diag full = { PAL_SEV_ERROR, "p/a.yaml", 3, 5, "spec.selecter", "unknown field" };
	struct pal_diag noline = { PAL_SEV_WARNING, "p/a.yaml", 0, 0, NULL, "empty file" };
	struct pal_diag nofile = { PAL_SEV_ERROR, NULL, 0, 0, NULL, "datapath full" };
	struct pal_diag nocol = { PAL_SEV_ERROR, "f", 7, 0, "x", "m" };

	cr_expect_str_eq(pald_diag_text(&full, buf, sizeof(buf)),
			 "p/a.yaml:3:5: error: unknown field [at spec.selecter]");
	cr_expect_str_eq(pald_diag_text(&noline, buf, sizeof(buf)), "p/a.yaml: warning: empty file");
	cr_expect_str_eq(pald_diag_text(&nofile, buf, sizeof(buf)), "error: datapath full");
	cr_expect_str_eq(pald_diag_text(&nocol, buf, sizeof(buf)), "f:7: error: m [at x]");
}

Test(daemon_log, levels_and_formats)
{
	enum pald_log_level l;
	enum pald_log_format f;

	cr_expect_eq(pald_log_level_parse("debug", &l), 0);
	cr_expect_eq(l, PALD_LOG_DEBUG);
	cr_expect_eq(pald_log_level_parse("WARNING", &l), 0);
	cr_expect_eq(l, PALD_LOG_WARN);
	cr_expect_eq(pald_log_level_parse("error", &l), 0);
	cr_expect_eq(l, PALD_LOG_ERROR);
	cr_expect_neq(pald_log_level_parse("trace", &l), 0);
	cr_expect_neq(pald_log_level_parse(NULL, &l), 0);
	cr_expect_eq(pald_log_format_parse("json", &f), 0);
	cr_expect_eq(f, PALD_LOG_JSON);
	cr_expect_neq(pald_log_format_parse("JSON", &f), 0);
	cr_expect_str_eq(pald_log_level_name(PALD_LOG_WARN), "warn");
}

Test(daemon_log, level_filter)
{
	pald_log_setup(PALD_LOG_TEXT, PALD_LOG_WARN, 2);
	cr_expect_not(pald_log_enabled(PALD_LOG_INFO));
	cr_expect(pald_log_enabled(PALD_LOG_WARN));
	cr_expect(pald_log_enabled(PALD_LOG_ERROR));
	pald_log_setup(PALD_LOG_TEXT, PALD_LOG_INFO, 2);
}
