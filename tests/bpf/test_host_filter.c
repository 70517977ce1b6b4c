/* A host table's filter (abi.h PAL_HOST_FILTER_ID, agent/dataplane/key_tables.c, bpf/classify.h
 * pal_host_maybe): an address whose filter bit is clear takes its family's /0 class without the
 * pal_hosts lookup. What must hold:
 * - every host of the table, IPv4 and IPv6, finds its bit set: the agent and the classifier
 *   compute the same bit (a classifier that folds an IPv6 address differently lets the hosts a
 *   rule denies through);
 * - an IPv6 address whose bit is clear is not looked up (a pal_hosts entry planted for it is
 *   not read), and one whose bit is set is (a planted entry is read): the filter only skips
 *   lookups that would find nothing.
 * And the table's IPv4 slots (abi.h PAL_HOST_SLOTS_ID, bpf/classify.h pal_host_slot), which
 * answer an IPv4 address without the filter or pal_hosts:
 * - every IPv4 host finds its class, also the third and fourth hosts of one bucket (those are
 *   only in pal_hosts: the bucket says so), and an address of no host, also one of that bucket,
 *   takes the /0;
 * - a host of a bucket of at most two is answered by its slot: its pal_hosts entry deleted, it
 *   is still denied (fails where pal_hosts answered every IPv4 host). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"
#define N_HOSTS 40

BT_BARE_SUITE(bpf_host_filter);

/* TCP denies from N_HOSTS IPv4 hosts 198.19.0.i and N_HOSTS IPv6 hosts 2001:db8:9::i, then allow
 * everything: a list over 32 entries whose sources are a host table. */
static char *policy(void)
{
	size_t cap = 16384, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4 ", " HOST6)
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: hosts}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n");
	for (int i = 1; i <= N_HOSTS; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n"
			"  - {action: Deny, protocol: TCP, source: {nets: ['2001:db8:9::%x/128']}}\n",
			i, i);
	snprintf(y + len, cap - len, "  - {action: Allow}\n");
	return y;
}

static bool allows(const char *src)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, strchr(src, ':') ? HOST6 : HOST4, 80);

	return bt_path_new_flow(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p).allow;
}

/* The long list with a source host table: its id, and its table word's index in pal_words. */
static uint32_t host_list(uint32_t *tab)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	struct pal_list l;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		if (l.n_entries > PAL_SMALL_ENTRIES && (l.direct & (1u << PAL_FIELD_SRC_ADDR))) {
			*tab = l.key_table[PAL_FIELD_SRC_ADDR];
			return key;
		}
	}
	cr_assert_fail("no list with a source host table");
	return 0;
}

static uint64_t word_at(uint32_t i)
{
	int fd = pal_dp_map_fd(T.dp, "pal_words");
	uint64_t w;

	cr_assert_eq(bpf_map_lookup_elem(fd, &i, &w), 0);
	return w;
}

/* Whether IPv6 address a's bit is set in the filter after table word tab. */
static bool bit_set(uint32_t tab, const char *addr)
{
	uint32_t log = (uint32_t)(word_at(tab) >> (16 * PAL_HOST_FILTER_ID)) & 0xffff, w[4], bit;
	struct pal_addr a;

	cr_assert(pal_addr_parse(addr, &a));
	cr_assert(log >= PAL_HOST_FILTER_LOG_MIN && log <= PAL_HOST_FILTER_LOG_MAX, "log %u", log);
	memcpy(w, a.bytes, 16);
	bit = pal_host_filter_bit(w[0] ^ w[1] * PAL_HOST_FOLD1 ^ w[2] * PAL_HOST_FOLD2 ^
					  w[3] * PAL_HOST_FOLD3,
				  log);
	return (word_at(tab + 1 + bit / 64) >> (bit % 64)) & 1;
}

Test(bpf_host_filter, every_host_passes_its_filter, .timeout = 300)
{
	struct ctest c;
	char a[64];

	bt_compile_apply(&T, &c, policy(), 1);
	for (int i = 1; i <= N_HOSTS; i++) {
		snprintf(a, sizeof(a), "198.19.0.%d", i);
		cr_expect(!allows(a), "%s is denied", a);
		snprintf(a, sizeof(a), "2001:db8:9::%x", i);
		cr_expect(!allows(a), "%s is denied", a);
	}
	for (int i = 1; i <= 8; i++) {
		snprintf(a, sizeof(a), "198.19.1.%d", i);
		cr_expect(allows(a), "%s is allowed", a);
		snprintf(a, sizeof(a), "2001:db8:a::%x", i);
		cr_expect(allows(a), "%s is allowed", a);
	}
	ct_free(&c);
}

/* Plants a pal_hosts entry for IPv6 source addr in list id, with the class 2001:db8:9::1 has. */
static void plant_denied_class(uint32_t id, const char *addr)
{
	int fd = pal_dp_map_fd(T.dp, "pal_hosts");
	struct pal_host_key k = { .list_id = id, .field = PAL_FIELD_SRC_ADDR, .family = 6 };
	struct pal_addr a;
	uint32_t cls;

	cr_assert(pal_addr_parse("2001:db8:9::1", &a));
	memcpy(k.addr, a.bytes, 16);
	cr_assert_eq(bpf_map_lookup_elem(fd, &k, &cls), 0, "2001:db8:9::1 is a host of the list");
	cr_assert(pal_addr_parse(addr, &a));
	memcpy(k.addr, a.bytes, 16);
	cr_assert_eq(bpf_map_update_elem(fd, &k, &cls, BPF_NOEXIST), 0);
}

Test(bpf_host_filter, only_an_address_with_its_bit_set_is_looked_up, .timeout = 300)
{
	char clear[64] = "", set[64] = "", a[64];
	struct ctest c;
	uint32_t tab, id;

	bt_compile_apply(&T, &c, policy(), 1);
	id = host_list(&tab);
	for (int i = 1; i <= 250 && (!clear[0] || !set[0]); i++) {
		snprintf(a, sizeof(a), "2001:db8:b::%x", i);
		if (bit_set(tab, a))
			snprintf(set, sizeof(set), "%s", a);
		else
			snprintf(clear, sizeof(clear), "%s", a);
	}
	cr_assert(clear[0] && set[0], "no address with its bit clear, or none with it set");
	cr_assert(allows(clear) && allows(set), "neither is a host: both allowed");
	plant_denied_class(id, clear);
	plant_denied_class(id, set);
	cr_expect(allows(clear), "%s: its bit is clear, its planted entry must not be read", clear);
	cr_expect(!allows(set), "%s: its bit is set, its planted entry must be read", set);
	ct_free(&c);
}

/* The IPv4 bucket of w0 in a table of 2^slog buckets. */
static uint32_t bucket_of(const char *addr, uint32_t slog)
{
	struct pal_addr a;
	uint32_t w0;

	cr_assert(pal_addr_parse(addr, &a));
	memcpy(&w0, a.bytes, 4);
	return pal_host_filter_bit(w0, slog);
}

/* TCP denies from n4 IPv4 hosts (198.19.3.i and four of 198.19.4-7.x in one bucket of the slots the list
 * gets), one IPv6 host, then allow everything; *more the addresses of that bucket's hosts and
 * *other an address of no host in the same bucket. */
static char *slot_policy(int n4, char more[4][32], char *other)
{
	uint32_t slog = PAL_HOST_SLOTS_LOG_MIN, b = 0;
	size_t cap = 16384, len = 0;
	int k = 0, n = 0;
	char *y = malloc(cap), a[32];

	cr_assert_not_null(y);
	while (slog < PAL_HOST_SLOTS_LOG_MAX && (1u << slog) < (uint32_t)n4 * 2)
		slog++; /* key_tables.c host_slots_log */
	other[0] = 0;
	for (int i = 0; i < 1000; i++) { /* four hosts of 198.19.4-7.x in one bucket, and another */
		snprintf(a, sizeof(a), "198.19.%d.%d", 4 + i / 250, 1 + i % 250);
		if (k == 0)
			b = bucket_of(a, slog);
		if (bucket_of(a, slog) != b)
			continue;
		if (k < 4)
			snprintf(more[k++], 32, "%s", a);
		else if (!other[0])
			snprintf(other, 32, "%s", a);
	}
	cr_assert(k == 4 && other[0], "no five addresses of one bucket");
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4 ", " HOST6)
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: slots}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
		"  - {action: Deny, protocol: TCP, source: {nets: ['2001:db8:9::1/128']}}\n");
	for (int i = 0; i < 4; i++, n++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [%s/32]}}\n", more[i]);
	for (int i = 1; n < n4; i++, n++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.3.%d/32]}}\n", i);
	snprintf(y + len, cap - len, "  - {action: Allow}\n");
	return y;
}

Test(bpf_host_filter, ipv4_hosts_by_slot_and_a_full_bucket_by_pal_hosts, .timeout = 300)
{
	char more[4][32], other[32], a[64];
	struct ctest c;
	uint32_t tab, slog;

	bt_compile_apply(&T, &c, slot_policy(N_HOSTS, more, other), 1);
	host_list(&tab);
	slog = (uint32_t)(word_at(tab) >> (16 * PAL_HOST_SLOTS_ID)) & 0xffff;
	cr_assert(slog >= PAL_HOST_SLOTS_LOG_MIN && slog <= PAL_HOST_SLOTS_LOG_MAX, "slots log %u",
		  slog);
	for (int i = 0; i < 4; i++)
		cr_expect(!allows(more[i]), "%s (a bucket of four hosts) is denied", more[i]);
	for (int i = 1; i <= N_HOSTS - 4; i++) {
		snprintf(a, sizeof(a), "198.19.3.%d", i);
		cr_expect(!allows(a), "%s is denied", a);
	}
	cr_expect(!allows("2001:db8:9::1"), "the IPv6 host is denied");
	cr_expect(allows(other), "%s (no host, in the full bucket) is allowed", other);
	for (int i = 1; i <= 16; i++) {
		snprintf(a, sizeof(a), "198.19.8.%d", i);
		cr_expect(allows(a), "%s is allowed", a);
	}
	ct_free(&c);
}

Test(bpf_host_filter, an_ipv4_host_of_a_bucket_of_two_is_answered_by_its_slot, .timeout = 300)
{
	int fd = pal_dp_map_fd(T.dp, "pal_hosts");
	struct pal_host_key k = { .field = PAL_FIELD_SRC_ADDR, .family = 4 };
	char more[4][32], other[32], a[64];
	struct pal_addr pa;
	struct ctest c;
	uint32_t tab;

	bt_compile_apply(&T, &c, slot_policy(N_HOSTS, more, other), 1);
	uint32_t flog, slog, at, w0 = 0;
	int i;

	k.list_id = host_list(&tab);
	flog = (uint32_t)(word_at(tab) >> (16 * PAL_HOST_FILTER_ID)) & 0xffff;
	slog = (uint32_t)(word_at(tab) >> (16 * PAL_HOST_SLOTS_ID)) & 0xffff;
	for (i = 1; i <= N_HOSTS - 4; i++) { /* a host its bucket holds (not one of more than two) */
		snprintf(a, sizeof(a), "198.19.3.%d", i);
		cr_assert(pal_addr_parse(a, &pa));
		memcpy(&w0, pa.bytes, 4);
		at = tab + 1 + (1u << (flog - PAL_HOST_FILTER_LOG_MIN)) + 2 * bucket_of(a, slog);
		if ((uint32_t)(word_at(at) >> 32) == w0 || ((uint32_t)(word_at(at + 1) >> 32) == w0 &&
							   (uint32_t)word_at(at + 1) != PAL_HOST_SLOT_MORE))
			break;
	}
	cr_assert(i <= N_HOSTS - 4, "no host in its slot");
	memcpy(k.addr, pa.bytes, 4);
	cr_assert_eq(bpf_map_delete_elem(fd, &k), 0, "%s is in pal_hosts", a);
	cr_expect(!allows(a), "%s: denied from its slot, without its pal_hosts entry", a);
	ct_free(&c);
}
