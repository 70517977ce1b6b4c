/* The linear form's skipped scans (bpf/classify.h pal_small_match): a field is scanned only while
 * its bits could still remove an entry the packet might match, that is while some entry left is
 * not one every key of the field satisfies (abi.h pal_small_keys.any_bits, pal_small_addrs.any4
 * and any6, written by agent/dataplane/small_list.c). What must hold:
 * - any_bits are sound: every range, prefix and no-key class of the field holds them all (so an
 *   AND with the field's bits cannot remove one), and they are the largest such set;
 * - a field is still scanned when one entry left constrains it, even if others left do not
 *   (an IPv4 source /32 beside an Allow of any source, on the same port);
 * - a field is skipped when every entry left ignores it: with the source tables made unusable
 *   (their scan has no answer, which fails closed), a packet the ports and protocol leave with
 *   entries of any source is still decided, and one that needs the source scan is dropped. */
#include <criterion/criterion.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST "198.18.0.1"
#define HOST6 "2001:db8::1"

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [" HOST ", '" HOST6 "']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  order: 1\n  selector: role == 'h'\n  doNotTrack: true\n"
	"  applyOnForward: true\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: UDP, source: {nets: [198.19.0.1/32]}, "
	"destination: {ports: [53]}}\n"
	"  - {action: Allow, protocol: UDP, destination: {ports: [53]}}\n"
	"  - {action: Deny, protocol: TCP, source: {nets: ['2001:db8:1::1/128']}, "
	"destination: {ports: [22]}}\n"
	"  - {action: Deny, protocol: ICMP, source: {nets: [198.19.0.5/32]}, icmp: {type: 8}}\n"
	"  - {action: Deny, protocol: UDP}\n"
	"  - {action: Allow}\n";

BT_FIXTURE_SUITE(bpf_small_skip, bt_setup_compiled(&T, &C, yaml));

/* The linear form of every programmed list into sl[], how many (at least one; all linear). */
static size_t linear_forms(struct pal_small_list *sl, uint32_t *ids, size_t max)
{
	size_t n = bt_list_ids(&T, ids, max);

	cr_assert_gt(n, 0, "no list programmed");
	for (size_t i = 0; i < n; i++)
		cr_assert(bt_linear_form(&T, ids[i], &sl[i]), "list %#x: no linear form", ids[i]);
	return n;
}

/* any must be the AND of every class the key table can answer. */
static void check_keys(const struct pal_small_keys *k, bool can_lack, const char *what)
{
	uint32_t want = can_lack ? k->none_bits : ~0u;

	cr_assert_gt(k->n, 0, "%s: no ranges", what);
	for (uint32_t i = 0; i < k->n; i++)
		want &= k->r[i].bits;
	cr_assert_eq(k->any_bits, want, "%s: any_bits %#x, the AND of its classes %#x", what,
		     k->any_bits, want);
}

/* A family's any-set is the AND of its prefixes' bits, and only where its last (shortest) prefix
 * is a /0: without one an address outside every prefix has no answer, so no scan is skipped. */
static void check_addrs(const struct pal_small_addrs *a, const char *what)
{
	const uint32_t *m6 = a->n6 ? a->p6[a->n6 - 1].mask : NULL;
	uint32_t want4 = a->n4 && !a->p4[a->n4 - 1].mask ? ~0u : 0;
	uint32_t want6 = m6 && !(m6[0] | m6[1] | m6[2] | m6[3]) ? ~0u : 0;

	for (uint32_t i = 0; i < a->n4; i++)
		want4 &= a->p4[i].bits;
	for (uint32_t i = 0; i < a->n6; i++)
		want6 &= a->p6[i].bits;
	cr_assert_eq(a->any4, want4, "%s: any4 %#x, want %#x", what, a->any4,
		     want4);
	cr_assert_eq(a->any6, want6, "%s: any6 %#x, want %#x", what, a->any6,
		     want6);
}

Test(bpf_small_skip, any_bits_are_what_every_key_of_the_field_satisfies)
{
	struct pal_small_list sl[4];
	uint32_t ids[4];
	size_t n = linear_forms(sl, ids, 4);
	bool some_source_skippable = false;

	for (size_t i = 0; i < n; i++) {
		check_keys(&sl[i].keys[PAL_SMALL_K_PROTO], false, "proto");
		check_keys(&sl[i].keys[PAL_SMALL_K_SPORT], true, "sport");
		check_keys(&sl[i].keys[PAL_SMALL_K_DPORT], true, "dport");
		check_keys(&sl[i].keys[PAL_SMALL_K_ICMP], true, "icmp");
		check_addrs(&sl[i].addr[0], "source");
		check_addrs(&sl[i].addr[1], "destination");
		/* the source constrains entries 0, 2 and 3 only: the others ignore it */
		if (sl[i].n_entries >= 6 && sl[i].addr[0].any4 && !(sl[i].addr[0].any4 & 0xd))
			some_source_skippable = true;
	}
	cr_assert(some_source_skippable, "no list found whose source only entries 0, 2, 3 read");
}

static void expect(const char *what, struct pal_packet p, bool allow)
{
	struct bt_result r = bt_expect_agree(&T, &C, PAL_TRACE_INGRESS, "eth0", NULL, &p, allow);

	cr_assert_eq(r.allow, allow, "%s", what);
	if (!allow)
		cr_assert_eq(r.dropped_at, PAL_HOOK_XDP, "%s: dropped at hook %d, not XDP", what,
			     r.dropped_at);
}

Test(bpf_small_skip, a_field_one_entry_left_constrains_is_scanned)
{
	expect("UDP 53 from the denied /32", ct_pkt(PAL_PROTO_UDP, "198.19.0.1", 5000, HOST, 53),
	       false);
	expect("UDP 53 from next to it", ct_pkt(PAL_PROTO_UDP, "198.19.0.2", 5000, HOST, 53), true);
	expect("UDP 53, v6", ct_pkt(PAL_PROTO_UDP, "2001:db8:1::1", 5000, HOST6, 53), true);
	expect("TCP 22 from the denied v6 /128",
	       ct_pkt(PAL_PROTO_TCP, "2001:db8:1::1", 5000, HOST6, 22), false);
	expect("TCP 22 from next to it", ct_pkt(PAL_PROTO_TCP, "2001:db8:1::2", 5000, HOST6, 22),
	       true);
	expect("TCP 22, v4", ct_pkt(PAL_PROTO_TCP, "198.19.0.1", 5000, HOST, 22), true);
	expect("echo from the denied /32", ct_icmp("198.19.0.5", HOST, 8, 0), false);
	expect("echo from next to it", ct_icmp("198.19.0.6", HOST, 8, 0), true);
	expect("echo reply from the /32", ct_icmp("198.19.0.5", HOST, 0, 0), true);
	expect("UDP 9: the catch-all deny", ct_pkt(PAL_PROTO_UDP, "198.19.0.1", 5000, HOST, 9),
	       false);
	expect("TCP 80: the catch-all allow", ct_pkt(PAL_PROTO_TCP, "198.19.0.1", 5000, HOST, 80),
	       true);
}

/* XDP's verdict on pkt: 1 XDP_DROP, 2 XDP_PASS. */
static int xdp_verdict(struct pal_packet pkt)
{
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &pkt, NULL);

	return bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, NULL);
}

/* Every list's source prefix tables emptied (n4 = n6 = 0: a scan finds no prefix, the classifier
 * answers INTERNAL and XDP drops), any4 and any6 kept. */
static void break_source_tables(void)
{
	struct pal_small_list sl[4];
	uint32_t ids[4];
	size_t n = linear_forms(sl, ids, 4);
	int fd = pal_dp_map_fd(T.dp, "pal_small");

	for (size_t i = 0; i < n; i++) {
		uint32_t slot = ids[i] & ~PAL_LIST_ID_SMALL;

		sl[i].addr[0].n4 = 0;
		sl[i].addr[0].n6 = 0;
		cr_assert_eq(bpf_map_update_elem(fd, &slot, &sl[i], BPF_EXIST), 0);
	}
}

Test(bpf_small_skip, a_field_every_entry_left_ignores_is_not_scanned)
{
	break_source_tables();
	cr_assert_eq(xdp_verdict(ct_pkt(PAL_PROTO_TCP, "198.19.0.1", 5000, HOST, 80)), 2,
		     "TCP 80 leaves only the Allow of any source: no source scan");
	cr_assert_eq(xdp_verdict(ct_pkt(PAL_PROTO_UDP, "2001:db8:1::1", 5000, HOST6, 53)), 2,
		     "UDP 53 over IPv6 leaves no entry of an IPv6 source: no source scan");
	cr_assert_eq(xdp_verdict(ct_pkt(PAL_PROTO_TCP, "2001:db8:1::9", 5000, HOST6, 80)), 2,
		     "TCP 80 over IPv6: no source scan");
	/* and where an entry left reads the source, the broken table is read: fail closed */
	cr_assert_eq(xdp_verdict(ct_pkt(PAL_PROTO_UDP, "198.19.0.2", 5000, HOST, 53)), 1,
		     "UDP 53 needs the source: its broken table must fail closed");
	cr_assert_eq(xdp_verdict(ct_pkt(PAL_PROTO_TCP, "2001:db8:1::2", 5000, HOST6, 22)), 1,
		     "TCP 22 over IPv6 needs the source: its broken table must fail closed");
}
