/* The agent's event reports (log_event.h): the JSON object of an event (the event socket's line,
 * the log line's fields) and the token bucket that limits deny log lines. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "../../agent/daemonlib/log_event.h"

static struct pal_event udp_deny(void)
{
	struct pal_event e = { .ts_ns = 1, .ifindex = 7, .rule_id = 3, .type = PAL_EVENT_DENY,
			       .hook = PAL_HOOK_XDP, .reason = PAL_DROP_POLICY,
			       .stage = PAL_DP_STAGE_NORMAL, .family = 4, .proto = 17, .sport = 40001,
			       .dport = 7781, .len = 52 };

	inet_pton(AF_INET, "198.18.200.7", e.src);
	inet_pton(AF_INET, "198.18.1.1", e.dst);
	return e;
}

static const char *s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Each key of kv (key, value pairs, NULL-terminated) is the string value in o. */
static void expect_strs(json_t *o, const char *const *kv)
{
	for (; kv[0]; kv += 2) {
		const char *got = s(o, kv[0]);

		cr_expect(got && strcmp(got, kv[1]) == 0, "%s: \"%s\", want \"%s\"", kv[0],
			  got ? got : "(none)", kv[1]);
	}
}

Test(daemon_events, json_names_endpoint_policy_and_rule)
{
	struct pal_event e = udp_deny();
	json_t *rule = json_pack("{s:s, s:s, s:s, s:n, s:s, s:i, s:s}", "kind", "policy", "tier",
				 "security", "policy", "security.quarantine", "namespace", "dir",
				 "ingress", "index", 1, "action", "Deny");
	json_t *o = pald_event_json(&e, "ext0", "host//demo-node-ext0", rule,
				    1764979200123000000LL);

	cr_assert_not_null(o);
	expect_strs(o, (const char *const[]){
		"time", "2025-12-06T00:00:00.123Z",
		"type", "deny",
		"interface", "ext0",
		"hook", "xdp",
		"stage", "normal",
		"reason", "policy-deny",
		"proto", "udp",
		"src", "198.18.200.7",
		"dst", "198.18.1.1",
		"endpoint", "demo-node-ext0",
		"endpoint_kind", "host",
		"tier", "security",
		"policy", "security.quarantine",
		"direction", "ingress",
		NULL });
	cr_expect_eq(json_integer_value(json_object_get(o, "dport")), 7781);
	cr_expect_eq(json_integer_value(json_object_get(o, "rule")), 1);
	cr_expect_eq(json_integer_value(json_object_get(o, "rule_id")), 3);
	cr_expect_null(json_object_get(o, "namespace"), "a global policy has no namespace");
	cr_expect_null(json_object_get(o, "icmp_type"), "no ICMP fields for UDP");
	json_decref(o);
	json_decref(rule);
}

Test(daemon_events, json_workload_without_rule_and_icmpv6)
{
	struct pal_event e = udp_deny();
	json_t *o;

	e.family = 6;
	e.proto = 58;
	e.icmp_type = 128;
	e.rule_id = PAL_RULE_ID_NONE;
	e.reason = PAL_DROP_TIER_END;
	inet_pton(AF_INET6, "2001:db8::1", e.src);
	inet_pton(AF_INET6, "2001:db8::2", e.dst);
	o = pald_event_json(&e, NULL, "workload/shop/web-eth0", NULL, 0);
	cr_assert_not_null(o);
	cr_expect_str_eq(s(o, "interface"), "if7", "no name: ifINDEX");
	cr_expect_str_eq(s(o, "src"), "2001:db8::1");
	cr_expect_str_eq(s(o, "proto"), "icmpv6");
	cr_expect_eq(json_integer_value(json_object_get(o, "icmp_type")), 128);
	cr_expect_str_eq(s(o, "endpoint"), "shop/web-eth0");
	cr_expect_str_eq(s(o, "endpoint_kind"), "workload");
	cr_expect_str_eq(s(o, "reason"), "tier-default-deny");
	cr_expect_null(json_object_get(o, "rule_id"));
	cr_expect_null(json_object_get(o, "policy"));
	json_decref(o);
}

Test(daemon_events, rate_limit_burst_then_rate)
{
	struct pald_rate r;
	uint64_t t = 1000000000ull;
	int taken = 0;

	pald_rate_init(&r, 20, 100, t);
	for (int i = 0; i < 1000; i++)
		taken += pald_rate_take(&r, t);
	cr_expect_eq(taken, 100, "the burst, then nothing at the same instant");
	t += 500000000ull; /* half a second: 10 more */
	taken = 0;
	for (int i = 0; i < 1000; i++)
		taken += pald_rate_take(&r, t);
	cr_expect_eq(taken, 10);
	t += 3600ull * 1000000000ull; /* an hour later: never more than the burst */
	taken = 0;
	for (int i = 0; i < 1000; i++)
		taken += pald_rate_take(&r, t);
	cr_expect_eq(taken, 100);
}
