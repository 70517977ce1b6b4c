/* The flow lifecycle through the programs (docs/datapath.md "Flow state"): a policy change
 * re-judges existing flows (a deny cuts both directions from the next packet, an unrelated change
 * keeps them flowing, the opt-out keeps Calico's behaviour), a SYN never rides an existing entry,
 * idle entries expire after their configured timeout, FIN and RST move a flow to its closing
 * states; ICMP errors are related only when sent to the quoted packet's source (IPv4, IPv6).
 *
 * Node: pod a on cali0 (198.18.3.1, 2001:db8:3::1; its namespace profile allows everything, its
 * policy denies ICMP and, in the "deny" generation, TCP 8080), the client behind eth0 (no host
 * endpoint there). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define POD "198.18.3.1"
#define POD6 "2001:db8:3::1"
#define CLIENT "198.18.100.1"
#define CLIENT6 "2001:db8:100::1"
#define ROUTER "198.18.100.254"
#define ROUTER6 "2001:db8:100::fe"

#define BASE_YAML                                                                               \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"                        \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                            \
	"metadata: {name: a, namespace: open, labels: {app: a}}\n"                              \
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0,"                          \
	" ipNetworks: [198.18.3.1/32, '2001:db8:3::1/128'], profiles: [kns.open]}\n---\n"      \
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"                               \
	"metadata: {name: guard, namespace: open}\n"                                            \
	"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n"                      \
	"  - {action: Deny, protocol: ICMP}\n  - {action: Deny, protocol: ICMPv6}\n"

#define ALLOW_REST "  - {action: Allow}\n"

static const char *base_yaml = BASE_YAML ALLOW_REST;
/* the same with a deny of TCP 8080 and UDP 5353 into a */
static const char *deny_yaml = BASE_YAML "  - {action: Deny, protocol: TCP, destination: {ports: [8080]}}\n"
					 "  - {action: Deny, protocol: UDP, destination: {ports: [5353]}}\n"
					 ALLOW_REST;
/* the same plus a policy that selects nobody here: an unrelated change */
static const char *unrelated_yaml =
	BASE_YAML ALLOW_REST "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
	"metadata: {name: other, namespace: open}\n"
	"spec:\n  selector: app == 'nobody'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP}\n";

static struct bpft T;
static struct ctest C;
static uint32_t generation = 1;

static void setup(void)
{
	bt_setup(&T);
	ct_compile_ex(&C, base_yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(C.rc, 0);
	generation = 1;
	bt_apply(&T, &C.ir, generation);
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_flow, .init = setup, .fini = teardown);

/* A policy change: recompiles and applies the next generation. */
static void apply(const char *yaml)
{
	ct_free(&C);
	ct_compile_ex(&C, yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(C.rc, 0);
	bt_apply(&T, &C.ir, ++generation);
}

static void set_cfg(const struct pal_flow_cfg *c)
{
	uint32_t zero = 0;

	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_flow_cfg"), &zero, c, 0), 0);
}

static struct pal_flow_stats flow_stats(void)
{
	int n = libbpf_num_possible_cpus();
	struct pal_flow_stats v[n > 0 ? n : 1], sum = { 0 };
	uint32_t zero = 0;

	cr_assert(n > 0);
	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_flow_stats"), &zero, v), 0);
	for (int i = 0; i < n; i++) {
		sum.inserted += v[i].inserted;
		sum.expired += v[i].expired;
		sum.rejudged += v[i].rejudged;
		sum.rejudge_denied += v[i].rejudge_denied;
		sum.syn_new += v[i].syn_new;
		sum.rst_ignored += v[i].rst_ignored;
	}
	return sum;
}

/* The canonical pal_flows key of p's flow (abi.h); *swapped (if given): p travels from the key's
 * dst to its src. */
static struct pal_flow_key key_of_dir(const struct pal_packet *p, int *swapped)
{
	struct pal_flow_key k;
	int sw;

	memset(&k, 0, sizeof(k));
	k.family = p->src.family == PAL_AF_INET6 ? 6 : 4;
	k.proto = p->protocol;
	memcpy(k.src, p->src.bytes, k.family == 4 ? 4 : 16);
	memcpy(k.dst, p->dst.bytes, k.family == 4 ? 4 : 16);
	k.sport = p->sport;
	k.dport = p->dport;
	sw = pal_flow_key_canonical(&k);
	if (swapped)
		*swapped = sw;
	return k;
}

static struct pal_flow_key key_of(const struct pal_packet *p)
{
	return key_of_dir(p, NULL);
}

static bool get_flow(const struct pal_packet *p, struct pal_flow *f)
{
	struct pal_flow_key k = key_of(p);

	return bt_flow_get(&T, &k, f);
}

/* Client -> pod (forwarded eth0 -> cali0) and the pod's reply, with TCP flags. */
static bool to_pod(const struct pal_packet *p, uint8_t flags)
{
	struct bt_pkt_opts o = { .tcp_flags = flags };

	return bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", p, &o).allow;
}

static bool from_pod(const struct pal_packet *p, uint8_t flags)
{
	struct bt_pkt_opts o = { .tcp_flags = flags };

	return bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", p, &o).allow;
}

/* The test's TCP connection: c2s from the client, s2c the pod's replies. */
static struct pal_packet c2s, s2c;

/* c2s and s2c become an established connection client:40000 -> pod:8080. */
static void connect_8080(void)
{
	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40000);
	bt_flush_flows(&T);
	cr_assert(to_pod(&c2s, BT_TCP_SYN));
	cr_assert(from_pod(&s2c, BT_TCP_SYN | BT_TCP_ACK));
	cr_assert(to_pod(&c2s, BT_TCP_ACK));
}

Test(bpf_flow, deny_policy_cuts_an_established_flow_in_both_directions)
{
	struct pal_flow f;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	connect_8080();
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "established under generation 1");
	apply(deny_yaml);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "the next packet after the deny drops");
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	cr_assert(get_flow(&c2s, &f) && (f.flags & PAL_FLOW_DENIED), "the flow is a tombstone");
	cr_assert_not(from_pod(&s2c, BT_TCP_ACK), "and so does the server's reply");
	cr_assert_eq(bt_ifctr(&T, eth0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "and every later packet");
	cr_assert_eq(flow_stats().rejudge_denied, 1);
}

Test(bpf_flow, deny_policy_cuts_the_flow_when_the_reply_comes_first)
{

	connect_8080();
	apply(deny_yaml);
	/* the reply's hook re-judges the original tuple in place */
	cr_assert_not(from_pod(&s2c, BT_TCP_ACK));
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK));
}

Test(bpf_flow, udp_tuple_reused_after_a_deny_drops)
{
	struct pal_packet q = ct_pkt(PAL_PROTO_UDP, CLIENT, 40001, POD, 5353);
	struct pal_packet a = ct_pkt(PAL_PROTO_UDP, POD, 5353, CLIENT, 40001);

	bt_flush_flows(&T);
	cr_assert(to_pod(&q, 0));
	cr_assert(from_pod(&a, 0));
	apply(deny_yaml);
	cr_assert_not(to_pod(&q, 0), "the same UDP tuple after the deny");
	cr_assert_not(from_pod(&a, 0));
}

Test(bpf_flow, unrelated_policy_change_keeps_both_directions_flowing)
{
	struct pal_flow f;

	connect_8080();
	apply(unrelated_yaml);
	/* a silent client: the server keeps sending, its packets re-judge the flow */
	cr_assert(from_pod(&s2c, BT_TCP_ACK));
	cr_assert(from_pod(&s2c, BT_TCP_ACK));
	cr_assert(to_pod(&c2s, BT_TCP_ACK));
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.generation, generation, "the entry took the new generation");
	cr_assert_eq(f.state, PAL_FST_TCP_ESTABLISHED);
	cr_assert_geq(flow_stats().rejudged, 1);
	cr_assert_eq(flow_stats().rejudge_denied, 0);
	cr_assert_geq(bt_ifctr(&T, T.ifindex[BT_ETH0], PAL_HOOK_TC_EGRESS)
			      .verdict[PAL_VERDICT_ESTABLISHED], 2);
}

Test(bpf_flow, keep_on_policy_change_keeps_calicos_behaviour)
{
	struct pal_flow_cfg c = { .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE };

	set_cfg(&c);
	connect_8080();
	apply(deny_yaml);
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "established flows survive the deny");
	cr_assert(from_pod(&s2c, BT_TCP_ACK));
	cr_assert_not(to_pod(&c2s, BT_TCP_SYN), "a new connection meets the deny");
}

/* Writes the entry of the test's connection (c2s opened it) as an established TCP flow of
 * generation gen, with flags, last seen at last_ns. */
static void put_flow(uint32_t gen, uint32_t flags, uint64_t last_ns)
{
	int swapped;
	struct pal_flow_key k = key_of_dir(&c2s, &swapped), rk = key_of(&s2c);
	struct pal_flow f;

	cr_assert_eq(memcmp(&k, &rk, sizeof(k)), 0, "one key for both directions");
	memset(&f, 0, sizeof(f));
	f.last_ns = last_ns;
	f.state = PAL_FST_TCP_ESTABLISHED;
	f.generation = gen;
	f.flags = flags | (swapped ? PAL_FLOW_REVERSED : 0);
	bt_flow_put(&T, &k, &f);
}

/* The same, of the current generation and never re-judged: only its age decides. */
static void put_established(uint64_t last_ns)
{
	put_flow(generation, PAL_FLOW_ALWAYS, last_ns);
}

Test(bpf_flow, syn_on_an_existing_entry_meets_policy)
{
	int cali0 = T.ifindex[BT_CALI0];

	/* The flow was admitted under the deny generation's predecessor and is current: an ACK
	 * rides it, a fresh SYN on the same tuple meets the policy (which now denies 8080). Here
	 * the entry is made current by hand so only the SYN rule is at work. */
	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40002, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40002);
	apply(deny_yaml);
	bt_flush_flows(&T);
	put_established(bt_now_ns());
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "an ACK is part of the entry's flow");
	cr_assert_not(to_pod(&c2s, BT_TCP_SYN), "a SYN is a new connection: policy denies it");
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	cr_assert_eq(flow_stats().syn_new, 1);
}

Test(bpf_flow, syn_after_a_deny_opens_a_new_flow_when_policy_allows_again)
{

	connect_8080();
	apply(deny_yaml);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK));
	apply(base_yaml);
	cr_assert(to_pod(&c2s, BT_TCP_SYN), "the allowed SYN resets the tombstone");
	cr_assert(from_pod(&s2c, BT_TCP_SYN | BT_TCP_ACK));
}

Test(bpf_flow, idle_flows_expire_after_their_configured_timeout)
{
	struct pal_flow_cfg c = { 0 };

	connect_8080();
	apply(deny_yaml);
	apply(base_yaml); /* generation moves on; the flow is re-judged and allowed */
	cr_assert(to_pod(&c2s, BT_TCP_ACK));
	/* deny again, but keep flows: only expiry can end this one */
	c.flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE;
	c.timeout_s[PAL_FLOW_TMO_TCP_ESTABLISHED] = 1;
	set_cfg(&c);
	apply(deny_yaml);
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "alive within its timeout");
	usleep(2200 * 1000);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "idle past its timeout: a new packet, denied");
	cr_assert_geq(flow_stats().expired, 1);
}

/* The test's connection from client port sport, established with a 1 s idle timeout under a
 * policy that denies it (flows kept across the change): only its entry lets it through. */
static void live_entry_with_a_1s_timeout(uint16_t sport)
{
	struct pal_flow_cfg c = { .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE };

	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, sport, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, sport);
	c.timeout_s[PAL_FLOW_TMO_TCP_ESTABLISHED] = 1;
	set_cfg(&c);
	apply(deny_yaml); /* without a live entry, 8080 is denied */
	bt_flush_flows(&T);
	put_established(bt_now_ns());
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "a live entry: established");
}

/* The hooks keep their last clock reading while jiffies stands still (flow.h
 * pal_flow_now_cached): a reading from an earlier tick must never judge an entry's age. An
 * entry last seen 2.05 s ago with a 1 s timeout (and the second of refresh slack,
 * pal_flow_expired) is expired, even right after a packet 200 ms earlier left a reading 200 ms
 * old in the hook's scratch (judged by that one it would be 1.85 s idle: alive). */
Test(bpf_flow, idle_age_is_judged_by_the_current_tick_not_an_earlier_reading)
{
	live_entry_with_a_1s_timeout(40003);
	usleep(200 * 1000);
	put_established(bt_now_ns() - 2050000000ull);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "idle 2.05 s, timeout 1 s + 1 s slack: expired, denied");
	cr_assert_geq(flow_stats().expired, 1);
}

Test(bpf_flow, fin_and_rst_move_flows_to_closing_states)
{
	struct pal_flow_cfg c = { .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE };
	struct pal_flow f;

	c.timeout_s[PAL_FLOW_TMO_TCP_TIME_WAIT] = 1;
	c.timeout_s[PAL_FLOW_TMO_TCP_CLOSE] = 1;
	set_cfg(&c);
	connect_8080();
	cr_assert(get_flow(&c2s, &f) && f.state == PAL_FST_TCP_ESTABLISHED, "state %u", f.state);
	cr_assert(to_pod(&c2s, BT_TCP_FIN | BT_TCP_ACK));
	cr_assert(get_flow(&s2c, &f) && f.state == PAL_FST_TCP_FIN_WAIT, "state %u", f.state);
	cr_assert(from_pod(&s2c, BT_TCP_FIN | BT_TCP_ACK));
	cr_assert(get_flow(&c2s, &f) && f.state == PAL_FST_TCP_TIME_WAIT, "state %u", f.state);
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "the last ACK");
	apply(deny_yaml); /* kept (opt-out): only the closing timeout ends it */
	usleep(2200 * 1000);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "time_wait over: a new packet, denied");

	apply(base_yaml);
	connect_8080();
	cr_assert(from_pod(&s2c, BT_TCP_RST));
	cr_assert(get_flow(&c2s, &f) && f.state == PAL_FST_TCP_CLOSE, "state %u", f.state);
	apply(deny_yaml);
	usleep(2200 * 1000);
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "closed by RST: a new packet, denied");
}

/* ---- RST against the flow's sequence numbers (flow.h pal_flow_rst_in_window) ---- */

/* The test's connection's packets with a sequence number: the client's from C_ISN on, the pod's
 * from S_ISN on. */
#define C_ISN 1000u
#define S_ISN 0xfffff000u /* the pod's numbers wrap around 2^32 on the way */

static bool to_pod_seq(uint8_t flags, uint32_t seq)
{
	struct bt_pkt_opts o = { .tcp_flags = flags, .tcp_seq = seq };

	return bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &c2s, &o).allow;
}

static bool from_pod_seq(uint8_t flags, uint32_t seq)
{
	/* a SYN-ACK acknowledges the client's SYN (C_ISN) */
	struct bt_pkt_opts o = { .tcp_flags = flags, .tcp_seq = seq,
				 .tcp_ack = (flags & BT_TCP_SYN) ? C_ISN + 1 : 0 };

	return bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &s2c, &o).allow;
}

static uint8_t flow_state(void)
{
	struct pal_flow f;

	cr_assert(get_flow(&c2s, &f), "the connection has an entry");
	return f.state;
}

/* c2s and s2c become an established connection client:sport -> pod:8080 with real sequence
 * numbers (a handshake and one exchange), with 1 s close and time_wait timeouts and flows kept
 * across policy changes, so a later deny leaves only the entry to let the connection through. */
static void connect_seq(uint16_t sport)
{
	struct pal_flow_cfg c = { .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE };

	c.timeout_s[PAL_FLOW_TMO_TCP_CLOSE] = 1;
	set_cfg(&c);
	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, sport, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, sport);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN));
	cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 1));
	cr_assert(from_pod_seq(BT_TCP_ACK, S_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
}

/* Whether the connection's entry still lets the client's ACK through a deny-all once the close
 * timeout (1 s, connect_seq) is past: only an entry that stayed established does. */
static bool outlives_the_close_timeout(void)
{
	apply(deny_yaml);
	usleep(2200 * 1000);
	return to_pod_seq(BT_TCP_ACK, C_ISN + 1);
}

/* An off-path attacker who knows the tuple but not the sequence numbers: RSTs from either side
 * with numbers far from the flow's pass (the endpoint's TCP drops them) but leave the flow
 * established, also past the close timeout under a policy that now denies the connection into
 * the pod (the old datapath closed it on any RST: after 1 s of quiet the client's next packet
 * was a new one, denied). */
Test(bpf_flow, a_blind_rst_keeps_an_established_flow)
{
	static const uint32_t far[] = { 0x40000000u, 0x80000000u, 0xc0000000u, 0x00600000u,
					0xff000000u };
	struct pal_flow f;

	connect_seq(40010);
	for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 1 + far[i]), "a blind RST passes");
		cr_assert(from_pod_seq(BT_TCP_RST | BT_TCP_ACK, S_ISN + 1 + far[i]));
		cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "blind RST %u moved it", i);
	}
	cr_assert_eq(flow_stats().rst_ignored, 2 * sizeof(far) / sizeof(far[0]));
	cr_assert(get_flow(&c2s, &f) &&
		  (f.flags & (PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY)) ==
			  (PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY),
		  "both directions have a mark: flags 0x%x", f.flags);
	cr_assert(outlives_the_close_timeout(), "the client's ACK, after the close timeout");
}

/* A real RST (an abort: the sender's next sequence number; a stack without the socket: the
 * peer's acknowledgement, at or a little behind it) closes the flow, from either side. */
Test(bpf_flow, an_rst_near_the_flows_sequence_numbers_closes_it)
{
	connect_seq(40011);
	cr_assert(to_pod_seq(BT_TCP_RST | BT_TCP_ACK, C_ISN + 1), "the client aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);

	connect_seq(40012);
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1), "the pod aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);

	connect_seq(40013);
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1 + 3000000), "data in flight beyond the mark");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);

	connect_seq(40014);
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 1 - 600000), "an acknowledgement behind the mark");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
	cr_assert_eq(flow_stats().rst_ignored, 0);
	cr_assert_not(outlives_the_close_timeout(), "closed: past the close timeout, denied");
}

/* The marks follow the data: after the pod sent 16 MiB (and its numbers wrapped around 2^32),
 * its RST at the end of the data closes the flow, and one at its first numbers no longer does. */
Test(bpf_flow, the_marks_follow_the_data)
{
	uint32_t seq = S_ISN + 1;

	connect_seq(40015);
	for (int i = 0; i < 256; i++) {
		seq += 65536;
		cr_assert(from_pod_seq(BT_TCP_ACK, seq));
		cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 1)); /* the client's ACKs */
	}
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1), "an RST 16 MiB behind the data");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	cr_assert_eq(flow_stats().rst_ignored, 1);
	cr_assert(from_pod_seq(BT_TCP_RST, seq + 1448), "the pod aborts after its data");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
}

/* A flow picked up mid-stream (no handshake seen) learns the opener's numbers from its first
 * packet and the other side's from that side's first: until then an RST from the other side
 * has nothing to be checked against and closes the flow, as before. */
Test(bpf_flow, a_flow_picked_up_mid_stream_learns_its_marks)
{
	struct pal_flow f;

	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40016, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40016);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_ACK, 777777), "picked up mid-stream");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.state, PAL_FST_TCP_ESTABLISHED);
	cr_assert_eq(f.flags & (PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY), PAL_FLOW_SEQ_ORIG);
	cr_assert(to_pod_seq(BT_TCP_RST, 777777 + 0x50000000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the opener's blind RST");
	cr_assert(from_pod_seq(BT_TCP_ACK, 5555), "the pod's first packet");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.flags & (PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY),
		     PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY);
	cr_assert(from_pod_seq(BT_TCP_RST, 5555 + 0x50000000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the pod's blind RST");
	cr_assert(from_pod_seq(BT_TCP_RST, 5555));
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "the pod's real RST");

	/* without the pod's first packet: its RST closes whatever its number */
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_ACK, 777777));
	cr_assert(from_pod_seq(BT_TCP_RST, 0x12345678u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "no mark for the pod yet");
}

/* A fragmented RST (no stack sends one) is not checked against the marks: it closes nothing, even
 * with the right number; the marks ignore fragments. RSTs outside ESTABLISHED act as before: a
 * refused connection (SYN_SENT) closes whatever the number. */
Test(bpf_flow, fragmented_and_unestablished_rsts)
{
	struct bt_pkt_opts frag = { .tcp_flags = BT_TCP_RST, .tcp_seq = C_ISN + 1, .frag = 1 };

	connect_seq(40017);
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &c2s, &frag).allow);
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "a fragmented RST");

	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT);
	cr_assert(from_pod_seq(BT_TCP_RST | BT_TCP_ACK, 0), "connection refused");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
}

/* A blind RST during the handshake (either side, a number far from that side's SYN or SYN-ACK),
 * or a FIN as the peer before its SYN-ACK, leaves the entry in its handshake state: it closed it, and the connection, going on through its
 * handshake (the endpoints drop the blind RST), rode the entry in close for its whole life, so its
 * first pause longer than the close timeout ended it at the policy (here the client's ACK after
 * the deny). A real RST in the handshake still closes (near the sender's ISN), and a refusal
 * whatever its number (syn_sent, the peer without a mark: fragmented_and_unestablished_rsts). */
Test(bpf_flow, a_blind_rst_in_the_handshake_keeps_the_flow)
{
	struct pal_flow_cfg c = { .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE };

	connect_seq(40050); /* for c2s, s2c; the handshake again below */
	c.timeout_s[PAL_FLOW_TMO_TCP_CLOSE] = 1;
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 0x40000000u), "a blind RST as the client");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "a blind RST closed syn_sent");
	cr_assert(from_pod_seq(BT_TCP_FIN | BT_TCP_ACK, S_ISN + 0x40000000u), "a blind FIN as the pod");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "a reply FIN moved syn_sent to fin_wait");
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN));
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 0x80000000u), "a blind RST as the pod");
	cr_assert(to_pod_seq(BT_TCP_RST | BT_TCP_ACK, C_ISN + 0xc0000000u), "and as the client");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV, "a blind RST closed syn_recv");
	cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	set_cfg(&c);
	cr_assert(outlives_the_close_timeout(), "the client's ACK, after the close timeout");

	apply(base_yaml);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN));
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 1), "the client aborts in syn_recv");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN));
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1), "the pod aborts in syn_recv");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
}

/* In SYN_SENT only a SYN+ACK answers: a forged reply ACK (conntrack ignores it) leaves the state,
 * so the server's refusal still closes the entry. It moved the entry to established, set the
 * reply's mark from the forger's number, and the refusal (sequence 0) was then ignored. */
Test(bpf_flow, a_reply_ack_to_a_syn_does_not_establish_the_flow)
{
	connect_seq(40021);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(from_pod_seq(BT_TCP_ACK, 0x9abcdef0u), "a forged reply ACK rides the entry");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "a reply ACK moved SYN_SENT on");
	cr_assert(from_pod_seq(BT_TCP_RST | BT_TCP_ACK, 0), "connection refused");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "the refusal after a forged ACK");
}

static bool from_pod_seq_ack(uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct bt_pkt_opts o = { .tcp_flags = flags, .tcp_seq = seq, .tcp_ack = ack };

	return bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &s2c, &o).allow;
}

/* In SYN_SENT only a SYN-ACK that acknowledges the SYN answers it (conntrack: tcp_in_window). A
 * forged one, sent by an off-path attacker while the handshake is in flight (before the server's
 * own), answered it: the entry went to syn_recv with the reply's mark at the forger's number, the
 * server's real SYN-ACK and data were too far from it to move it, so the server's own RST (and
 * FIN) were taken as blind and the entry outlived the connection in established (5 days), while
 * the forger's RST at its own number closed the flow whenever it chose. Now the forgery passes
 * (the client's TCP answers it) and changes nothing; the real SYN-ACK answers. Checked on the
 * low 16 bits of the acknowledgement (pal_pkt.tcp_ack_lo). */
Test(bpf_flow, a_synack_that_does_not_acknowledge_the_syn_answers_nothing)
{
	const uint32_t forged = 0x12345678u;
	struct pal_flow f;

	connect_seq(40022);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	cr_assert(get_flow(&c2s, &f));
	cr_assert(f.flags & PAL_FLOW_SYN_SEQ, "the SYN's number is kept for its SYN-ACK");
	cr_assert_eq(f.syn_seq, C_ISN);
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, forged, C_ISN + 1 + 0x5000u),
		  "a forged SYN-ACK passes (the client answers it)");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, forged, C_ISN),
		  "one acknowledging less than the SYN passes too");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.state, PAL_FST_TCP_SYN_SENT, "a forged SYN-ACK answered the SYN");
	cr_assert_not(f.flags & PAL_FLOW_SEQ_REPLY, "a forged SYN-ACK set the reply's mark");
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN), "the server's own SYN-ACK");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.state, PAL_FST_TCP_SYN_RECV);
	cr_assert_eq(f.seq_mark[1], S_ISN, "the reply's mark is the server's");
	cr_assert_not(f.flags & PAL_FLOW_SYN_SEQ, "the record ends with the handshake's answer");
	cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 1));
	cr_assert(from_pod_seq(BT_TCP_ACK, S_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	cr_assert(from_pod_seq(BT_TCP_RST, forged + 1), "the forger's RST passes");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the forger's RST closed the flow");
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1), "the server aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "the server's own RST was taken as blind");
}

/* The same after a policy change: the SYN-ACK meets a stale entry and is judged by the re-judge
 * program (tc_flow_rejudge), which takes the acknowledgement from the hook's copy of the packet. */
Test(bpf_flow, a_synack_on_a_stale_entry_answers_only_when_it_acknowledges_the_syn)
{
	struct pal_flow_cfg c = { 0 };
	struct pal_flow f;

	set_cfg(&c);
	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40024, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40024);
	bt_flush_flows(&T);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN));
	apply(unrelated_yaml);
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, 0x12345678u, C_ISN + 1 + 0x5000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "a forged SYN-ACK answered a stale entry's SYN");
	apply(base_yaml);
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, S_ISN), "the server's own, re-judged");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.state, PAL_FST_TCP_SYN_RECV, "the server's SYN-ACK did not answer after a change");
	cr_assert_eq(f.seq_mark[1], S_ISN);
	cr_assert_eq(f.generation, generation);
}

/* A SYN as Linux sends it (20 bytes of options), or with TCP Fast Open data: the options are no
 * data, so a SYN-ACK acknowledging 20 bytes more than the SYN does not answer it (the options
 * counted, a forger's chance was 21 in 65,536); one acknowledging the Fast Open data does, as one
 * acknowledging none of it (a server that refused the cookie). */
static bool syn_with(uint32_t isn, uint8_t opts, uint16_t data)
{
	struct bt_pkt_opts o = { .tcp_flags = BT_TCP_SYN, .tcp_seq = isn, .tcp_opts = opts,
				 .tcp_data = data };

	return bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &c2s, &o).allow;
}

Test(bpf_flow, a_synack_acknowledges_the_syns_data_not_its_options)
{
	connect_seq(40023);
	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 20, 0));
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, 0x12345678u, C_ISN + 1 + 20));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "the SYN's options taken as data");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV);

	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 32, 100));
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, 0x12345678u, C_ISN + 1 + 101));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "past the SYN's data");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1 + 100));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV, "a Fast Open SYN-ACK acknowledging the data");

	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 32, 100));
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV, "a SYN-ACK acknowledging none of the data");
}

/* The marks move only with numbers an RST could close with: a forged packet (no RST) with the
 * tuple and a number the attacker chose, far ahead of the flow's, moved its direction's mark
 * there, and the attacker's RST at that number then closed the flow: four ACKs a quarter of the
 * number space apart (one of them lands more than PAL_FLOW_SEQ_STEP and less than 2^31 ahead,
 * whatever the mark) and four RSTs at the same numbers closed any established flow blind, from
 * either side. Now they pass and the flow stays established (conntrack: out of window, INVALID). */
Test(bpf_flow, a_blind_packet_does_not_move_the_mark_to_its_rst)
{
	static const uint32_t x[] = { 0x12345678u, 0x52345678u, 0x92345678u, 0xd2345678u };
	struct pal_flow f;

	connect_seq(40021);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert(to_pod_seq(BT_TCP_ACK, x[i]), "a blind ACK as the client passes");
		cr_assert(from_pod_seq(BT_TCP_ACK, x[i]), "a blind ACK as the pod passes");
	}
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.seq_mark[0], C_ISN, "the client's mark moved to %#x", f.seq_mark[0]);
	cr_assert_eq(f.seq_mark[1], S_ISN, "the pod's mark moved to %#x", f.seq_mark[1]);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert(to_pod_seq(BT_TCP_RST, x[i]));
		cr_assert(from_pod_seq(BT_TCP_RST, x[i]));
	}
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "closed by blind packets: state %u", flow_state());
	cr_assert(outlives_the_close_timeout(), "the client's ACK, after the close timeout");
}

/* A blind FIN (a number far from its sender's) is no step toward closing either: the FIN would
 * move the flow to fin_wait (120 s idle, then any RST closes it), so a blind FIN and a blind RST
 * ended an established flow as one blind RST did before the marks (conntrack: a FIN outside the
 * window is INVALID and changes no state). It passes and leaves the flow established; the
 * client's later packet still rides the entry under a policy that now denies the connection. */
Test(bpf_flow, a_blind_fin_then_a_blind_rst_keep_an_established_flow)
{
	connect_seq(40018);
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, C_ISN + 1 + 0x40000000u), "a blind FIN passes");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "a blind FIN from the client");
	cr_assert(from_pod_seq(BT_TCP_FIN | BT_TCP_ACK, S_ISN + 1 + 0x80000000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "a blind FIN from the pod");
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 1 + 0x40000000u), "then a blind RST");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	cr_assert(outlives_the_close_timeout(), "the client's ACK, after the close timeout");
}

/* A half-closed connection (the client's real FIN; the pod keeps sending) is in fin_wait: a blind
 * RST there is checked as in established and leaves it; a real one closes it. A real FIN near the
 * marks still moves the flow on. */
Test(bpf_flow, a_blind_rst_keeps_a_half_closed_flow)
{
	connect_seq(40019);
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, C_ISN + 1), "the client shuts down its side");
	cr_assert_eq(flow_state(), PAL_FST_TCP_FIN_WAIT);
	cr_assert(from_pod_seq(BT_TCP_ACK, S_ISN + 1 + 65536), "the pod keeps sending");
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 2 + 0x40000000u), "a blind RST as the client");
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1 + 0xc0000000u), "a blind RST as the pod");
	cr_assert_eq(flow_state(), PAL_FST_TCP_FIN_WAIT, "blind RSTs closed a half-closed flow");
	cr_assert(from_pod_seq(BT_TCP_RST, S_ISN + 1 + 65536 + 1448), "the pod aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);

	connect_seq(40020);
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, C_ISN + 1));
	cr_assert(from_pod_seq(BT_TCP_FIN | BT_TCP_ACK, S_ISN + 1), "the pod's real FIN");
	cr_assert_eq(flow_state(), PAL_FST_TCP_TIME_WAIT);
}

/* A blind SYN on the tuple (an off-path attacker spoofing either endpoint, with any sequence
 * number) meets policy, which admits it where the flow's own direction is allowed; it must not
 * reset a live established or half-closed entry: conntrack ignores a SYN there (its state table:
 * sIG) and the endpoint answers it with a challenge ACK, the connection going on. Entered afresh,
 * the entry was in syn_sent, where any RST closes, or, for a SYN with RST, in close at once: one
 * blind SYN+RST, or a SYN and an RST, ended the flow without a sequence number near its own (the
 * RST check above was bypassed); after the close timeout the server's push to the silent client
 * met a deny. */
Test(bpf_flow, a_blind_syn_does_not_reset_a_live_flow)
{
	static const uint8_t syn[] = { BT_TCP_SYN, BT_TCP_SYN | BT_TCP_RST, BT_TCP_SYN | BT_TCP_FIN };

	for (unsigned i = 0; i < sizeof(syn); i++) {
		connect_seq(40030 + i);
		cr_assert(to_pod_seq(syn[i], C_ISN + 0x40000000u), "the SYN (0x%x) meets policy: allowed",
			  syn[i]);
		cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "a blind SYN (0x%x) reset the flow",
			     syn[i]);
		cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 0x40000000u), "then a blind RST");
		cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the SYN (0x%x) let a blind RST in",
			     syn[i]);
		cr_assert(outlives_the_close_timeout(),
			  "the client's ACK, after the close timeout (SYN 0x%x)", syn[i]);
		apply(base_yaml);
	}

	/* half-closed: the same */
	connect_seq(40040);
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, C_ISN + 1), "the client shuts down its side");
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN + 0x40000000u));
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 0x40000000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_FIN_WAIT, "a blind SYN and RST closed a half-closed flow");

	/* stale (a policy change since, flows re-judged): an idle flow stays so until its next
	 * packet, the SYN leaves it to that packet's re-judge */
	connect_seq(40042);
	set_cfg(&(struct pal_flow_cfg){ .timeout_s[PAL_FLOW_TMO_TCP_CLOSE] = 1 });
	apply(base_yaml);
	cr_assert(to_pod_seq(BT_TCP_SYN | BT_TCP_RST, C_ISN + 0x40000000u));
	cr_assert(to_pod_seq(BT_TCP_RST, C_ISN + 0x40000000u));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "a blind SYN+RST reset a stale flow");
	cr_assert_eq(flow_stats().rejudged, 1, "the RST re-judged it");

	/* a port reused after the flow closed (time_wait, close) is a new connection: the SYN
	 * enters it afresh */
	connect_seq(40041);
	cr_assert(to_pod_seq(BT_TCP_RST | BT_TCP_ACK, C_ISN + 1), "the client aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE);
	cr_assert(to_pod_seq(BT_TCP_SYN, C_ISN + 0x40000000u), "a new connection on the tuple");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT);
}

/* A client that lost its connection without a word (a crash) reconnects from the same port, and
 * the server lost its socket too (or never had the old one: it answers the SYN with a SYN-ACK).
 * The SYN keeps the live entry (a_blind_syn_does_not_reset_a_live_flow), and the new connection
 * goes on under it with new sequence numbers: the entry must follow them, as conntrack re-syncs
 * on the SYN-ACK that answers the SYN it ignored, or the new connection's own FINs and RST are
 * taken as blind (far from the old marks) and the entry outlives the connection in established
 * (5 days) instead of time_wait or close. */
Test(bpf_flow, a_reconnect_on_a_kept_entry_learns_the_new_numbers)
{
	const uint32_t c2 = C_ISN + 0x40000000u, s2 = S_ISN + 0x60000000u;

	connect_seq(40060);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2), "the client reconnects from its port: allowed");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the SYN kept the entry");
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2), "the pod accepts: a new connection");
	cr_assert(to_pod_seq(BT_TCP_ACK, c2 + 1));
	cr_assert(from_pod_seq(BT_TCP_ACK, s2 + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, c2 + 1), "the client closes");
	cr_assert(from_pod_seq(BT_TCP_FIN | BT_TCP_ACK, s2 + 1), "the pod closes");
	cr_assert_eq(flow_state(), PAL_FST_TCP_TIME_WAIT,
		     "the new connection's FINs were taken as blind: state %u", flow_state());

	/* the same, the new connection aborted by the pod */
	connect_seq(40061);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2));
	cr_assert(to_pod_seq(BT_TCP_ACK, c2 + 1));
	cr_assert(from_pod_seq(BT_TCP_RST | BT_TCP_ACK, s2 + 1), "the pod aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE,
		     "the new connection's RST was taken as blind: state %u", flow_state());

	/* the server still has the old socket: its challenge ACK (no SYN) re-syncs nothing, and a
	 * blind RST at the SYN's number still moves nothing (a_blind_syn_does_not_reset_a_live_flow) */
	connect_seq(40062);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(from_pod_seq(BT_TCP_ACK, S_ISN + 1), "the pod's challenge ACK");
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2), "a forged SYN-ACK after it");
	cr_assert(to_pod_seq(BT_TCP_RST, c2 + 1), "a blind RST at the SYN's number");
	cr_assert(from_pod_seq(BT_TCP_RST, s2 + 1), "and at the SYN-ACK's");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "re-synced after the challenge ACK");

	/* the client's own packet after its SYN clears the record too (a SYN that met the live
	 * connection's client, not a reconnect) */
	connect_seq(40063);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 1));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2));
	cr_assert(from_pod_seq(BT_TCP_RST, s2 + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);

	/* what a blind attacker who spoofs both ends still does: a SYN and a SYN-ACK forged back to
	 * back (before the server's challenge ACK) re-sync the entry to its numbers, as conntrack's
	 * ignored-SYN rule does. The entry stays established (not syn_recv: its 60 s, here 1 s,
	 * would end an idle flow without more), so it takes an RST at the forged numbers too:
	 * three packets with the tuple (none since a03ad17 without this re-sync; one before). */
	connect_seq(40064);
	set_cfg(&(struct pal_flow_cfg){ .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE,
					.timeout_s[PAL_FLOW_TMO_TCP_CLOSE] = 1,
					.timeout_s[PAL_FLOW_TMO_TCP_SYN_RECV] = 1 });
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
	cr_assert(outlives_the_close_timeout(), "a forged SYN and SYN-ACK ended an idle flow");
	apply(base_yaml);
	connect_seq(40065);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(from_pod_seq(BT_TCP_SYN | BT_TCP_ACK, s2));
	cr_assert(to_pod_seq(BT_TCP_RST, c2 + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "the limit this test documents has moved");
}

/* The SYN-ACK that re-syncs a kept entry must acknowledge the kept SYN (conntrack: ack_seq ==
 * last_end; here the low 16 bits, as in syn_sent). Any SYN-ACK did: an off-path forger racing the
 * server's answer to a real reconnect (whose number it does not see) set the reply's mark to its
 * own number, so the new connection's FIN and RST from the server were taken as blind (the entry
 * outlived it by 5 days in established) and the forger's RST at its number closed the flow. Now
 * the forgery passes, changes nothing, and the real SYN-ACK still re-syncs. The kept SYN's Fast
 * Open data counts, also after a retransmission without it. */
Test(bpf_flow, a_forged_synack_does_not_resync_a_kept_entry)
{
	const uint32_t c2 = C_ISN + 0x40001234u, s2 = S_ISN + 0x60000000u, forged = 0x12345678u;
	struct pal_flow f;

	connect_seq(40066);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2), "the client reconnects from its port");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, forged, c2 + 1 + 0x777u),
		  "a forged SYN-ACK passes (the client's TCP answers it)");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.seq_mark[1], S_ISN, "a forged SYN-ACK re-synced the reply's mark to %#x",
		     f.seq_mark[1]);
	cr_assert(f.flags & PAL_FLOW_SYN_KEPT, "the record waits for the real answer");
	cr_assert(from_pod_seq(BT_TCP_RST, forged + 1), "the forger's RST passes");
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED, "the forger's RST closed the flow");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, s2, c2 + 1), "the pod accepts");
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.seq_mark[0], c2);
	cr_assert_eq(f.seq_mark[1], s2, "the real SYN-ACK re-syncs");
	cr_assert(to_pod_seq(BT_TCP_ACK, c2 + 1));
	cr_assert(from_pod_seq(BT_TCP_RST | BT_TCP_ACK, s2 + 1), "the pod aborts");
	cr_assert_eq(flow_state(), PAL_FST_TCP_CLOSE, "the pod's own RST was taken as blind");

	/* the server still holds the old connection: the forgery races its challenge ACK, and
	 * the old connection's own FIN then still counts */
	connect_seq(40067);
	cr_assert(to_pod_seq(BT_TCP_SYN, c2));
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, forged, c2 + 0x8000u));
	cr_assert(from_pod_seq_ack(BT_TCP_ACK, S_ISN + 1, C_ISN + 1), "the pod's challenge ACK");
	cr_assert(to_pod_seq(BT_TCP_FIN | BT_TCP_ACK, C_ISN + 1), "the old connection closes");
	cr_assert(from_pod_seq(BT_TCP_FIN | BT_TCP_ACK, S_ISN + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_TIME_WAIT, "the old connection's FINs taken as blind");

	/* a Fast Open reconnect: the SYN-ACK acknowledges the data, also after the SYN was
	 * retransmitted without it; one past the data does not answer */
	connect_seq(40068);
	cr_assert(syn_with(c2, 32, 100));
	cr_assert(syn_with(c2, 32, 0), "retransmitted without the data");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, forged, c2 + 1 + 101));
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.seq_mark[1], S_ISN, "past the kept SYN's data");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, s2, c2 + 1 + 100));
	cr_assert(get_flow(&c2s, &f));
	cr_assert_eq(f.seq_mark[1], s2, "a Fast Open SYN-ACK re-syncs");
}

/* ---- ICMP errors: related only when sent back to the quoted packet's source ---- */

/* An ICMP(v6) error from `from` to `to` quoting the packet `quoted` (its IP header and first 8
 * bytes of L4). */
static size_t icmp_error(uint8_t *buf, size_t cap, const char *from, const char *to,
			 const struct pal_packet *quoted)
{
	bool v6 = quoted->src.family == PAL_AF_INET6;
	struct pal_packet icmp = ct_icmp(from, to, v6 ? 1 : 3, v6 ? 4 : 4);
	uint8_t inner[256];
	size_t len, ilen, qlen = v6 ? 48 : 28;

	if (v6)
		icmp.protocol = PAL_PROTO_ICMPV6;
	len = bt_build(buf, cap, &icmp, NULL);
	ilen = bt_build(inner, sizeof(inner), quoted, NULL);
	cr_assert(ilen >= 14 + qlen && len + qlen <= cap);
	memcpy(buf + len, inner + 14, qlen);
	len += qlen;
	if (v6) {
		buf[18] = (uint8_t)((len - 54) >> 8); /* IPv6 payload length */
		buf[19] = (uint8_t)(len - 54);
	} else {
		buf[16] = (uint8_t)((len - 14) >> 8); /* IPv4 total length */
		buf[17] = (uint8_t)(len - 14);
	}
	return len;
}

static void related_case(const char *pod, const char *client, const char *router)
{
	struct pal_packet out = ct_pkt(PAL_PROTO_TCP, pod, 40000, client, 443);
	struct pal_packet in = ct_pkt(PAL_PROTO_TCP, client, 40003, pod, 8080);
	uint8_t buf[512];
	size_t len;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	bt_flush_flows(&T);
	cr_assert(from_pod(&out, BT_TCP_SYN), "the pod's own connection out");
	cr_assert(to_pod(&in, BT_TCP_SYN), "and a client's connection in");
	/* genuine: "fragmentation needed" for the pod's packet, sent to the pod */
	len = icmp_error(buf, sizeof(buf), router, pod, &out);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "an error about the pod's flow, to the pod, is related");
	/* foreign: an error quoting the client's flow (its source is the client), sent to the pod:
	 * not related; the pod's policy denies ICMP */
	len = icmp_error(buf, sizeof(buf), router, pod, &in);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
		     "an error quoting someone else's flow meets policy");
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
}

Test(bpf_flow, icmp_error_is_related_only_to_its_receivers_flow_v4)
{
	related_case(POD, CLIENT, ROUTER);
}

Test(bpf_flow, icmp_error_is_related_only_to_its_receivers_flow_v6)
{
	related_case(POD6, CLIENT6, ROUTER6);
}

/* ICMP messages that quote a packet but are no error about it: a redirect (type 5: "use another
 * gateway", which the kernel acts on for the quoted destination) and a source quench (4,
 * deprecated) quoting the pod's own live flow, sent to the pod, are not related (conntrack does
 * relate them): they meet the pod's policy, which denies ICMP. Only destination unreachable, time
 * exceeded and parameter problem ride a flow. */
Test(bpf_flow, icmp_redirect_and_source_quench_meet_policy_v4)
{
	static const uint8_t types[] = { 5, 4 };
	struct pal_packet out = ct_pkt(PAL_PROTO_TCP, POD, 40000, CLIENT, 443);
	uint8_t buf[512];
	size_t len;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	bt_flush_flows(&T);
	cr_assert(from_pod(&out, BT_TCP_SYN), "the pod's own connection out");
	len = icmp_error(buf, sizeof(buf), ROUTER, POD, &out);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "the control: destination unreachable about it is related");
	for (unsigned i = 0; i < sizeof(types); i++) {
		buf[14 + 20] = types[i]; /* the ICMP type (palisade checks no checksum) */
		buf[14 + 21] = types[i] == 5 ? 1 : 0;
		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
			     "ICMP type %u quoting the pod's flow rode it", types[i]);
	}
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 2);
}

/* A router's error to the pod quoting a later fragment of the pod's own flow: what follows that
 * quoted IPv4 header is payload, not ports, so it names no flow; conntrack calls it INVALID (the
 * kernel's ipv4_get_l4proto refuses a quoted non-first fragment), not RELATED. Payload bytes that
 * read as the flow's ports must not make it related (the pod's policy denies ICMP). */
Test(bpf_flow, icmp_error_quoting_a_later_fragment_is_not_related)
{
	struct pal_packet out = ct_pkt(PAL_PROTO_UDP, POD, 40000, CLIENT, 443);
	uint8_t buf[512];
	size_t len;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	bt_flush_flows(&T);
	cr_assert(from_pod(&out, 0), "the pod's own flow out");
	len = icmp_error(buf, sizeof(buf), ROUTER, POD, &out);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "the error quoting the flow's whole header is related");
	buf[len - 28 + 6] = 0;   /* the quoted header's fragment offset: 185 (x 8 bytes) */
	buf[len - 28 + 7] = 185;
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
		     "an error quoting a later fragment meets policy");
	buf[len - 28 + 6] = 0x20; /* more fragments, offset 0: a first fragment has its ports */
	buf[len - 28 + 7] = 0;
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "an error quoting a first fragment is related");
}

/* An ICMP(v6) error from router to pod quoting an echo of type `type` with identifier id, from
 * `from` to `to`: icmp_error with the quoted identifier put in (the last 8 bytes quote the echo
 * header: type, code, checksum, identifier, sequence). */
static size_t echo_error(uint8_t *buf, size_t cap, const char *router, const char *pod,
			 const char *from, const char *to, uint8_t type, uint16_t id)
{
	struct pal_packet echo = ct_icmp(from, to, type, 0);
	size_t len;

	if (echo.src.family == PAL_AF_INET6)
		echo.protocol = PAL_PROTO_ICMPV6;
	len = icmp_error(buf, cap, router, pod, &echo);
	buf[len - 4] = (uint8_t)(id >> 8);
	buf[len - 3] = (uint8_t)id;
	return len;
}

/* The pod pings the client; a router's error about that ping (host unreachable, time exceeded
 * for a traceroute by ICMP) is related, as conntrack says; an error quoting another identifier,
 * or the pod's echo reply in a flow where the pod asked, is not (the pod's policy denies ICMP). */
static void echo_related_case(const char *pod, const char *client, const char *router)
{
	bool v6 = strchr(pod, ':') != NULL;
	uint8_t request = v6 ? 128 : 8, reply = v6 ? 129 : 0;
	struct pal_packet ping = ct_icmp(pod, client, request, 0);
	struct bt_pkt_opts o = { .icmp_id = 0x4242 };
	uint8_t buf[512];
	size_t len;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	if (v6)
		ping.protocol = PAL_PROTO_ICMPV6;
	bt_flush_flows(&T);
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &ping, &o).allow,
		  "the pod's ping out");
	len = echo_error(buf, sizeof(buf), router, pod, pod, client, request, 0x4242);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "an error about the pod's ping, to the pod, is related");
	len = echo_error(buf, sizeof(buf), router, pod, pod, client, request, 0x4243);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
		     "an error about a ping with another identifier meets policy");
	len = echo_error(buf, sizeof(buf), router, pod, pod, client, reply, 0x4242);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
		     "an error about an echo reply the pod never sent in this flow meets policy");
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 2);
}

Test(bpf_flow, icmp_error_about_an_echo_is_related_v4)
{
	echo_related_case(POD, CLIENT, ROUTER);
}

Test(bpf_flow, icmp_error_about_an_echo_is_related_v6)
{
	echo_related_case(POD6, CLIENT6, ROUTER6);
}

/* Forgeries around a live echo flow of the pod (whose policy denies ICMP in): the quote of the
 * genuine error under another outer type (not an error: echo reply or request, timestamp, source
 * quench, redirect), and the genuine error after a policy change (the flow is stale, no longer
 * vouched for) meet policy. */
static void echo_forgeries_case(const char *pod, const char *client, const char *router)
{
	bool v6 = strchr(pod, ':') != NULL;
	static const uint8_t types4[] = { 0, 8, 13, 4, 5 }, types6[] = { 128, 129, 133, 137, 5 };
	const uint8_t *types = v6 ? types6 : types4;
	struct pal_packet ping = ct_icmp(pod, client, v6 ? 128 : 8, 0);
	struct bt_pkt_opts o = { .icmp_id = 0x4242 };
	size_t len, type_off = v6 ? 14 + 40 : 14 + 20;
	uint8_t buf[512];
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];

	if (v6)
		ping.protocol = PAL_PROTO_ICMPV6;
	bt_flush_flows(&T);
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &ping, &o).allow,
		  "the pod's ping out");
	len = echo_error(buf, sizeof(buf), router, pod, pod, client, v6 ? 128 : 8, 0x4242);
	for (size_t i = 0; i < 5; i++) {
		buf[type_off] = types[i];
		cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
			     "type %u quoting the pod's ping is no related error", types[i]);
	}
	buf[type_off] = v6 ? 1 : 3;
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 0,
		     "the genuine error is related");
	apply(deny_yaml); /* another policy: the echo flow is stale until its next packet */
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2,
		     "after a policy change the error meets policy");
}

Test(bpf_flow, icmp_forgeries_about_an_echo_meet_policy_v4)
{
	echo_forgeries_case(POD, CLIENT, ROUTER);
}

Test(bpf_flow, icmp_forgeries_about_an_echo_meet_policy_v6)
{
	echo_forgeries_case(POD6, CLIENT6, ROUTER6);
}

/* ---- fragments follow their first fragment ---- */

/* pod a answers DNS only: UDP port 53 in, nothing else */
static const char *dns_only_yaml =
	BASE_YAML "  - {action: Allow, protocol: UDP, destination: {ports: [53]}}\n"
		  "  - {action: Deny}\n";

static void fragments_case(const char *client, const char *pod)
{
	struct pal_packet q = ct_pkt(PAL_PROTO_UDP, client, 40005, pod, 53);
	struct bt_pkt_opts first = { .frag = 1, .ip_id = 0x777 };
	struct bt_pkt_opts later = { .frag = 2, .ip_id = 0x777 };
	struct bt_pkt_opts stray = { .frag = 2, .ip_id = 0x778 };

	apply(dns_only_yaml);
	bt_flush_flows(&T);
	cr_assert(to_pod(&q, 0), "unfragmented to port 53");
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &q, &first).allow,
		  "the first fragment has the ports");
	cr_assert(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &q, &later).allow,
		  "a later fragment of the same datagram follows it");
	cr_assert_not(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &q, &stray).allow,
		      "a later fragment of a datagram whose first was not seen meets policy");
	q.dport = 54;
	first.ip_id = later.ip_id = 0x779;
	cr_assert_not(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &q, &first).allow,
		      "a denied first fragment");
	cr_assert_not(bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &q, &later).allow,
		      "its later fragments do not pass");
}

Test(bpf_flow, later_fragments_follow_an_allowed_first_fragment_v4)
{
	fragments_case(CLIENT, POD);
}

Test(bpf_flow, later_fragments_follow_an_allowed_first_fragment_v6)
{
	fragments_case(CLIENT6, POD6);
}

/* An IPv6 later fragment: after its Fragment header comes payload, whatever it looks like. Here
 * the Fragment header's next header is a destination-options header (it began the fragmentable
 * part) and the payload bytes would read as a long chain of them: the packet is a later fragment
 * without ports (policy decides: the pod denies it), not a malformed packet. */
Test(bpf_flow, ipv6_parser_stops_at_a_later_fragment)
{
	struct pal_packet q = ct_pkt(PAL_PROTO_UDP, CLIENT6, 40006, POD6, 53);
	struct bt_pkt_opts later = { .frag = 2, .ip_id = 0x99 };
	uint8_t buf[256];
	size_t len;
	int cali0 = T.ifindex[BT_CALI0], eth0 = T.ifindex[BT_ETH0];
	struct pal_if_ctr c;

	apply(dns_only_yaml);
	bt_flush_flows(&T);
	len = bt_build(buf, sizeof(buf), &q, &later);
	cr_assert_eq(buf[14 + 6], 44, "a Fragment header follows the IPv6 header");
	buf[14 + 40] = 60;                    /* its next header: destination options */
	memset(buf + 14 + 48, 60, len - 62); /* payload that reads as more of them */
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_EGRESS, cali0, eth0, 0, buf, len, NULL), 2);
	c = bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS);
	cr_assert_eq(c.drop[PAL_DROP_IPV6_EXT] + c.drop[PAL_DROP_TRUNC_L3], 0,
		     "dropped as malformed: the parser walked into the payload");
	cr_assert_eq(c.drop[PAL_DROP_POLICY], 1, "judged by policy as a later fragment");
}

/* The generation moves after the flips (review finding). Before, pal_dp_apply stored the new
 * generation first and flipped the interfaces after: a packet of an established flow arriving in
 * between read the new generation, was judged by the old lists (allowed) and its entry took the
 * new generation, so after the flip it was never judged again and the deny the new policy adds
 * never cut it. A thread sends the flow's packets throughout the apply; once the apply returns,
 * the next packet must be denied. */
struct hammer {
	struct pal_packet p;
	volatile bool stop;
	unsigned long sent;
};

static void *hammer_flow(void *arg)
{
	struct hammer *h = arg;

	while (!h->stop) {
		to_pod(&h->p, BT_TCP_ACK);
		h->sent++;
	}
	return NULL;
}

Test(bpf_flow, a_packet_during_an_apply_never_keeps_a_flow_the_new_policy_denies)
{
	struct hammer h = { 0 };
	struct ctest d;
	pthread_t th;

	connect_8080();
	h.p = c2s;
	ct_compile_ex(&d, deny_yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(d.rc, 0);
	cr_assert_eq(pthread_create(&th, NULL, hammer_flow, &h), 0);
	while (h.sent < 3)
		usleep(100);
	bt_apply(&T, &d.ir, ++generation);
	h.stop = true;
	pthread_join(th, NULL);
	cr_assert_not(to_pod(&h.p, BT_TCP_ACK),
		      "the new policy denies TCP 8080, yet a packet sent during the apply kept the "
		      "flow (%lu packets sent during it)", h.sent);
	ct_free(&d);
}

/* ---- one entry per flow (canonical key): who may ride it ----
 *
 * Both directions of a flow find the same entry; the entry records which endpoint opened it and
 * each packet's direction is computed from its own endpoints. Each case below is an attack from
 * the client side into the pod, whose policy (deny_yaml) denies TCP 8080, UDP 5353 and ICMP:
 * only a packet of the pod's own flow in its reply direction may pass. */

static bool path_opts(const char *in, const char *out, const struct pal_packet *p,
		      const struct bt_pkt_opts *o)
{
	return bt_path(&T, PAL_TRACE_FORWARD, in, out, p, o).allow;
}

static void only_the_flows_endpoints_ride(const char *pod, const char *client, const char *client2)
{
	struct pal_packet open = ct_pkt(PAL_PROTO_TCP, pod, 8080, client, 40000);
	struct pal_packet reply = ct_pkt(PAL_PROTO_TCP, client, 40000, pod, 8080);
	struct pal_packet other_port = ct_pkt(PAL_PROTO_TCP, client, 40001, pod, 8080);
	struct pal_packet other_host = ct_pkt(PAL_PROTO_TCP, client2, 40000, pod, 8080);
	struct pal_packet swapped_open = ct_pkt(PAL_PROTO_TCP, pod, 40000, client, 8080);

	apply(deny_yaml);
	bt_flush_flows(&T);
	cr_assert(from_pod(&open, BT_TCP_SYN), "the pod opens pod:8080 -> client:40000");
	cr_assert(to_pod(&reply, BT_TCP_SYN | BT_TCP_ACK), "its reply rides the entry");
	cr_assert(from_pod(&open, BT_TCP_ACK));
	cr_assert(to_pod(&reply, BT_TCP_ACK));
	cr_assert_not(to_pod(&other_port, BT_TCP_ACK), "another client port: not the flow");
	cr_assert_not(to_pod(&other_host, BT_TCP_ACK), "another client address: not the flow");
	cr_assert_not(to_pod(&reply, BT_TCP_SYN), "a SYN from the reply side is a new connection");
	cr_assert(to_pod(&reply, BT_TCP_ACK), "which left the flow as it was");

	/* the ports swapped between the two addresses: another flow, not this one's reverse */
	bt_flush_flows(&T);
	cr_assert(from_pod(&swapped_open, BT_TCP_SYN), "the pod opens pod:40000 -> client:8080");
	cr_assert_not(to_pod(&reply, BT_TCP_ACK), "client:40000 -> pod:8080 is not its reply");
	cr_assert_not(to_pod(&reply, BT_TCP_SYN | BT_TCP_ACK));
}

Test(bpf_flow, an_entry_admits_only_its_two_endpoints_v4)
{
	only_the_flows_endpoints_ride(POD, CLIENT, "198.18.100.2");
}

Test(bpf_flow, an_entry_admits_only_its_two_endpoints_v6)
{
	only_the_flows_endpoints_ride(POD6, CLIENT6, "2001:db8:100::2");
}

/* An ICMP (v6: ICMPv6) echo request or reply from src to dst. */
static struct pal_packet echo(const char *src, const char *dst, bool v6, bool request)
{
	struct pal_packet p = ct_icmp(src, dst, request ? (v6 ? 128 : 8) : (v6 ? 129 : 0), 0);

	if (v6)
		p.protocol = PAL_PROTO_ICMPV6;
	return p;
}

/* One packet of an echo exchange between a pod and a client, and whether it must pass. */
struct echo_step {
	bool from_pod, request, pass;
	const char *what;
};

/* Under the policies in yaml, from empty flow tables, the n echo packets of steps (identifier
 * id) pass or drop as each says. */
static void echo_steps(const char *yaml, const char *pod, const char *client, bool v6,
		       uint16_t id, const struct echo_step *steps, size_t n)
{
	struct bt_pkt_opts o = { .icmp_id = id };

	apply(yaml);
	bt_flush_flows(&T);
	for (size_t i = 0; i < n; i++) {
		const struct echo_step *st = &steps[i];
		struct pal_packet p = st->from_pod ? echo(pod, client, v6, st->request) :
						     echo(client, pod, v6, st->request);
		bool passed = st->from_pod ? path_opts("cali0", "eth0", &p, &o) :
					     path_opts("eth0", "cali0", &p, &o);

		cr_assert_eq(passed, st->pass, "%s", st->what);
	}
}

/* The echo identifier is both ports, so the client's own echo request with the pod's identifier
 * has the pod's flow's key: it must still meet policy (ICMP is denied into the pod). */
static void echo_request_rides_only_the_original_direction(const char *pod, const char *client,
							   bool v6)
{
	static const struct echo_step steps[] = {
		{ true, true, true, "the pod pings the client" },
		{ false, false, true, "the echo reply rides the flow" },
		{ false, true, false,
		  "the client's echo request with the same identifier meets policy" },
		{ false, false, true, "the pod's flow is intact" },
	};

	echo_steps(deny_yaml, pod, client, v6, 7, steps, sizeof(steps) / sizeof(steps[0]));
}

Test(bpf_flow, an_echo_request_never_rides_the_reply_direction_v4)
{
	echo_request_rides_only_the_original_direction(POD, CLIENT, false);
}

Test(bpf_flow, an_echo_request_never_rides_the_reply_direction_v6)
{
	echo_request_rides_only_the_original_direction(POD6, CLIENT6, true);
}

/* UDP is replied only by a packet from the other endpoint, whichever endpoint sorts first in the
 * key (the client's address sorts after the pod's: both orders are exercised). */
static void udp_replied_only_from_the_other_side(const struct pal_packet *q,
						 const struct pal_packet *a, bool q_to_pod)
{
	struct pal_flow f;

	bt_flush_flows(&T);
	cr_assert(q_to_pod ? to_pod(q, 0) : from_pod(q, 0));
	cr_assert(q_to_pod ? to_pod(q, 0) : from_pod(q, 0), "the opener again");
	cr_assert(get_flow(q, &f));
	cr_assert_eq(f.state, PAL_FST_UDP_UNREPLIED, "the opener's own packets are no reply");
	cr_assert(q_to_pod ? from_pod(a, 0) : to_pod(a, 0));
	cr_assert(get_flow(q, &f) && get_flow(a, &f), "one entry, found from both sides");
	cr_assert_eq(f.state, PAL_FST_UDP_REPLIED);
}

Test(bpf_flow, udp_is_replied_only_by_the_other_endpoint)
{
	struct pal_packet q = ct_pkt(PAL_PROTO_UDP, CLIENT, 40005, POD, 5353);
	struct pal_packet a = ct_pkt(PAL_PROTO_UDP, POD, 5353, CLIENT, 40005);
	struct pal_packet q2 = ct_pkt(PAL_PROTO_UDP, POD, 40006, CLIENT, 53);
	struct pal_packet a2 = ct_pkt(PAL_PROTO_UDP, CLIENT, 53, POD, 40006);

	udp_replied_only_from_the_other_side(&q, &a, true);
	udp_replied_only_from_the_other_side(&q2, &a2, false);
}

/* Review (s5/review-flow): an echo flow opened by an echo REPLY. The pod's policy allows echo
 * replies in (for its own pings) and denies every other ICMP. The client sends one unsolicited
 * echo reply (allowed: it is admitted and entered, "opened" by the client), then echo requests
 * with the same identifier: they travel in the flow's original direction, which
 * pal_echo_against_flow lets a request ride, so they reach the pod although its policy denies
 * them. Conntrack never opens an ICMP connection on a reply (icmp_new: INVALID). */
static const char *echo_reply_only_yaml =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: a, namespace: open, labels: {app: a}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0,"
	" ipNetworks: [198.18.3.1/32, '2001:db8:3::1/128'], profiles: [kns.open]}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
	"metadata: {name: guard, namespace: open}\n"
	"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n"
	"  - {action: Allow, protocol: ICMP, icmp: {type: 0}}\n"
	"  - {action: Allow, protocol: ICMPv6, icmp: {type: 129}}\n"
	"  - {action: Deny, protocol: ICMP}\n  - {action: Deny, protocol: ICMPv6}\n"
	"  - {action: Allow}\n";

static void echo_reply_opens_no_door_for_requests(const char *pod, const char *client, bool v6)
{
	static const struct echo_step steps[] = {
		{ false, true, false, "policy denies echo requests in" },
		{ false, false, true, "policy allows an echo reply in" },
		{ false, true, false,
		  "an echo request after an unsolicited echo reply must still meet policy" },
	};

	echo_steps(echo_reply_only_yaml, pod, client, v6, 9, steps,
		   sizeof(steps) / sizeof(steps[0]));
}

Test(bpf_flow, an_echo_reply_opens_no_flow_for_echo_requests_v4)
{
	echo_reply_opens_no_door_for_requests(POD, CLIENT, false);
}

Test(bpf_flow, an_echo_reply_opens_no_flow_for_echo_requests_v6)
{
	echo_reply_opens_no_door_for_requests(POD6, CLIENT6, true);
}

/* A deny means now for an echo flow, the reply first (s16 adversary round): the client pings the
 * pod under an ingress allow; the policy then denies ICMP in (base_yaml's guard). The pod's echo
 * reply to the request that passed before the change re-judges the flow on its original tuple
 * (the client's request) and drops, and so does the client's next request. */
static void echo_reply_first_after_a_deny(const char *pod, const char *client, bool v6)
{
	static const char *allow_yaml =
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
		"metadata: {name: a, namespace: open, labels: {app: a}}\n"
		"spec: {node: node1, orchestrator: k8s, interfaceName: cali0,"
		" ipNetworks: [198.18.3.1/32, '2001:db8:3::1/128'], profiles: [kns.open]}\n---\n"
		"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
		"metadata: {name: guard, namespace: open}\n"
		"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n"
		"  - {action: Allow}\n";
	struct bt_pkt_opts o = { .icmp_id = 11 };
	struct pal_packet req = echo(client, pod, v6, true), rep = echo(pod, client, v6, false);

	apply(allow_yaml);
	bt_flush_flows(&T);
	cr_assert(path_opts("eth0", "cali0", &req, &o), "the client's echo request under the allow");
	cr_assert(path_opts("cali0", "eth0", &rep, &o), "the pod's echo reply under the allow");
	cr_assert(path_opts("eth0", "cali0", &req, &o), "the client's second echo request");
	apply(base_yaml);
	cr_expect_not(path_opts("cali0", "eth0", &rep, &o),
		      "the pod's echo reply, first after the deny, passed");
	cr_expect_not(path_opts("eth0", "cali0", &req, &o),
		      "the client's echo request after the deny passed");
}

Test(bpf_flow, an_echo_flow_is_cut_when_its_reply_comes_first_after_a_deny_v4)
{
	echo_reply_first_after_a_deny(POD, CLIENT, false);
}

Test(bpf_flow, an_echo_flow_is_cut_when_its_reply_comes_first_after_a_deny_v6)
{
	echo_reply_first_after_a_deny(POD6, CLIENT6, true);
}

/* An established packet on a fresh entry (last seen now: within every timeout and the refresh
 * second) is decided by a few compares (flow.h pal_flow_plain_hit), which must leave to the full
 * checks an entry of an older generation (re-judged: the policy now denies it) and a tombstone
 * of this one (dropped, both directions). With either compare left out, the ACK rides the
 * entry. */
Test(bpf_flow, a_fresh_entry_is_a_plain_hit_only_when_current_and_no_tombstone)
{
	struct pal_flow f;

	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40007, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40007);

	apply(deny_yaml);
	bt_flush_flows(&T);
	put_flow(generation, 0, bt_now_ns());
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "the control: a current entry is established");
	put_flow(generation - 1, 0, bt_now_ns());
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "admitted under the generation before: re-judged");
	cr_assert(get_flow(&c2s, &f) && (f.flags & PAL_FLOW_DENIED), "the re-judge buried it");

	apply(base_yaml); /* allows 8080 again: only the tombstone can drop */
	bt_flush_flows(&T);
	put_flow(generation, PAL_FLOW_DENIED, bt_now_ns());
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "a tombstone of this generation drops");
	cr_assert_not(from_pod(&s2c, BT_TCP_ACK), "in the reply direction too");
}

/* The entry is refreshed at most once a second (PAL_FLOW_REFRESH_NS; the plain hit and
 * pal_flow_touch leave last_ns alone within the second), so expiry gives that second as slack
 * (pal_flow_expired). Without it, with a timeout of 1 s (the smallest the configuration takes),
 * the first packet that would refresh the entry (idle > 1 s) found it expired first: a flow whose
 * packets never pause more than 0.6 s died 1.2 s after its last refresh and its next packet met
 * policy (here a deny). */
Test(bpf_flow, busy_flow_with_a_1s_timeout_outlives_its_refresh_second)
{
	live_entry_with_a_1s_timeout(40009);
	usleep(600 * 1000);
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "0.6 s after the last packet: established");
	usleep(600 * 1000);
	cr_assert(to_pod(&c2s, BT_TCP_ACK),
		  "0.6 s after the last packet (timeout 1 s): still established");
}

/* Coverage of the plain hit's direction: an unreplied UDP flow's first reply
 * is no plain hit whichever endpoint sorts first (pal_flow_get_pkt's inline swap bit); the
 * opener's own datagrams within the second leave it unreplied. */
static void udp_first_reply_is_recorded(const char *opener, const char *responder, bool opener_is_client)
{
	struct pal_packet o = ct_pkt(PAL_PROTO_UDP, opener, 41000, responder, 5300);
	struct pal_packet r = ct_pkt(PAL_PROTO_UDP, responder, 5300, opener, 41000);
	struct pal_flow f;

	bt_flush_flows(&T);
	cr_assert(opener_is_client ? to_pod(&o, 0) : from_pod(&o, 0), "the opener's datagram");
	cr_assert(get_flow(&o, &f) && f.state == PAL_FST_UDP_UNREPLIED, "state %u", f.state);
	cr_assert(opener_is_client ? to_pod(&o, 0) : from_pod(&o, 0), "the opener again");
	cr_assert(get_flow(&o, &f) && f.state == PAL_FST_UDP_UNREPLIED, "state %u", f.state);
	cr_assert(opener_is_client ? from_pod(&r, 0) : to_pod(&r, 0), "the first reply");
	cr_assert(get_flow(&o, &f) && f.state == PAL_FST_UDP_REPLIED, "state %u", f.state);
}

Test(bpf_flow, udp_first_reply_is_recorded_whichever_endpoint_sorts_first)
{
	udp_first_reply_is_recorded(CLIENT, POD, true);  /* the opener sorts after */
	udp_first_reply_is_recorded(POD, CLIENT, false); /* the opener sorts first */
	udp_first_reply_is_recorded(CLIENT6, POD6, true);
	udp_first_reply_is_recorded(POD6, CLIENT6, false);
}

/* Table pressure (docs/datapath.md "Table pressure and eviction"): a client the policy lets open
 * flows opens more than the table holds (max_flows 4096 here), the LRU table evicts the oldest,
 * and an evicted flow's next packet meets policy again: under a policy that now denies it (flows
 * kept across policy changes, so only the entry let it through), the client's next packet of the
 * evicted connection is dropped, not let through for want of an entry. */
Test(bpf_flow, an_evicted_flow_meets_policy_again)
{
	struct pal_flow f;
	int cali0 = T.ifindex[BT_CALI0];

	set_cfg(&(struct pal_flow_cfg){ .flags = PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE });
	connect_8080();
	apply(deny_yaml);
	cr_assert(to_pod(&c2s, BT_TCP_ACK), "kept across the deny: only its entry lets it through");
	for (uint32_t i = 0; i < 3 * 4096 && get_flow(&c2s, &f); i++) {
		struct pal_packet u = ct_pkt(PAL_PROTO_UDP, CLIENT, (uint16_t)(10000 + i), POD, 9999);

		/* two packets each: an entry found again is referenced, which the LRU keeps
		 * ahead of one never found (a flood of single packets does not evict a live flow) */
		cr_assert(to_pod(&u, 0), "new flow %u", i);
		cr_assert(to_pod(&u, 0), "new flow %u, again", i);
	}
	cr_assert_not(get_flow(&c2s, &f), "the flood evicted the connection's entry");
	cr_assert_not(to_pod(&c2s, BT_TCP_ACK), "the evicted flow's next packet meets the deny");
	cr_assert_eq(bt_ifctr(&T, cali0, PAL_HOOK_TC_EGRESS).drop[PAL_DROP_POLICY], 1);
	cr_assert_not(get_flow(&c2s, &f), "and opens no entry");
}

/* rev13: Linux retransmits a Fast Open SYN-data as a plain SYN (the data stays queued apart:
 * tcp_send_syn_data), with the same number. The retransmission is entered afresh over the
 * syn_sent entry (pal_flow_syn_keeps keeps established flows only), and syn_len became 0; but the
 * server got the first SYN, accepted its data, and every SYN-ACK it sends (its own retransmits,
 * the answer to the plain SYN) acknowledges the data: none answered the SYN, the entry stayed in
 * syn_sent for the connection's whole life (its reply direction without a mark: any RST closes
 * it; syn_sent's timeout under an idle connection). conntrack keeps the SYN's end (td_end is
 * re-initialised only by a SYN that reaches further) and takes the SYN-ACK. */
Test(bpf_flow, a_fast_open_synack_answers_after_the_syn_was_retransmitted_without_data)
{
	connect_seq(40024);
	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 32, 100), "the Fast Open SYN-data");
	cr_assert(syn_with(C_ISN, 20, 0), "its retransmission, without the data");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1 + 100));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV,
		     "the server's SYN-ACK acknowledging the first SYN's data was refused");
	/* a SYN with another number is another connection: its own end only */
	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 32, 100));
	cr_assert(syn_with(C_ISN + 7777, 20, 0), "a new connection from the port");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1 + 100));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "the old SYN's answer answered the new");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 7777 + 1));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV);
}

/* rev13: the server's SYN-ACK to a Fast Open SYN-data passed the hook and was lost beyond it (the
 * entry in syn_recv); the client retransmits the SYN without the data, which enters the flow
 * afresh in syn_sent, and the server resends its SYN-ACK, still acknowledging the data
 * (tcp_check_req: rcv_nxt past it). It answers the SYN as before; conntrack ignores the SYN in
 * SYN_RECV and takes the SYN-ACK. */
Test(bpf_flow, a_fast_open_synack_answers_a_syn_retransmitted_after_syn_recv)
{
	connect_seq(40025);
	bt_flush_flows(&T);
	cr_assert(syn_with(C_ISN, 32, 100));
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1 + 100));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV);
	cr_assert(syn_with(C_ISN, 20, 0), "the client's retransmission, without the data");
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_SENT, "entered afresh (as before)");
	cr_assert(from_pod_seq_ack(BT_TCP_SYN | BT_TCP_ACK, S_ISN, C_ISN + 1 + 100));
	cr_assert_eq(flow_state(), PAL_FST_TCP_SYN_RECV,
		     "the server's resent SYN-ACK (the data acknowledged) was refused");
	cr_assert(to_pod_seq(BT_TCP_ACK, C_ISN + 101));
	cr_assert_eq(flow_state(), PAL_FST_TCP_ESTABLISHED);
}
