/* Malformed and unusual packets through XDP and tc ingress of host endpoint eth0 (fixture
 * "table": untracked Allow tcp 9000 and Deny tcp 9001 on eth0, so a verdict at XDP proves how far
 * the parser got). Table-driven: each case has a frame, its expected XDP and tc verdicts and the
 * drop reason counted. Decisions (docs/datapath.md "Parsing"): a frame whose headers are cut short
 * or inconsistent is dropped with a named reason on XDP and tc hooks; non-IP frames pass; a
 * non-first fragment has no ports, so port rules do not match it. */
#include <criterion/criterion.h>
#include <string.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define CLIENT "198.18.100.1"
#define HOST_EXT "198.18.0.1"
#define CLIENT6 "2001:db8::100"
#define HOST6 "2001:db8::1"

BT_TABLE_SUITE(bpf_parse);

enum mangle { M_NONE, M_CUT, M_IHL, M_VERSION, M_TOTLEN, M_ETHERTYPE_ARP, M_V4MAPPED_SRC,
	      M_V4MAPPED_DST, M_V4COMPAT_SRC, M_V4TRANSLATED_SRC, M_NAT64_SRC, M_OUTER_8021AD };

struct pcase {
	const char *name;
	uint8_t proto;
	bool v6;
	uint16_t dport;
	struct bt_pkt_opts o;
	enum mangle m;
	size_t cut; /* M_CUT: frame length */
	int xdp;    /* expected XDP return: 1 drop, 2 pass */
	int tc;     /* expected tc ingress return: 0 ok, 2 shot */
	enum pal_drop_reason reason;
	int extra_tags; /* with .vlan: more VLAN id 0 tags after the first */
};

#define DROP 1
#define PASS 2
#define OK 0
#define SHOT 2
/* BPF_PROG_TEST_RUN for skb programs refuses an IP frame shorter than the fixed IP header before
 * the program runs; XDP still covers these. */
#define REFUSED -1

static const struct pcase cases[] = {
	/* the baseline: parsed fully, untracked verdicts */
	{ "tcp4 allow", PAL_PROTO_TCP, false, 9000, {0}, M_NONE, 0, PASS, OK, PAL_DROP_NONE },
	{ "tcp4 deny", PAL_PROTO_TCP, false, 9001, {0}, M_NONE, 0, DROP, SHOT, PAL_DROP_POLICY },
	{ "tcp6 deny", PAL_PROTO_TCP, true, 9001, {0}, M_NONE, 0, DROP, SHOT, PAL_DROP_POLICY },
	{ "tcp6 allow", PAL_PROTO_TCP, true, 9000, {0}, M_NONE, 0, PASS, OK, PAL_DROP_NONE },
	/* options and extension headers are walked */
	{ "ipv4 options", PAL_PROTO_TCP, false, 9001, {.ip_opts = 12}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	{ "ipv4 max options", PAL_PROTO_TCP, false, 9001, {.ip_opts = 40}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	{ "ipv6 2 dest opts", PAL_PROTO_TCP, true, 9001, {.ext6 = 2}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	{ "ipv6 dest opts + fragment header", PAL_PROTO_TCP, true, 9001,
	  {.ext6 = 3, .ext6_frag = true}, M_NONE, 0, DROP, SHOT, PAL_DROP_POLICY },
	{ "ipv6 too many ext headers", PAL_PROTO_TCP, true, 9000, {.ext6 = 9}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_IPV6_EXT },
	{ "vlan tag", PAL_PROTO_TCP, false, 9001, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	/* the frame's front read straight from the packet (parse.h) holds a tag, not IP */
	{ "vlan tag ipv6", PAL_PROTO_TCP, true, 9001, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	/* two tags (QinQ) are walked; a third is not "not IP": the kernel strips VLAN id 0 tags
	 * however many there are, and delivers what is inside on this interface */
	{ "vlan 2 tags", PAL_PROTO_TCP, false, 9001, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY, 1 },
	{ "vlan 2 tags ipv6", PAL_PROTO_TCP, true, 9001, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY, 1 },
	{ "vlan 3 tags", PAL_PROTO_TCP, false, 9000, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_VLAN_DEPTH, 2 },
	{ "vlan 5 tags ipv6", PAL_PROTO_TCP, true, 9000, {.vlan = true}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_VLAN_DEPTH, 4 },
	/* fragments: the first has ports, later ones do not (port rules cannot match them) */
	{ "ipv4 first fragment", PAL_PROTO_TCP, false, 9001, {.frag = 1}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	{ "ipv4 later fragment", PAL_PROTO_TCP, false, 9001, {.frag = 2}, M_NONE, 0, PASS, OK,
	  PAL_DROP_NONE },
	{ "ipv6 first fragment", PAL_PROTO_TCP, true, 9001, {.frag = 1}, M_NONE, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	{ "ipv6 later fragment", PAL_PROTO_TCP, true, 9001, {.frag = 2}, M_NONE, 0, PASS, OK,
	  PAL_DROP_NONE },
	/* truncated and malformed */
	{ "vlan cut", PAL_PROTO_TCP, false, 9000, {.vlan = true}, M_CUT, 16, DROP, SHOT,
	  PAL_DROP_TRUNC_L2 },
	{ "ipv4 header cut", PAL_PROTO_TCP, false, 9000, {0}, M_CUT, 14 + 10, DROP, REFUSED,
	  PAL_DROP_TRUNC_L3 },
	/* one byte short of the Ethernet + IPv4 header load (parse.h): the two-load path decides */
	{ "ipv4 header cut by one", PAL_PROTO_TCP, false, 9000, {0}, M_CUT, 14 + 19, DROP, REFUSED,
	  PAL_DROP_TRUNC_L3 },
	{ "ipv4 options cut", PAL_PROTO_TCP, false, 9000, {.ip_opts = 40}, M_CUT, 14 + 30, DROP,
	  SHOT, PAL_DROP_TRUNC_L3 },
	{ "ipv6 header cut", PAL_PROTO_TCP, true, 9000, {0}, M_CUT, 14 + 39, DROP, REFUSED,
	  PAL_DROP_TRUNC_L3 },
	{ "ipv6 ext header cut", PAL_PROTO_TCP, true, 9000, {.ext6 = 2}, M_CUT, 14 + 40 + 12, DROP,
	  SHOT, PAL_DROP_TRUNC_L3 },
	{ "tcp header cut", PAL_PROTO_TCP, false, 9000, {0}, M_CUT, 14 + 20 + 19, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "udp header cut", PAL_PROTO_UDP, false, 9000, {0}, M_CUT, 14 + 20 + 4, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	/* the IPv6 L4 header straight from the packet (parse.h): 8 bytes there, TCP's 20 not */
	{ "tcp6 header cut by one", PAL_PROTO_TCP, true, 9000, {0}, M_CUT, 14 + 40 + 19, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "udp6 header cut by one", PAL_PROTO_UDP, true, 9000, {0}, M_CUT, 14 + 40 + 7, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "sctp header cut", PAL_PROTO_SCTP, true, 9000, {0}, M_CUT, 14 + 40 + 6, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "icmp header cut", PAL_PROTO_ICMP, false, 0, {0}, M_CUT, 14 + 20 + 3, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "icmpv6 header cut", PAL_PROTO_ICMPV6, true, 0, {0}, M_CUT, 14 + 40 + 2, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "ipv4 ihl 4", PAL_PROTO_TCP, false, 9000, {0}, M_IHL, 0, DROP, SHOT, PAL_DROP_BAD_IP },
	{ "ipv4 version 5", PAL_PROTO_TCP, false, 9000, {0}, M_VERSION, 0, DROP, SHOT,
	  PAL_DROP_BAD_IP },
	{ "ipv4 total length < header", PAL_PROTO_TCP, false, 9000, {0}, M_TOTLEN, 0, DROP, SHOT,
	  PAL_DROP_BAD_IP },
	{ "ipv4 header only", PAL_PROTO_TCP, false, 9000, {0}, M_CUT, 14 + 20, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	/* exactly the front (parse.h): the IPv6 header from it, the L4 header missing */
	{ "ipv6 header only", PAL_PROTO_TCP, true, 9000, {0}, M_CUT, 14 + 40, DROP, SHOT,
	  PAL_DROP_TRUNC_L4 },
	{ "ipv6 version 5", PAL_PROTO_TCP, true, 9000, {0}, M_VERSION, 0, DROP, SHOT,
	  PAL_DROP_BAD_IP },
	{ "ethernet only", PAL_PROTO_TCP, false, 9000, {0}, M_CUT, 14, DROP, REFUSED,
	  PAL_DROP_TRUNC_L3 },
	/* an IPv4-mapped IPv6 address (::ffff:a.b.c.d) never belongs on the wire; received, a
	 * dual-stack socket would see the IPv4 peer that no IPv4 rule judged */
	{ "ipv6 v4-mapped source", PAL_PROTO_TCP, true, 9000, {0}, M_V4MAPPED_SRC, 0, DROP, SHOT,
	  PAL_DROP_BAD_IP },
	{ "ipv6 v4-mapped destination", PAL_PROTO_TCP, true, 9000, {0}, M_V4MAPPED_DST, 0, DROP,
	  SHOT, PAL_DROP_BAD_IP },
	/* ... also inside a VLAN tag (the tagged path parses IPv6 apart from the untagged one) */
	{ "ipv6 v4-mapped source in a vlan tag", PAL_PROTO_TCP, true, 9000, {.vlan = true},
	  M_V4MAPPED_SRC, 0, DROP, SHOT, PAL_DROP_BAD_IP },
	/* IPv6 addresses that carry IPv4 bits but that Linux never hands to a socket as an IPv4
	 * peer are ordinary IPv6 addresses, judged by IPv6 nets (docs/datapath.md "Parsing"):
	 * IPv4-compatible (::a.b.c.d, deprecated), IPv4-translated (::ffff:0:a.b.c.d, SIIT) and the
	 * NAT64 prefix (64:ff9b::a.b.c.d, translated by a gateway whose IPv4 side meets IPv4 rules) */
	{ "ipv6 v4-compatible source", PAL_PROTO_TCP, true, 9000, {0}, M_V4COMPAT_SRC, 0, PASS, OK,
	  PAL_DROP_NONE },
	{ "ipv6 v4-translated source", PAL_PROTO_TCP, true, 9000, {0}, M_V4TRANSLATED_SRC, 0, PASS,
	  OK, PAL_DROP_NONE },
	{ "ipv6 nat64 source", PAL_PROTO_TCP, true, 9000, {0}, M_NAT64_SRC, 0, PASS, OK,
	  PAL_DROP_NONE },
	{ "ipv6 nat64 source denied", PAL_PROTO_TCP, true, 9001, {0}, M_NAT64_SRC, 0, DROP, SHOT,
	  PAL_DROP_POLICY },
	/* 802.1ad outside, 802.1Q inside: the same walk, the same limit */
	{ "vlan 802.1ad + 802.1Q", PAL_PROTO_TCP, false, 9001, {.vlan = true}, M_OUTER_8021AD, 0,
	  DROP, SHOT, PAL_DROP_POLICY, 1 },
	{ "vlan 802.1ad + 2 802.1Q", PAL_PROTO_TCP, true, 9000, {.vlan = true}, M_OUTER_8021AD, 0,
	  DROP, SHOT, PAL_DROP_VLAN_DEPTH, 2 },
	/* not IP: never blocked */
	{ "arp", PAL_PROTO_TCP, false, 9001, {0}, M_ETHERTYPE_ARP, 0, PASS, OK, PAL_DROP_NONE },
};

static size_t frame(const struct pcase *c, uint8_t *buf, size_t cap)
{
	struct pal_packet p = c->proto == PAL_PROTO_ICMP || c->proto == PAL_PROTO_ICMPV6 ?
		ct_icmp(c->v6 ? CLIENT6 : CLIENT, c->v6 ? HOST6 : HOST_EXT, 8, 0) :
		ct_pkt(c->proto, c->v6 ? CLIENT6 : CLIENT, 40000, c->v6 ? HOST6 : HOST_EXT, c->dport);
	size_t len = bt_build(buf, cap, &p, &c->o);
	size_t l3 = c->o.vlan ? 18 : 14;

	switch (c->m) {
	case M_CUT:
		len = c->cut;
		break;
	case M_IHL:
		buf[l3] = 0x44;
		break;
	case M_VERSION:
		buf[l3] = 0x55;
		break;
	case M_TOTLEN:
		buf[l3 + 2] = 0;
		buf[l3 + 3] = 10;
		break;
	case M_V4MAPPED_SRC:
	case M_V4MAPPED_DST:
		memcpy(buf + l3 + (c->m == M_V4MAPPED_SRC ? 8 : 24),
		       "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc6\x12\x64\x01", 16); /* ::ffff:198.18.100.1 */
		break;
	case M_V4COMPAT_SRC:
		memcpy(buf + l3 + 8, "\0\0\0\0\0\0\0\0\0\0\0\0\xc6\x12\x64\x01", 16);
		break;
	case M_V4TRANSLATED_SRC:
		memcpy(buf + l3 + 8, "\0\0\0\0\0\0\0\0\xff\xff\0\0\xc6\x12\x64\x01", 16);
		break;
	case M_NAT64_SRC:
		memcpy(buf + l3 + 8, "\0\x64\xff\x9b\0\0\0\0\0\0\0\0\xc6\x12\x64\x01", 16);
		break;
	case M_OUTER_8021AD:
		buf[12] = 0x88; /* TPID 802.1ad; the tags after it stay 802.1Q */
		buf[13] = 0xa8;
		break;
	case M_ETHERTYPE_ARP:
		buf[12] = 0x08;
		buf[13] = 0x06;
		break;
	default:
		break;
	}
	if (c->extra_tags && len + 4 * c->extra_tags <= cap) {
		memmove(buf + 16 + 4 * c->extra_tags, buf + 16, len - 16);
		for (int t = 0; t < c->extra_tags; t++)
			memcpy(buf + 16 + 4 * t, "\x81\x00\x00\x00", 4); /* TPID 802.1Q, TCI 0 */
		len += 4 * c->extra_tags;
	}
	return len;
}

Test(bpf_parse, table)
{
	int eth0 = T.ifindex[BT_ETH0];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct pal_if_ctr x0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		struct pal_if_ctr t0 = bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS);
		struct pal_if_ctr x1, t1;
		uint8_t buf[512];
		size_t len = frame(c, buf, sizeof(buf));
		int rx = bt_run_xdp(&T, eth0, buf, len, NULL);
		int rt = bt_run_tc(&T, PAL_PROG_TC_INGRESS, eth0, eth0, 0, buf, len, NULL);

		x1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		t1 = bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS);
		cr_expect_eq(rx, c->xdp, "%s: xdp returned %d, want %d", c->name, rx, c->xdp);
		cr_expect_eq(rt, c->tc, "%s: tc returned %d, want %d", c->name, rt, c->tc);
		if (c->reason != PAL_DROP_NONE) {
			cr_expect_eq(x1.drop[c->reason] - x0.drop[c->reason], 1,
				     "%s: xdp drop counter %s", c->name,
				     pal_drop_reason_names[c->reason]);
			if (c->tc != REFUSED)
				cr_expect_eq(t1.drop[c->reason] - t0.drop[c->reason], 1,
					     "%s: tc drop counter %s", c->name,
					     pal_drop_reason_names[c->reason]);
			cr_expect_eq(x1.verdict[PAL_VERDICT_DENY] - x0.verdict[PAL_VERDICT_DENY], 1,
				     "%s", c->name);
		} else {
			cr_expect_eq(x1.verdict[PAL_VERDICT_DENY], x0.verdict[PAL_VERDICT_DENY],
				     "%s: unexpected deny count", c->name);
		}
	}
}

Test(bpf_parse, later_fragment_meets_portless_policy)
{
	/* A later fragment of tcp 80 (allowed when it has ports) has no ports: the host tier's
	 * "tcp dport 80" rule cannot match it, the tier ends with Deny at INPUT. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, HOST_EXT, 80);
	struct bt_pkt_opts first = { .frag = 1 }, later = { .frag = 2 };
	struct bt_result r;

	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, &first);
	cr_assert(r.allow);
	bt_flush_flows(&T);
	r = bt_path(&T, PAL_TRACE_INGRESS, "eth0", NULL, &p, &later);
	cr_assert_not(r.allow);
	cr_assert_eq(r.dropped_at, PAL_HOOK_INPUT);
}

Test(bpf_parse, malformed_at_egress_and_input)
{
	/* tc egress drops a cut frame with a reason; the INPUT filter does not judge it (tc
	 * ingress of palisade's interfaces already did). */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, HOST_EXT, 40000, CLIENT, 443);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);
	int eth0 = T.ifindex[BT_ETH0];

	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, eth0, 0, 0, buf, 14 + 20 + 8, NULL), 2);
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_TRUNC_L4], 1);
	cr_assert_eq(bt_run_sf(pal_dp_prog_fd(T.dp, PAL_PROG_SF_INPUT_DENY), eth0, 0, buf,
			       14 + 20 + 8), 0);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, eth0, 0, 0, buf, len, NULL), 0);
}
