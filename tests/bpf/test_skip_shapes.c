/* The linear form's skipped scans (bpf/classify.h pal_small_match, any_bits built by
 * agent/dataplane/small_list.c) against the rule shapes most likely to put an entry that
 * constrains a field into that field's "every key satisfies it" set: negated matches (notNets,
 * notPorts, notProtocol, notICMP), a port range of every port but 0 beside packets without ports, an IPv4 /0
 * read by IPv6 packets, an ICMP type without a code, a Log entry the walk passes, and the tier's
 * end (the protocols no rule allows). Every packet of the grid below goes through the programs
 * twice, once with the list's linear form and once with its bitmap form (the slot emptied), and
 * both must decide as the reference evaluator: an entry wrongly in an any-set skips the scan
 * that removes it, and the linear form lets through (or drops) what the other two do not. Later
 * fragments (TCP and UDP without ports, which the evaluator cannot express) must get the same
 * answer from both forms. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "flatten.h"
#include "ir_random.h"
#include "small_list.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"

static const char *yaml =
	BT_YAML_HEP_H0(HOST4 ", '" HOST6 "'")
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: shapes}\n"
	"spec:\n  selector: role == 'h'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: [198.19.1.0/24]}, "
	"destination: {ports: [81]}}\n"
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.3.0/24]}, "
	"destination: {notPorts: [53]}}\n"
	"  - {action: Deny, notProtocol: TCP, source: {nets: [198.19.4.0/24]}}\n"
	"  - {action: Deny, notProtocol: TCP, source: {nets: ['2001:db8:4::/48']}}\n"
	"  - {action: Deny, protocol: ICMP, source: {nets: [198.19.5.0/24]}, notICMP: {type: 8}}\n"
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.6.0/24]}, "
	"destination: {ports: ['1:65535']}}\n"
	"  - {action: Deny, protocol: ICMP, source: {nets: [198.19.7.0/24]}, icmp: {type: 3}}\n"
	"  - {action: Deny, protocol: TCP, source: {nets: [0.0.0.0/0]}, destination: {ports: [83]}}\n"
	"  - {action: Log, protocol: TCP, source: {nets: [198.19.8.0/24]}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: [198.19.8.0/24]}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Deny, protocol: TCP, source: {notNets: ['2001:db8:8::/48']}, "
	"destination: {ports: [82]}}\n"
	"  - {action: Allow, protocol: TCP}\n"
	"  - {action: Allow, protocol: UDP}\n"
	"  - {action: Allow, protocol: ICMP}\n";

BT_FIXTURE_SUITE(bpf_skip_shapes, bt_setup_compiled(&T, &C, yaml));

static const char *const sources[] = {
	"198.19.1.5", "198.19.2.5", "198.19.3.5", "198.19.4.5", "198.19.5.5",
	"198.19.6.5", "198.19.7.5", "198.19.8.5", "198.19.9.5", "2001:db8:1::5",
	"2001:db8:4::5", "2001:db8:8::5", "2001:db8:9::5",
};

/* What a source sends: protocol (0: ICMP of its family), ports or ICMP type/code. */
struct probe {
	uint8_t proto;
	uint16_t a, b; /* sport, dport; or type, code */
};

static const struct probe probes[] = {
	{ PAL_PROTO_TCP, 4000, 81 }, { PAL_PROTO_TCP, 4000, 82 }, { PAL_PROTO_TCP, 4000, 80 }, { PAL_PROTO_TCP, 4000, 83 },
	{ PAL_PROTO_UDP, 4000, 53 }, { PAL_PROTO_UDP, 4000, 54 }, { PAL_PROTO_UDP, 4000, 9 },
	{ PAL_PROTO_UDP, 0, 0 },     { PAL_PROTO_UDP, 65535, 65535 },
	{ 0, 8, 0 },                 { 0, 3, 0 },                 { 0, 3, 1 },
	{ 0, 0, 0 },                 { 0, 128, 0 },               { 47, 0, 0 }, /* GRE: no ports */
	{ PAL_PROTO_SCTP, 4000, 81 },
};

static struct pal_packet probe_packet(const char *src, const struct probe *p)
{
	const char *dst = strchr(src, ':') ? HOST6 : HOST4;

	if (!p->proto)
		return ct_icmp(src, dst, (uint8_t)p->a, (uint8_t)p->b);
	return ct_pkt(p->proto, src, p->a, dst, p->b);
}

#define N_SOURCES (sizeof(sources) / sizeof(sources[0]))
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

/* A later fragment (no ports: the datapath's own notion, the evaluator has none) of every
 * source and probe with ports whose first fragment was never seen, so that policy judges it:
 * whether each was allowed into later[], or compared with later[] when compare. Returns how many
 * were allowed. */
static size_t later_fragments(bool later[N_SOURCES][N_PROBES], bool compare, const char *form)
{
	size_t allowed = 0;
	char desc[256];

	for (size_t s = 0; s < N_SOURCES; s++)
		for (size_t k = 0; k < N_PROBES; k++) {
			struct pal_packet p = probe_packet(sources[s], &probes[k]);
			struct bt_pkt_opts o = { .frag = 2, .ip_id = (uint16_t)(0x4000 + s * N_PROBES + k) };
			bool allow;

			if (!probes[k].proto || probes[k].proto == 47)
				continue;
			bt_flush_flows(&T);
			allow = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, &o).allow;
			allowed += allow;
			if (!compare)
				later[s][k] = allow;
			else
				cr_expect_eq(allow, later[s][k], "%s form: a later fragment of %s: %s",
					     form, pal_packet_str(&p, desc, sizeof(desc)),
					     allow ? "allowed" : "denied");
		}
	return allowed;
}

/* Every source and probe through the programs: the datapath must decide as the evaluator.
 * Returns how many were allowed (the grid must hold both answers). */
static size_t grid_agrees(const char *form)
{
	size_t allowed = 0;
	char desc[256];

	for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++)
		for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			struct pal_packet p = probe_packet(sources[s], &probes[k]);
			struct pal_verdict v = ct_eval(&C, PAL_TRACE_INGRESS, "eth0", NULL, &p);
			struct bt_result r;

			bt_flush_flows(&T);
			r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL);
			cr_expect_eq(r.allow, v.allow, "%s form: %s: datapath %s, evaluator %s (%s)",
				     form, pal_packet_str(&p, desc, sizeof(desc)),
				     r.allow ? "allows" : "denies", v.allow ? "allows" : "denies",
				     v.reason);
			allowed += v.allow;
		}
	return allowed;
}

Test(bpf_skip_shapes, linear_and_bitmap_forms_decide_as_the_evaluator)
{
	static bool later[N_SOURCES][N_PROBES];
	size_t n = N_SOURCES * N_PROBES, allowed, frags;

	cr_assert_gt(bt_linear_forms(&T), 0, "the shapes' list has no linear form");
	allowed = grid_agrees("linear");
	cr_assert(allowed > 0 && allowed < n, "%zu of %zu allowed: the grid must hold both", allowed,
		  n);
	frags = later_fragments(later, false, "linear");
	cr_assert_gt(bt_linear_forms_drop(&T), 0);
	cr_assert_eq(grid_agrees("bitmap"), allowed);
	cr_assert_eq(later_fragments(later, true, "bitmap"), frags);
}

/* The shapes' list (h0's normal ingress) flattened. */
static struct pal_cls_tables *shapes_tables(void)
{
	const struct pal_ir_endpoint *h0 = ct_ep(&C.ir, "h0");
	struct pal_cls_input in = { .ir = &C.ir, .tiers = &h0->normal[PAL_DIR_INGRESS],
				    .profiles = h0->profiles, .n_profiles = h0->n_profiles,
				    .dir = PAL_DIR_INGRESS, .end = PAL_CLS_END_DENY };
	struct pal_cls_tables *t = NULL;

	cr_assert_eq(pal_cls_flatten(&in, &t), 0);
	return t;
}

/* Drops side's /0 prefixes from t (what a broken flattener might hand over). */
static void drop_default_prefixes(struct pal_cls_tables *t, int side)
{
	size_t m = 0;

	for (size_t i = 0; i < t->n_addr[side]; i++)
		if (t->addr[side][i].cidr.prefix_len)
			t->addr[side][m++] = t->addr[side][i];
	cr_assert_lt(m, t->n_addr[side], "no /0 to drop");
	t->n_addr[side] = m;
}

/* Writes sl over the slot of each programmed linear form with sl's entries (its list id kept). */
static void install_in_place(struct pal_small_list *sl)
{
	uint32_t ids[BT_MAX_LISTS];
	size_t n = bt_list_ids(&T, ids, BT_MAX_LISTS), done = 0;
	int fd = pal_dp_map_fd(T.dp, "pal_small");
	struct pal_small_list cur;

	for (size_t i = 0; i < n; i++) {
		uint32_t slot = pal_small_list_slot(ids[i]);

		if (!bt_linear_form(&T, ids[i], &cur) || cur.n_entries != sl->n_entries ||
		    memcmp(cur.e, sl->e, sizeof(cur.e)))
			continue;
		sl->list_id = ids[i];
		cr_assert_eq(bpf_map_update_elem(fd, &slot, sl, BPF_EXIST), 0);
		done++;
	}
	cr_assert_gt(done, 0, "no programmed linear form with the shapes' entries");
}

static bool allows(struct pal_packet p)
{
	bt_flush_flows(&T);
	return bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

/* The any-sets rest on every address having a prefix in its family's table, which only a /0
 * guarantees: without one, an address outside every prefix has no answer, and the scan fails
 * closed (INTERNAL). A family without a /0 must therefore never be skipped (any 0), or such an
 * address is decided by the entries of the prefixes it is not in. */
Test(bpf_skip_shapes, an_address_table_without_its_slash_0_is_never_skipped)
{
	struct pal_cls_tables *t = shapes_tables();
	struct pal_small_list sl;

	cr_assert_eq(pal_small_list_build(t, &sl), 0);
	cr_assert_neq(sl.addr[0].any4, 0, "some entry ignores the IPv4 source (sanity)");
	cr_assert_neq(sl.addr[0].any6, 0, "some entry ignores the IPv6 source (sanity)");
	drop_default_prefixes(t, 0);
	cr_assert_eq(pal_small_list_build(t, &sl), 0);
	cr_expect_eq(sl.addr[0].any4, 0, "IPv4 source without a /0: any4 %#x", sl.addr[0].any4);
	cr_expect_eq(sl.addr[0].any6, 0, "IPv6 source without a /0: any6 %#x", sl.addr[0].any6);
	pal_cls_tables_free(t);

	/* and in the datapath: TCP 80 leaves only the Allow of any source, whose source scan now
	 * has no answer for an address outside every prefix left: dropped, not allowed */
	install_in_place(&sl);
	cr_expect(!allows(ct_pkt(PAL_PROTO_TCP, "198.20.0.1", 4000, HOST4, 80)),
		  "IPv4 source outside every prefix: must fail closed");
	cr_expect(!allows(ct_pkt(PAL_PROTO_TCP, "2001:db8:20::1", 4000, HOST6, 80)),
		  "IPv6 source outside every prefix: must fail closed");
}
