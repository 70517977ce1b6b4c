/* The bitmap form's direct key tables (abi.h "Direct key tables", docs/datapath.md "Classifier"):
 * a list over PAL_SMALL_ENTRIES entries takes its protocol, port and ICMP classes by array
 * indexing instead of LPM lookups. Every key at the tables' edges goes through the programs and
 * the reference evaluator, which must agree: ports 0 and 65535, ranges ending and starting at a
 * 256-key block boundary and spanning blocks, the packet without ports, protocols 0, 132 and 255,
 * ICMP type/code pairs beside the allowed one, IPv4 and IPv6; and a list whose sources are only
 * host addresses (its host table in pal_hosts): sources listed, unlisted, of either family, and
 * an IPv4 address whose bytes reappear in an IPv6 one. An off-by-one in a block index or a
 * class id read from the wrong half-word lets a packet through that a rule denies (or the
 * reverse), which is what this compares. */
#include <errno.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"
#include "ir_random.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"

BT_BARE_SUITE(bpf_key_tables);

/* 40 filler denies (so the list takes the bitmap form), then rules whose keys sit at the tables'
 * edges, then the host endpoint's default deny. */
static const char *policy_tail =
	"  - {action: Deny, protocol: UDP, destination: {ports: [1]}}\n"
	"  - {action: Allow, protocol: UDP, destination: {ports: [65535]}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [\"255:256\"]}}\n"
	"  - {action: Deny, protocol: TCP, destination: {ports: [\"1000:1999\"]}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [\"768:2047\"]}}\n"
	"  - {action: Allow, protocol: UDP, source: {ports: [53]}}\n"
	"  - {action: Allow, protocol: 132, destination: {ports: [\"65280:65535\"]}}\n"
	"  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}\n"
	"  - {action: Allow, protocol: ICMPv6, icmp: {type: 128, code: 0}}\n"
	"  - {action: Deny, protocol: ICMP, icmp: {type: 3}}\n"
	"  - {action: Allow, notProtocol: TCP, source: {nets: [198.18.7.0/24]}}\n"
	"  - {action: Allow, protocol: 255}\n"
	"  - {action: Allow, protocol: TCP, source: {nets: [\"2001:db8:7::/48\"]}, "
	"destination: {ports: [443, \"60000:60255\"]}}\n";

/* The host endpoint h0 and a policy NAME on it: 40 TCP denies from 198.19.0.1-40, then TAIL. */
static char *policy_with(const char *name, const char *tail)
{
	size_t cap = 16384, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4 ", " HOST6)
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: %s}\n"
		"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n", name);
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.%d/32]}}\n", i + 1);
	snprintf(y + len, cap - len, "%s", tail);
	return y;
}

static char *policy(void)
{
	return policy_with("edges", policy_tail);
}

/* The fields of the host endpoint's ingress lists that have a direct table (OR over them). */
static uint32_t direct_fields(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL, direct = 0;
	struct pal_list l;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		if (l.n_entries > PAL_SMALL_ENTRIES)
			direct |= l.direct;
	}
	return direct;
}

struct tally {
	int cases, allowed;
};

/* A new flow of p through the programs and the evaluator: the same verdict. */
static void agree(struct ctest *c, const struct pal_packet *p, struct tally *t)
{
	struct pal_verdict v = ct_eval(c, PAL_TRACE_INGRESS, "eth0", NULL, p);
	struct bt_result r;
	char desc[256];

	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, p, NULL);
	cr_expect_eq(r.allow, v.allow, "%s: datapath %s, evaluator %s (%s)",
		     pal_packet_str(p, desc, sizeof(desc)), r.allow ? "allow" : "deny",
		     v.allow ? "allow" : "deny", v.reason);
	t->cases++;
	t->allowed += v.allow;
}

static const uint16_t edge_ports[] = { 0,    1,    53,   254,  255,   256,   257,   443,
				       767,  768,  999,  1000, 1999,  2000,  2047,  2048,
				       59999, 60000, 60255, 60256, 65279, 65280, 65534, 65535 };
#define N_EDGE (sizeof(edge_ports) / sizeof(edge_ports[0]))

/* Compiles y (freed) into c, applies it as generation gen; the direct-table fields it got. */
static uint32_t compile_and_apply(struct ctest *c, char *y, uint32_t gen)
{
	bt_compile_apply(&T, c, y, gen);
	return direct_fields();
}

Test(bpf_key_tables, edge_keys_decide_as_the_evaluator, .timeout = 300)
{
	static const uint8_t protos[] = { PAL_PROTO_TCP, PAL_PROTO_UDP, 132 };
	static const char *src4[] = { "198.18.7.9", "198.18.9.9", "198.19.0.1" };
	static const char *src6[] = { "2001:db8:7::9", "2001:db8:9::9" };
	static const uint8_t icmp[][2] = { { 8, 0 }, { 8, 1 }, { 7, 255 }, { 9, 0 }, { 3, 0 },
					   { 3, 255 }, { 0, 0 }, { 255, 255 }, { 128, 0 } };
	struct tally t = { 0 };
	struct ctest c;
	char *y = policy();
	uint32_t direct;

	direct = compile_and_apply(&c, y, 1);
	cr_assert_eq(direct & (1u << PAL_FIELD_PROTO | 1u << PAL_FIELD_SPORT | 1u << PAL_FIELD_DPORT |
			       1u << PAL_FIELD_ICMP),
		     1u << PAL_FIELD_PROTO | 1u << PAL_FIELD_SPORT | 1u << PAL_FIELD_DPORT |
			     1u << PAL_FIELD_ICMP,
		     "direct tables for protocol, ports and ICMP: 0x%x", direct);
	cr_assert_eq(direct & (1u << PAL_FIELD_SRC_ADDR), 0,
		     "sources with networks keep their LPM lookup");

	for (size_t s = 0; s < 3; s++)
		for (size_t k = 0; k < sizeof(protos); k++)
			for (size_t i = 0; i < N_EDGE; i++) {
				struct pal_packet p = ct_pkt(protos[k], src4[s], 40000, HOST4,
							     edge_ports[i]);

				agree(&c, &p, &t);
				p = ct_pkt(protos[k], src4[s], edge_ports[i], HOST4, 9);
				agree(&c, &p, &t);
			}
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < N_EDGE; i++) {
			struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src6[s], 40000, HOST6,
						     edge_ports[i]);

			agree(&c, &p, &t);
		}
	for (size_t i = 0; i < sizeof(icmp) / sizeof(icmp[0]); i++) {
		struct pal_packet p = ct_icmp("198.18.9.9", HOST4, icmp[i][0], icmp[i][1]);

		agree(&c, &p, &t);
		p = ct_icmp("2001:db8:9::9", HOST6, icmp[i][0], icmp[i][1]);
		agree(&c, &p, &t);
	}
	/* protocols without ports: 0, 255, and one in neither rule */
	for (size_t s = 0; s < 3; s++) {
		static const uint8_t bare[] = { 0, 47, 255 };

		for (size_t k = 0; k < sizeof(bare); k++) {
			struct pal_packet p = ct_pkt(bare[k], src4[s], 0, HOST4, 0);

			agree(&c, &p, &t);
		}
	}
	/* the comparison is not vacuous: both verdicts occur */
	cr_expect_gt(t.allowed, 20, "%d of %d cases allowed", t.allowed, t.cases);
	cr_expect_lt(t.allowed, t.cases - 20, "%d of %d cases allowed", t.allowed, t.cases);
	ct_free(&c);
}

/* 40 denies from IPv4 hosts, allows from two IPv6 hosts and one IPv4 host (ports), from every
 * IPv4 address to port 81 (the two families' /0s differ), UDP: the source field has only host
 * addresses and the /0s. */
static char *hosts_policy(void)
{
	return policy_with("hosts",
			   "  - {action: Allow, protocol: TCP, source: {nets: [\"2001:db8::c613:1\", "
			   "\"2001:db8:5::5/128\"]}}\n"
			   "  - {action: Allow, protocol: TCP, source: {nets: [198.18.5.5/32]}, "
			   "destination: {ports: [80]}}\n"
			   "  - {action: Allow, protocol: TCP, source: {nets: [0.0.0.0/0]}, "
			   "destination: {ports: [81]}}\n"
			   "  - {action: Allow, protocol: UDP}\n");
}

/* Entries in pal_hosts. */
static size_t host_entries(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_hosts");
	struct pal_host_key key, next, *prev = NULL;
	size_t n = 0;

	cr_assert_geq(fd, 0);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

Test(bpf_key_tables, host_sources_decide_as_the_evaluator, .timeout = 300)
{
	static const char *src[] = { "198.19.0.1", "198.19.0.40", "198.19.0.41", "198.19.0.0",
				     "198.18.5.5", "198.18.5.6", "0.0.0.0", "255.255.255.255",
				     "2001:db8::c613:1", "2001:db8::c613:2", "2001:db8:5::5",
				     "2001:db8:5::", "2001:db8::", "c613:1::" };
	static const uint16_t ports[] = { 79, 80, 81 };
	struct tally t = { 0 };
	struct ctest c;
	char *y = hosts_policy();
	uint32_t direct;

	direct = compile_and_apply(&c, y, 1);
	cr_assert(direct & (1u << PAL_FIELD_SRC_ADDR), "a host table for the sources: 0x%x", direct);
	for (size_t s = 0; s < sizeof(src) / sizeof(src[0]); s++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			const char *dst = strchr(src[s], ':') ? HOST6 : HOST4;
			struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src[s], 40000, dst, ports[i]);

			agree(&c, &p, &t);
			p = ct_pkt(PAL_PROTO_UDP, src[s], 40000, dst, ports[i]);
			agree(&c, &p, &t);
		}
	cr_expect_gt(t.allowed, 20, "%d of %d cases allowed", t.allowed, t.cases);
	cr_expect_lt(t.allowed, t.cases - 20, "%d of %d cases allowed", t.allowed, t.cases);
	cr_assert_gt(host_entries(), 0, "the hosts are in pal_hosts");
	ct_free(&c);

	/* the next policy has no host table: the old lists' hosts are gone with them */
	compile_and_apply(&c, policy(), 2);
	cr_assert_gt(pal_dp_lists_sweep(T.dp), 0, "the first policy's lists deleted");
	cr_assert_eq(host_entries(), 0, "pal_hosts entries left behind by deleted lists");
	ct_free(&c);
}

/* ---- review (s5/review-cls): pal_hosts entries of a list id no pal_lists entry holds ---------
 * pal_dp_list_write writes a list's hosts into pal_hosts before its pal_lists entry, and
 * delete_lists deletes the pal_lists entry even when pal_key_hosts_delete failed (ENOMEM in the
 * scan). An agent killed between the two (or such a failed delete) leaves pal_hosts entries under
 * an id that no pal_lists entry holds. free_list_id checks only pal_lists, a restart resumes ids
 * after the largest *pinned list* id (pal_dp_regions_load) and sweep_unreferenced only walks
 * pal_lists: so the next agent writes its next list under that very id, and the leftover host
 * keys the new list does not overwrite answer for it. A source the new list does not name then
 * gets the class of a source it allows instead of its family's /0 class. The test leaves what a
 * killed agent leaves: one key (an address the policy does not list, the class id the policy
 * gives 198.18.5.5) under the next ids to be written, restarts, applies the same policy again. */
#include "../../agent/dataplane/datapath_internal.h"

/* The class id list `list`'s host table gives source addr (IPv4), or UINT32_MAX. */
static uint32_t host_class_of(const char *addr, uint32_t *list)
{
	int fd = pal_dp_map_fd(T.dp, "pal_hosts");
	struct pal_host_key key, next, *prev = NULL;
	struct pal_addr a;
	uint32_t v;

	cr_assert(pal_addr_parse(addr, &a));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.field == PAL_FIELD_SRC_ADDR && key.family == 4 &&
		    memcmp(key.addr, a.bytes, 4) == 0) {
			cr_assert_eq(bpf_map_lookup_elem(fd, &key, &v), 0);
			*list = key.list_id;
			return v;
		}
	}
	return UINT32_MAX;
}

/* What a restarted agent does: closes the datapath and opens the pinned maps again. */
static void restart_agent(void)
{
	char err[512] = "";
	bool adopted = false;
	struct pal_dp_opts opts;

	pal_dp_close(T.dp);
	T.dp = NULL;
	opts = bt_dp_opts(T.pin_dir);
	cr_assert_eq(pal_dp_open(&opts, &T.dp, &adopted, err, sizeof(err)), 0, "pal_dp_open: %s",
		     err);
	cr_assert(adopted);
}

static bool path_allows(const char *src, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src, 40000, HOST4, dport);

	bt_flush_flows(&T);
	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

Test(bpf_key_tables, leftover_hosts_of_an_unwritten_list_id_do_not_classify_a_new_list,
     .timeout = 300)
{
	struct ctest c;
	uint32_t list = 0, cls, next_id, next_small, next_long;
	int fd;

	cr_assert(compile_and_apply(&c, hosts_policy(), 1) & (1u << PAL_FIELD_SRC_ADDR),
		  "the test needs a host table");
	cls = host_class_of("198.18.5.5", &list);
	cr_assert_neq(cls, UINT32_MAX, "198.18.5.5 is in pal_hosts");
	cr_assert(path_allows("198.18.5.5", 80), "the policy allows 198.18.5.5 to port 80");
	cr_assert_not(path_allows("198.18.9.9", 80), "and denies 198.18.9.9 to port 80");

	/* what an agent killed after pal_key_hosts_write, before the pal_lists insert, leaves: its
	 * list's hosts under the next id (seeded on the next few ids so the test does not depend on
	 * which of the apply's lists is written first; as plain ids, as the ids of pal_long slots,
	 * which a list over PAL_SMALL_ENTRIES entries takes, and as the ids of pal_small slots,
	 * which a list with a linear form takes) */
	next_id = T.dp->next_list_id;
	next_small = T.dp->next_small_slot;
	next_long = T.dp->next_long_slot;
	fd = pal_dp_map_fd(T.dp, "pal_hosts");
	for (uint32_t i = 0; i < 24; i++) {
		struct pal_host_key k;
		struct pal_addr a;

		cr_assert(pal_addr_parse("198.18.9.9", &a));
		memset(&k, 0, sizeof(k));
		k.list_id = i % 3 == 2 ? PAL_LIST_ID_SMALL | (next_small + i / 3) :
			    i % 3 == 1 ? PAL_LIST_ID_LONG | (next_long + i / 3) : next_id + i / 3;
		k.field = PAL_FIELD_SRC_ADDR;
		k.family = 4;
		memcpy(k.addr, a.bytes, 4);
		cr_assert_eq(bpf_map_update_elem(fd, &k, &cls, BPF_ANY), 0);
	}

	/* the restart: ids resume after the largest pinned list */
	restart_agent();
	cr_assert_eq(T.dp->next_list_id, next_id, "the restarted agent takes the same next id");
	cr_assert_eq(T.dp->next_small_slot, next_small, "and the same next pal_small slot");
	cr_assert_eq(T.dp->next_long_slot, next_long, "and the same next pal_long slot");

	bt_apply(&T, &c.ir, 2);
	pal_dp_lists_sweep(T.dp);
	cr_assert_neq(host_class_of("198.18.5.5", &list), UINT32_MAX);
	if (list & PAL_LIST_ID_SMALL)
		cr_assert_geq(list & ~PAL_LIST_ID_SMALL, next_small,
			      "the policy's host list was written anew (id %#x)", list);
	else if (list & PAL_LIST_ID_LONG)
		cr_assert_geq(list & ~PAL_LIST_ID_LONG, next_long,
			      "the policy's host list was written anew (id %#x)", list);
	else
		cr_assert_geq(list, next_id, "the policy's host list was written anew (id %#x)",
			      list);
	cr_expect(path_allows("198.18.5.5", 80), "198.18.5.5 to port 80 is still allowed");
	cr_expect_not(path_allows("198.18.9.9", 80),
		      "198.18.9.9 to port 80 allowed: the new list (id %#x) took the class of a "
		      "leftover pal_hosts key of its id", list);
	ct_free(&c);
}

/* The same for pal_classes: an agent killed after write_classes, before the pal_lists insert,
 * leaves trie keys under an id no list holds; a host prefix among them would outrank the /0 of
 * the next list written under that id. The load deletes them, and keeps the live lists' keys. */
Test(bpf_key_tables, leftover_class_keys_of_an_unwritten_list_id_are_deleted_at_load,
     .timeout = 300)
{
	struct ctest c;
	struct pal_class_key k;
	struct pal_class v;
	struct pal_addr a;
	uint32_t list = 0;
	int fd;

	compile_and_apply(&c, hosts_policy(), 1);
	cr_assert(pal_addr_parse("198.18.9.9", &a));
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.prefixlen = PAL_CLASS_FIXED_BITS + 32;
	k.list_id = T.dp->next_list_id;
	k.field = PAL_FIELD_SRC_ADDR;
	k.sub = 4;
	memcpy(k.data, a.bytes, 4);
	fd = pal_dp_map_fd(T.dp, "pal_classes");
	cr_assert_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);

	restart_agent();
	fd = pal_dp_map_fd(T.dp, "pal_classes");
	cr_expect(bpf_map_lookup_elem(fd, &k, &v) && errno == ENOENT,
		  "pal_classes key of list id %u (no pal_lists entry) survived the load", k.list_id);
	cr_expect_geq(pal_dp_lists_swept_at_load(T.dp), 1);
	cr_assert_neq(host_class_of("198.18.5.5", &list), UINT32_MAX, "the live list's hosts stay");
	cr_expect(path_allows("198.18.5.5", 80), "the live lists still classify");
	cr_expect_not(path_allows("198.18.9.9", 80));
	ct_free(&c);
}

/* ---- host tables of more than 32,767 classes ---------------------------------------------------
 * Port and protocol tables hold 16-bit class ids, but a host's id comes from its 32-bit pal_hosts
 * value: a source field of 33,000 hosts (33,000 rules, each from one host) keeps its host table,
 * and hosts whose class ids pass 32,767 must classify as the evaluator does (a 16-bit bound on
 * the id, or a table refused, fails here). */
#define MANY_HOSTS 33000

static char *many_hosts_policy(void)
{
	size_t cap = 4096 + (size_t)MANY_HOSTS * 128, len = 0;
	char *y = malloc(cap);

	cr_assert_not_null(y);
	len += (size_t)snprintf(y + len, cap - len,
		BT_YAML_HEP_H0(HOST4));
	for (int i = 0; i < MANY_HOSTS; i++) {
		if (i % 1000 == 0) /* at most 1,024 rules per policy and direction */
			len += (size_t)snprintf(y + len, cap - len,
				"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
				"metadata: {name: many%d}\nspec:\n  order: %d\n"
				"  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n",
				i / 1000, i / 1000);
		len += (size_t)snprintf(y + len, cap - len,
			"  - {action: Deny, protocol: TCP, source: {nets: [198.19.%d.%d/32]}, "
			"destination: {ports: [80]}}\n", i / 250, 1 + i % 250);
	}
	snprintf(y + len, cap - len,
		 "  - {action: Allow, protocol: TCP, source: {nets: [198.18.5.5/32]}}\n"
		 "  - {action: Allow, protocol: TCP, destination: {ports: [80, 81]}}\n");
	return y;
}

Test(bpf_key_tables, a_host_table_past_32767_classes_decides_as_the_evaluator, .timeout = 600)
{
	static const char *src[] = { "198.19.0.1", "198.19.131.18", "198.19.131.250",
				     "198.19.131.251", "198.18.5.5", "198.18.5.6" };
	static const uint16_t ports[] = { 22, 80, 81 };
	struct tally t = { 0 };
	struct ctest c;

	cr_assert(compile_and_apply(&c, many_hosts_policy(), 1) & (1u << PAL_FIELD_SRC_ADDR),
		  "a host table for 33,000 source hosts");
	cr_assert_gt(host_entries(), 32768);
	for (size_t s = 0; s < sizeof(src) / sizeof(src[0]); s++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			struct pal_packet p = ct_pkt(PAL_PROTO_TCP, src[s], 40000, HOST4, ports[i]);

			agree(&c, &p, &t);
		}
	cr_expect_geq(t.allowed, 5, "%d of %d cases allowed", t.allowed, t.cases);
	cr_expect_geq(t.cases - t.allowed, 5, "%d of %d cases allowed", t.allowed, t.cases);
	ct_free(&c);
}
