/* palisaded's Prometheus rendering of the control-plane metrics. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../agent/daemonlib/metrics.h"

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* Every line of want (NULL-terminated) stands whole in text; a failure names the line. */
static void expect_lines(const char *text, const char *const *want)
{
	for (; *want; want++)
		cr_expect(has_line(text, *want), "no line \"%s\" in:\n%s", *want, text);
}

Test(daemon_metrics, render_every_family)
{
	struct pald_metrics m = { .generation = 7, .policy_errors = 2, .reloads_ok = 7,
				  .reloads_failed = 1, .interfaces_desired = 3,
				  .interfaces_attached = 2, .degraded = 1 };
	struct pal_strbuf b = { 0 };

	pald_metrics_observe_apply(&m, 0.004);
	pald_metrics_render(&m, &b);
	cr_assert_not_null(b.p);
	expect_lines(b.p, (const char *const[]){
		"palisade_policy_generation 7",
		"palisade_policy_errors 2",
		"palisade_policy_degraded 1",
		"palisade_policy_reloads_total{result=\"ok\"} 7",
		"palisade_policy_reloads_total{result=\"error\"} 1",
		"palisade_policy_apply_last_seconds 0.004000",
		"palisade_interfaces_desired 3",
		"palisade_interfaces_attached 2",
		"# TYPE palisade_policy_apply_seconds histogram",
		"# TYPE palisade_policy_reloads_total counter",
		NULL });
	/* Every sample line belongs to a family announced by a TYPE line before it. */
	for (char *save = NULL, *line = strtok_r(b.p, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		cr_expect(line[0] == '#' || strncmp(line, "palisade_", 9) == 0, "stray line %s", line);
	pal_strbuf_free(&b);
}

Test(daemon_metrics, histogram_is_cumulative)
{
	struct pald_metrics m = { 0 };
	struct pal_strbuf b = { 0 };

	pald_metrics_observe_apply(&m, 0.0005); /* le 0.001 */
	pald_metrics_observe_apply(&m, 0.003);  /* le 0.005 */
	pald_metrics_observe_apply(&m, 0.003);
	pald_metrics_observe_apply(&m, 30);     /* only +Inf */
	cr_expect_eq(m.apply_count, 4);
	cr_expect_float_eq(m.apply_last_seconds, 30, 1e-9);
	pald_metrics_render(&m, &b);
	expect_lines(b.p, (const char *const[]){
		"palisade_policy_apply_seconds_bucket{le=\"0.001\"} 1",
		"palisade_policy_apply_seconds_bucket{le=\"0.0025\"} 1",
		"palisade_policy_apply_seconds_bucket{le=\"0.005\"} 3",
		"palisade_policy_apply_seconds_bucket{le=\"10\"} 3",
		"palisade_policy_apply_seconds_bucket{le=\"+Inf\"} 4",
		"palisade_policy_apply_seconds_count 4",
		"palisade_policy_apply_seconds_sum 30.006500",
		NULL });
	pal_strbuf_free(&b);
}
