/* A corpus of well-formed, unusual and mangled frames through XDP and tc ingress of host endpoint
 * eth0, whose untracked ingress policy denies everything but a few flows, with failsafe ports
 * (some per CIDR). Two oracles:
 *   - XDP against tc ingress evaluating the same frame on its own (run first, so that no memo of
 *     XDP's answers for it: docs/datapath.md "Memos between hooks"): XDP may pass only what tc
 *     ingress passes, and with the same pre-stage outcome (failsafe, untracked allow, none); a
 *     frame XDP passes while tc ingress would drop it as untracked-denied or malformed is a frame
 *     that production (where tc believes XDP's metadata word) lets through;
 *   - every frame's outcome at both hooks, written one line per frame to $PAL_XDP_CORPUS_OUT
 *     when it is set, so that two builds can be compared (a change to the XDP program's fixed
 *     part must not change any frame's verdict or drop reason).
 * The corpus is deterministic (a fixed seed). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8::1"

static const char corpus_yaml[] =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: ext, labels: {role: ext}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1, '2001:db8::1']}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  order: 10\n  selector: role == 'ext'\n  doNotTrack: true\n"
	"  applyOnForward: true\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [9000]}}\n"
	"  - {action: Allow, protocol: UDP, source: {nets: [198.18.50.0/24]}}\n"
	"  - {action: Allow, protocol: UDP, source: {nets: ['2001:db8:50::/48']}}\n"
	"  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}\n"
	"  - {action: Allow, protocol: ICMPv6, icmp: {type: 128}}\n"
	"  - {action: Allow, protocol: 47}\n"
	"  - {action: Deny}\n";

#define FS_IN "tcp:22,udp:68,tcp:179,tcp:198.18.200.0/24:2222,tcp:[2001:db8:200::/48]:2222"
#define FS_OUT "udp:53,udp:67,tcp:179,tcp:198.18.201.0/24:3333,tcp:[2001:db8:201::/48]:3333"

static struct bpft T;
static struct ctest C;

static void setup(void)
{
	bt_setup(&T);
	ct_compile_ex(&C, corpus_yaml, FS_IN, FS_OUT, PAL_EP_TO_HOST_ACCEPT);
	if (C.rc)
		pal_diags_print(stderr, &C.d);
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, 1);
}

static void teardown(void)
{
	bt_teardown_table(&T, &C);
}

TestSuite(bpf_xdp_corpus, .init = setup, .fini = teardown);

static uint64_t rng_state;

static uint32_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x >> 16);
}

static uint32_t pick(uint32_t n)
{
	return rnd() % n;
}

static const char *const src4[] = { "198.18.200.5", "198.18.201.7", "198.18.50.1",
				    "198.18.100.1", "198.19.0.9",   "198.18.0.1" };
static const char *const src6[] = { "2001:db8:200::5", "2001:db8:201::7", "2001:db8:50::1",
				    "2001:db8:100::1", "2001:db8:ffff::9", "2001:db8::1" };
static const uint16_t ports[] = { 22, 68, 53, 67, 179, 2222, 3333, 9000, 9001, 80, 0, 65535, 40000 };
static const uint8_t protos[] = { PAL_PROTO_TCP, PAL_PROTO_TCP, PAL_PROTO_UDP, PAL_PROTO_UDP,
				  PAL_PROTO_ICMP, PAL_PROTO_ICMPV6, PAL_PROTO_SCTP, 47, 0, 43, 60,
				  51, 44, 59, 255 };
static const uint8_t tcpflags[] = { BT_TCP_SYN, BT_TCP_ACK, BT_TCP_SYN | BT_TCP_ACK, BT_TCP_RST,
				    BT_TCP_FIN | BT_TCP_ACK, 0xff };

/* One frame of the corpus into buf; its length. */
static size_t corpus_frame(uint8_t *buf, size_t cap, int *l3_out)
{
	bool v6 = pick(2);
	uint8_t proto = protos[pick(sizeof(protos))];
	const char *src = v6 ? src6[pick(6)] : src4[pick(6)];
	struct bt_pkt_opts o = { 0 };
	struct pal_packet p;
	size_t len, l3;
	int tags = 0;

	if ((proto == PAL_PROTO_ICMP && v6) || (proto == PAL_PROTO_ICMPV6 && !v6))
		proto = pick(4) ? (v6 ? PAL_PROTO_ICMPV6 : PAL_PROTO_ICMP) : proto;
	if (proto == PAL_PROTO_ICMP || proto == PAL_PROTO_ICMPV6) {
		static const uint8_t types[] = { 8, 0, 3, 11, 128, 129, 133, 134, 135, 136, 137, 1 };

		p = ct_icmp(src, v6 ? HOST6 : HOST4, types[pick(sizeof(types))], pick(4) ? 0 : 1);
	} else {
		p = ct_pkt(proto, src, ports[pick(sizeof(ports) / 2)], v6 ? HOST6 : HOST4,
			   ports[pick(sizeof(ports) / 2)]);
	}
	if (!pick(5))
		o.vlan = true;
	if (o.vlan && !pick(3))
		tags = 1 + pick(3);
	if (!v6 && !pick(4))
		o.ip_opts = 4 * (1 + pick(10));
	if (v6 && !pick(3))
		o.ext6 = pick(10);
	if (!pick(5))
		o.frag = 1 + pick(2);
	if (v6 && !pick(6))
		o.ext6_frag = true;
	o.tcp_flags = tcpflags[pick(sizeof(tcpflags))];
	if (v6 && !pick(4))
		o.hop_limit = pick(2) ? 255 : 1;
	o.tcp_seq = rnd();
	o.tcp_ack = rnd();
	if (proto == PAL_PROTO_TCP && !pick(5))
		o.tcp_opts = 4 * pick(11);
	if (proto == PAL_PROTO_TCP && !pick(5))
		o.tcp_data = (uint16_t)pick(64);
	len = bt_build(buf, cap, &p, &o);
	l3 = o.vlan ? 18 : 14;
	if (tags && len + 4 * tags <= cap) {
		memmove(buf + 16 + 4 * tags, buf + 16, len - 16);
		for (int t = 0; t < tags; t++)
			memcpy(buf + 16 + 4 * t, pick(2) ? "\x81\x00\x00\x00" : "\x88\xa8\x00\x00", 4);
		len += 4 * tags;
		l3 += 4 * tags;
	}
	/* mangling */
	switch (pick(10)) {
	case 0: /* cut anywhere */
		len = pick((uint32_t)len + 1);
		break;
	case 1: /* a byte of the headers */
	case 2: {
		size_t at = l3 + pick(80);

		if (at < len)
			buf[at] = (uint8_t)rnd();
		break;
	}
	case 3: /* the IP version / IHL byte */
		buf[l3] = (uint8_t)rnd();
		break;
	case 4: /* IPv6 next header / IPv4 protocol */
		buf[l3 + (v6 ? 6 : 9)] = protos[pick(sizeof(protos))];
		break;
	case 5: /* IPv4 total length / fragment word */
		if (!v6)
			buf[l3 + 2 + 4 * pick(2) + pick(2)] = (uint8_t)rnd();
		else
			buf[l3 + 4 + pick(2)] = (uint8_t)rnd();
		break;
	case 6: /* the ethertype */
		if (pick(2)) {
			static const uint16_t et[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x9100 };
			uint16_t e = et[pick(6)];

			buf[12] = e >> 8;
			buf[13] = e & 0xff;
		}
		break;
	default:
		break;
	}
	*l3_out = (int)l3;
	return len;
}

/* The verdict a hook counted for the one frame it just ran (counter deltas). */
static int counted(const struct pal_if_ctr *a, const struct pal_if_ctr *b, int *reason)
{
	int v = -1;

	*reason = 0;
	for (int i = 0; i < PAL_VERDICT_COUNT; i++)
		if (b->verdict[i] != a->verdict[i])
			v = i;
	for (int i = 0; i < PAL_DROP_COUNT; i++)
		if (b->drop[i] != a->drop[i])
			*reason = i;
	return v;
}

#define XDP_DROP 1
#define XDP_PASS 2
#define TC_SHOT 2

Test(bpf_xdp_corpus, xdp_passes_only_what_tc_ingress_passes, .timeout = 600)
{
	const char *out_path = getenv("PAL_XDP_CORPUS_OUT");
	const char *n_env = getenv("PAL_XDP_CORPUS_N");
	FILE *out = out_path ? fopen(out_path, "w") : NULL;
	int eth0 = T.ifindex[BT_ETH0];
	int n = n_env ? atoi(n_env) : 20000, bad = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < n; i++) {
		struct pal_if_ctr x0, x1, t0, t1;
		uint8_t buf[512];
		uint32_t mark = 0;
		int l3, rx, rt, xv, tv, xr, tr;
		size_t len = corpus_frame(buf, sizeof(buf), &l3);

		bt_flush_flows(&T);
		t0 = bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS);
		rt = bt_run_tc(&T, PAL_PROG_TC_INGRESS, eth0, eth0, 0, buf, len, &mark);
		t1 = bt_ifctr(&T, eth0, PAL_HOOK_TC_INGRESS);
		x0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		rx = bt_run_xdp(&T, eth0, buf, len, NULL);
		x1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		xv = counted(&x0, &x1, &xr);
		tv = counted(&t0, &t1, &tr);
		if (out)
			fprintf(out, "%d len=%zu xdp=%d/%d/%d tc=%d/%d/%d mark=%08x\n", i, len, rx, xv,
				xr, rt, rt < 0 ? -1 : tv, rt < 0 ? 0 : tr,
				rt < 0 ? 0 : mark & (PAL_MARK_UNTRACKED | PAL_MARK_FAILSAFE));
		if (rt < 0)
			continue; /* the skb test run refused the frame (shorter than an IP header) */
		if (tv == PAL_VERDICT_ESTABLISHED)
			continue; /* a later fragment following a first one tc ingress passed (frag.h) */
		{
			bool xdp_drop = rx == XDP_DROP, tc_drop = rt == TC_SHOT;
			bool xfs = xv == PAL_VERDICT_FAILSAFE, tfs = (mark & PAL_MARK_FAILSAFE) != 0;
			bool xun = xv == PAL_VERDICT_UNTRACKED, tun = (mark & PAL_MARK_UNTRACKED) != 0;

			if (xdp_drop != tc_drop || xfs != tfs || xun != tun ||
			    (xdp_drop && xr != tr)) {
				if (bad++ < 20) {
					fprintf(stderr,
						"frame %d (len %zu): xdp %d verdict %d reason %d, tc %d "
						"verdict %d reason %d mark %08x:",
						i, len, rx, xv, xr, rt, tv, tr, mark);
					for (size_t b = 0; b < len && b < 96; b++)
						fprintf(stderr, "%s%02x", b % 16 ? "" : "\n  ", buf[b]);
					fprintf(stderr, "\n");
				}
			}
		}
	}
	if (out)
		fclose(out);
	cr_expect_eq(bad, 0, "%d frames where XDP and tc ingress disagree", bad);
}

/* ---- the same frames on an L3 device (PAL_IF_L3: XDP parses from the IP header) ---- */

#include <net/if.h>

static const char corpus_l3_yaml[] =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: tunep, labels: {role: ext}}\nspec: {node: node1, interfaceName: tun0}\n---\n";

static int tun;

static void setup_l3(void)
{
	struct pal_dp_binding b[2];
	size_t len = strlen(corpus_l3_yaml) + strlen(corpus_yaml) + 1;
	char *y = malloc(len);

	cr_assert_not_null(y);
	snprintf(y, len, "%s%s", corpus_l3_yaml, corpus_yaml);
	bt_setup(&T);
	cr_assert_eq(system("ip tuntap add dev tun0 mode tun && ip link set tun0 up"), 0,
		     "cannot create tun0");
	tun = (int)if_nametoindex("tun0");
	cr_assert_gt(tun, 0);
	ct_compile_ex(&C, y, FS_IN, FS_OUT, PAL_EP_TO_HOST_ACCEPT);
	free(y);
	cr_assert_eq(C.rc, 0);
	b[0] = (struct pal_dp_binding){ (uint32_t)tun, ct_ep(&C.ir, "tunep") };
	b[1] = (struct pal_dp_binding){ (uint32_t)T.ifindex[BT_ETH0], ct_ep(&C.ir, "ext") };
	cr_assert_eq(pal_dp_apply(T.dp, &C.ir, b, 2, 1), 0, "%s", pal_dp_error(T.dp));
}

TestSuite(bpf_xdp_corpus_l3, .init = setup_l3, .fini = teardown);

/* Every untagged IP frame of the corpus gets the same answer at XDP on eth0 as its IP packet on
 * tun0 (the same bytes from the IP header on); every frame's tun0 outcome to the output file. */
Test(bpf_xdp_corpus_l3, an_l3_device_answers_as_ethernet_does, .timeout = 600)
{
	const char *out_path = getenv("PAL_XDP_CORPUS_L3_OUT");
	const char *n_env = getenv("PAL_XDP_CORPUS_N");
	FILE *out = out_path ? fopen(out_path, "w") : NULL;
	int eth0 = T.ifindex[BT_ETH0];
	int n = n_env ? atoi(n_env) : 20000, bad = 0, compared = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < n; i++) {
		struct pal_if_ctr x0, x1, l0, l1;
		uint8_t buf[512];
		int l3, rx, rl, xv, lv, xr, lr;
		size_t len = corpus_frame(buf, sizeof(buf), &l3);
		bool ip_untagged = len > 14 && (buf[12] == 0x08 && buf[13] == 0x00 ? (buf[14] >> 4) == 4 :
						buf[12] == 0x86 && buf[13] == 0xdd ? (buf[14] >> 4) == 6 :
										     false);

		if (len <= (size_t)l3)
			continue;
		l0 = bt_ifctr(&T, tun, PAL_HOOK_XDP);
		rl = bt_run_xdp(&T, tun, buf + l3, len - (size_t)l3, NULL);
		l1 = bt_ifctr(&T, tun, PAL_HOOK_XDP);
		lv = counted(&l0, &l1, &lr);
		if (out)
			fprintf(out, "%d len=%zu xdp=%d/%d/%d\n", i, len - (size_t)l3, rl, lv, lr);
		if (!ip_untagged || l3 != 14)
			continue;
		x0 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		rx = bt_run_xdp(&T, eth0, buf, len, NULL);
		x1 = bt_ifctr(&T, eth0, PAL_HOOK_XDP);
		xv = counted(&x0, &x1, &xr);
		if (rx < 0 || rl < 0)
			continue;
		compared++;
		if (rx != rl || xv != lv || xr != lr) {
			if (bad++ < 20) {
				fprintf(stderr, "frame %d (len %zu): eth0 %d verdict %d reason %d, tun0 %d "
						"verdict %d reason %d:", i, len, rx, xv, xr, rl, lv, lr);
				for (size_t b = 0; b < len && b < 96; b++)
					fprintf(stderr, "%s%02x", b % 16 ? "" : "\n  ", buf[b]);
				fprintf(stderr, "\n");
			}
		}
	}
	if (out)
		fclose(out);
	fprintf(stderr, "bpf_xdp_corpus_l3: %d untagged IP frames compared\n", compared);
	cr_expect_gt(compared, n / 4);
	cr_expect_eq(bad, 0, "%d frames where eth0 and tun0 disagree at XDP", bad);
}
