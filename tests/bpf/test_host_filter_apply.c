/* A host table's filter (abi.h PAL_HOST_FILTER_ID) across applies and at its smallest size. The
 * filter is part of the list's words, so a list whose hosts change is a new list with its own
 * filter: hosts a later apply adds must be denied at once (a filter kept from the old list would
 * clear their bits and give them the /0's class), hosts it removes must be allowed again, and a
 * filter of a single word (two hosts) must hold both. Each packet goes through the programs and
 * the reference evaluator. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"

BT_BARE_SUITE(bpf_host_filter_apply);

/* TCP denies from hosts 198.19.0.i and 2001:db8:9::i for i in [lo, hi], 40 UDP port denies (so
 * the list is over 32 entries without another source), then allow everything. */
static char *policy(int lo, int hi)
{
	size_t cap = 32768, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4 ", '" HOST6 "'")
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: hosts}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n");
	for (int i = lo; i <= hi; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n"
			"  - {action: Deny, protocol: TCP, source: {nets: ['2001:db8:9::%x/128']}}\n",
			i, i);
	for (int p = 1; p <= 40; p++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: UDP, destination: {ports: [%d]}}\n", 1000 + p);
	snprintf(y + len, cap - len, "  - {action: Allow}\n");
	return y;
}

/* Host i of a family as a TCP packet to h0; the programs and the evaluator must say allow. */
static void expect_host(struct ctest *c, int i, bool v6, bool allow)
{
	char a[64];
	struct pal_packet p;

	if (v6)
		snprintf(a, sizeof(a), "2001:db8:9::%x", i);
	else
		snprintf(a, sizeof(a), "198.19.0.%d", i);
	p = ct_pkt(PAL_PROTO_TCP, a, 40000, v6 ? HOST6 : HOST4, 80);
	bt_expect_agree(&T, c, PAL_TRACE_INGRESS, "eth0", NULL, &p, allow);
}

/* Whether some programmed list reads its source through a host table with a filter of 2^log
 * bits (any log when log is 0). */
static bool has_host_filter(uint32_t log)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists"), wfd = pal_dp_map_fd(T.dp, "pal_words");
	uint32_t key, next, *prev = NULL;
	struct pal_list l;
	uint64_t w;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		if (!(l.direct & (1u << PAL_FIELD_SRC_ADDR)))
			continue;
		cr_assert_eq(bpf_map_lookup_elem(wfd, &l.key_table[PAL_FIELD_SRC_ADDR], &w), 0);
		w = (w >> (16 * PAL_HOST_FILTER_ID)) & 0xffff;
		if (w && (!log || w == log))
			return true;
	}
	return false;
}

Test(bpf_host_filter_apply, hosts_a_later_apply_adds_are_denied_and_removed_ones_allowed,
     .timeout = 300)
{
	struct ctest a, b;

	bt_compile_apply(&T, &a, policy(1, 20), 1);
	cr_assert(has_host_filter(0), "no source host table with a filter");
	for (int i = 1; i <= 40; i++) {
		expect_host(&a, i, false, i > 20);
		expect_host(&a, i, true, i > 20);
	}
	bt_compile_apply(&T, &b, policy(11, 40), 2);
	cr_assert(has_host_filter(0), "no source host table with a filter after the second apply");
	for (int i = 1; i <= 40; i++) {
		expect_host(&b, i, false, i <= 10);
		expect_host(&b, i, true, i <= 10);
	}
	ct_free(&a);
	ct_free(&b);
}

Test(bpf_host_filter_apply, a_one_word_filter_holds_both_hosts, .timeout = 300)
{
	struct ctest c;

	/* one IPv4 and one IPv6 host, and the two /0s: 4 addresses, 64 bits */
	bt_compile_apply(&T, &c, policy(7, 7), 1);
	cr_assert(has_host_filter(PAL_HOST_FILTER_LOG_MIN), "no source host filter of one word");
	for (int i = 1; i <= 12; i++) {
		expect_host(&c, i, false, i != 7);
		expect_host(&c, i, true, i != 7);
	}
	ct_free(&c);
}
