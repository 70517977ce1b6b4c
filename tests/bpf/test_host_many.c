/* Thousands of IPv4 and IPv6 host sources in one long list (a source host table: abi.h "Host
 * tables"), rules of them alternating Allow and Deny, and the edge addresses 0.0.0.0/32 and
 * 255.255.255.255/32 among them: every host, and addresses one off them, through the programs
 * against the reference evaluator. Enough hosts that many hash buckets of whatever the classifier
 * finds a host by (the filter, buckets of slots) hold three or more. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"
#define RULES 64
#define PER_RULE 50

BT_BARE_SUITE(bpf_host_many);

static uint32_t host4(int r, int i)
{
	/* spread over 198.18.0.0/15 (a fixed permutation-ish walk), never the endpoint's own */
	uint32_t x = (uint32_t)(r * PER_RULE + i) * 2654435761u;

	return 0xc6120000u | ((x >> 15) & 0x1ffff) | 0x100;
}

static void fmt4(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static char *policy(void)
{
	size_t cap = 1 << 20, len = 0;
	char *y = malloc(cap), a[32];

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4 ", " HOST6)
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: hosts}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
		"  - {action: Deny, protocol: TCP, source: {nets: [0.0.0.0/32, 255.255.255.255/32]}}\n");
	for (int r = 0; r < RULES; r++) {
		len += (size_t)snprintf(y + len, cap - len, "  - {action: %s, protocol: TCP, source: {nets: [",
					r % 2 ? "Allow" : "Deny");
		for (int i = 0; i < PER_RULE; i++) {
			fmt4(host4(r, i), a, sizeof(a));
			len += (size_t)snprintf(y + len, cap - len, "%s%s/32", i ? ", " : "", a);
		}
		len += (size_t)snprintf(y + len, cap - len, "]}}\n");
		if (r % 8 == 0) {
			len += (size_t)snprintf(y + len, cap - len,
						"  - {action: %s, protocol: TCP, source: {nets: [",
						r % 16 ? "Allow" : "Deny");
			for (int i = 0; i < 20; i++)
				len += (size_t)snprintf(y + len, cap - len, "%s'2001:db8:%x::%x/128'",
							i ? ", " : "", r, i + 1);
			len += (size_t)snprintf(y + len, cap - len, "]}}\n");
		}
	}
	snprintf(y + len, cap - len, "  - {action: Allow, protocol: UDP}\n");
	return y;
}

static uint64_t word_at(uint32_t i)
{
	int fd = pal_dp_map_fd(T.dp, "pal_words");
	uint64_t w = 0;

	cr_assert_eq(bpf_map_lookup_elem(fd, &i, &w), 0);
	return w;
}

/* Where the host table has IPv4 slots (abi.h PAL_HOST_SLOTS_ID, s14/growth): how many buckets
 * hold two hosts and how many more than fit (printed: proof the test reaches them). */
static void report_slots(uint32_t tab)
{
#ifdef PAL_HOST_SLOTS_ID
	uint64_t ids = word_at(tab);
	uint32_t flog = (ids >> (16 * PAL_HOST_FILTER_ID)) & 0xffff;
	uint32_t slog = (ids >> (16 * PAL_HOST_SLOTS_ID)) & 0xffff, at, two = 0, more = 0;

	if (!slog)
		return;
	at = tab + 1 + (flog ? 1u << (flog - PAL_HOST_FILTER_LOG_MIN) : 0);
	for (uint32_t b = 0; b < (1u << slog); b++) {
		uint64_t w1 = word_at(at + 2 * b + 1);

		two += (uint32_t)w1 && (uint32_t)w1 != PAL_HOST_SLOT_MORE;
		more += (uint32_t)w1 == PAL_HOST_SLOT_MORE;
	}
	fprintf(stderr, "bpf_host_many: %u buckets, %u with two hosts, %u with more\n", 1u << slog,
		two, more);
#else
	(void)tab;
	(void)word_at;
#endif
}

static int check(struct ctest *c, const char *src)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, strchr(src, ':') ? HOST6 : HOST4, 80);
	struct pal_verdict v = ct_eval(c, PAL_TRACE_INGRESS, "eth0", NULL, &p);
	struct bt_result r = bt_path_new_flow(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p);

	if (r.allow == v.allow)
		return 0;
	fprintf(stderr, "MISMATCH %s: evaluator %s, datapath %s (hook %d)\n", src,
		v.allow ? "allow" : "deny", r.allow ? "allow" : "deny", r.dropped_at);
	return 1;
}

Test(bpf_host_many, every_host_and_its_neighbours_agree_with_the_reference, .timeout = 600)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	struct pal_list l;
	struct ctest c;
	char a[64];
	int bad = 0, tables = 0;

	bt_compile_apply(&T, &c, policy(), 1);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		if (l.n_entries > PAL_SMALL_ENTRIES && (l.direct & (1u << PAL_FIELD_SRC_ADDR))) {
			tables++;
			report_slots(l.key_table[PAL_FIELD_SRC_ADDR]);
		}
	}
	cr_assert_gt(tables, 0, "no list with a source host table");
	bad += check(&c, "0.0.0.0");
	bad += check(&c, "255.255.255.255");
	bad += check(&c, "0.0.0.1");
	bad += check(&c, "255.255.255.254");
	for (int r = 0; r < RULES && bad < 20; r++) {
		for (int i = 0; i < PER_RULE; i++) {
			uint32_t h = host4(r, i);

			fmt4(h, a, sizeof(a));
			bad += check(&c, a);
			fmt4(h ^ 1, a, sizeof(a));
			bad += check(&c, a);
			fmt4(h + 0x10000, a, sizeof(a));
			bad += check(&c, a);
		}
		if (r % 8 == 0)
			for (int i = 0; i < 21; i++) {
				snprintf(a, sizeof(a), "2001:db8:%x::%x", r, i + 1);
				bad += check(&c, a);
			}
	}
	cr_assert_eq(bad, 0, "%d addresses where the datapath and the evaluator disagree", bad);
	ct_free(&c);
}
