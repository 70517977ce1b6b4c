/* The memos between hooks (bpf/memo.h, docs/datapath.md "Memos between hooks"): a verdict made
 * at one hook and taken by a later hook of the same packet must never be taken by another packet,
 * on another interface or configuration, under another generation or in another tick.
 *
 * How a test can fail: the memo map is private to the object, so each case takes a real memo
 * (the writer hook run on a packet A), forges it (its verdict, or one of its inputs) and plants it
 * in every slot of its kind, so whatever slot the reader hook looks in holds it. The attack packet
 * (A with one field changed, or A itself against a forged input) must get the full decision. The
 * same memo then planted honestly must be taken by A (the control): that proves the reader looked
 * at the memo in the same tick as the attack; a case whose control misses (the tick moved) is run
 * again, and a case never confirmed fails.
 *
 * The node: host endpoint h on eth0 (198.18.0.1), eth1 no endpoint (the forwarded packets' exit).
 * doNotTrack ingress of h: allow udp/9999, deny udp/9998; forward ingress of h: allow tcp/80. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"
#include "palisade.skel.h"
#include "../../agent/dataplane/datapath_internal.h"

static const char *yaml =
	CT_YAML_HEP_H CT_YAML_NOTRACK_HEAD
	"  types: [Ingress]\n"
	"  ingress:\n"
	"  - {action: Allow, protocol: UDP, destination: {ports: [9999]}}\n"
	"  - {action: Deny, protocol: UDP, destination: {ports: [9998]}}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: web}\n"
	"spec:\n  order: 10\n  selector: role == 'h'\n  applyOnForward: true\n"
	"  types: [Ingress]\n"
	"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]\n";

#define PEER "198.18.5.5"
#define FAR "198.18.9.9" /* behind eth1 */
#define TC_SHOT 2
#define ATTEMPTS 50

static struct bpft T;
static struct ctest C;
static uint32_t generation = 1;
static int cpu; /* every test run on this CPU: the memos are per CPU */

static void setup(void)
{
	cpu_set_t set;

	cpu = sched_getcpu();
	cr_assert_geq(cpu, 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	bt_setup(&T);
	ct_compile(&C, yaml);
	cr_assert_eq(C.rc, 0, "compile");
	generation = 1;
	bt_apply(&T, &C.ir, generation);
	bt_flush_flows(&T);
}

static void teardown(void)
{
	ct_free(&C);
	bt_teardown(&T);
}

TestSuite(bpf_memo, .init = setup, .fini = teardown);

/* ---- the memo map ---- */

static int memo_fd(void)
{
	return bpf_map__fd(T.dp->skel->maps.hook_memo);
}

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	cr_assert_gt(n, cpu);
	return n;
}

static uint32_t slot_key(uint32_t kind, uint32_t i)
{
	return (kind - 1) * PAL_MEMO_SLOTS + i;
}

/* Writes m into every slot of kind, on every CPU (m = NULL: empties them). */
static void plant(uint32_t kind, const struct pal_hook_memo *m)
{
	int n = ncpus();
	struct pal_hook_memo *v = calloc((size_t)n, sizeof(*v));

	cr_assert(v);
	for (int c = 0; m && c < n; c++)
		v[c] = *m;
	for (uint32_t i = 0; i < PAL_MEMO_SLOTS; i++) {
		uint32_t k = slot_key(kind, i);

		cr_assert_eq(bpf_map_update_elem(memo_fd(), &k, v, BPF_ANY), 0);
	}
	free(v);
}

/* How many slots of kind on this CPU hold a memo of that kind; the last one found in *m. */
static int memos(uint32_t kind, struct pal_hook_memo *m)
{
	int n = ncpus(), found = 0;
	struct pal_hook_memo *v = calloc((size_t)n, sizeof(*v));

	cr_assert(v);
	for (uint32_t i = 0; i < PAL_MEMO_SLOTS; i++) {
		uint32_t k = slot_key(kind, i);

		cr_assert_eq(bpf_map_lookup_elem(memo_fd(), &k, v), 0);
		if (v[cpu].kind == kind) {
			*m = v[cpu];
			found++;
		}
	}
	free(v);
	return found;
}

/* The one memo of kind on this CPU (after plant(kind, NULL) and one writer run). */
static struct pal_hook_memo written(uint32_t kind)
{
	struct pal_hook_memo m = { 0 };
	int found = memos(kind, &m);

	cr_assert_eq(found, 1, "the writer left %d memos of kind %u", found, kind);
	return m;
}

/* ---- packets ---- */

struct frame {
	uint8_t b[256];
	size_t len;
};

static struct frame frame(const struct pal_packet *p, uint8_t tcp_flags)
{
	struct bt_pkt_opts o = { .tcp_flags = tcp_flags, .icmp_id = 77 };
	struct frame f;

	f.len = bt_build(f.b, sizeof(f.b), p, &o);
	cr_assert_gt(f.len, 0);
	return f;
}

static int eth0(void)
{
	return T.ifindex[BT_ETH0];
}

static int eth1(void)
{
	return T.ifindex[BT_ETH1];
}

/* tc ingress of eth0: the mark it leaves */
static uint32_t tc_in(const struct frame *f)
{
	uint32_t mark = 0;

	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, eth0(), eth0(), 0, f->b, f->len, &mark), 0);
	return mark;
}

/* ---- PRE_IN: XDP -> tc ingress ---- */

/* The memo XDP makes for packet a (no untracked decision), forged to say "untracked allow": a
 * packet that takes it is marked untracked at tc ingress, which the policy never does for it. */
static struct pal_hook_memo forged_pre_in(const struct frame *a)
{
	struct pal_hook_memo m;

	plant(PAL_MEMO_PRE_IN, NULL);
	cr_assert_eq(bt_run_xdp(&T, eth0(), a->b, a->len, NULL), XDP_PASS);
	m = written(PAL_MEMO_PRE_IN);
	cr_assert_eq(m.what, 0 /* PAL_O_NONE */);
	cr_assert_eq(m.ifindex, (uint32_t)eth0());
	m.what = 4; /* PAL_O_UNTRACKED */
	return m;
}

/* Plants bad (the forged memo with one input changed, or as it is for an attack packet), runs
 * attack at tc ingress, then the control: good planted, a at tc ingress. Returns whether the
 * control took the memo (else the case is run again). */
static bool pre_in_case(const struct frame *a, const struct pal_hook_memo *good,
			const struct pal_hook_memo *bad, const struct frame *attack, const char *what)
{
	uint32_t mark;

	plant(PAL_MEMO_PRE_IN, bad);
	mark = tc_in(attack);
	cr_assert_eq(mark & PAL_MARK_UNTRACKED, 0, "%s took another packet's untracked verdict",
		     what);
	plant(PAL_MEMO_PRE_IN, good);
	return (tc_in(a) & PAL_MARK_UNTRACKED) != 0;
}

static void pre_in_attack(const struct pal_packet *ap, uint8_t aflags,
			  const struct pal_packet *bp, uint8_t bflags, const char *what)
{
	struct frame a = frame(ap, aflags), b = frame(bp, bflags);

	for (int i = 0; i < ATTEMPTS; i++) {
		struct pal_hook_memo good = forged_pre_in(&a);

		if (pre_in_case(&a, &good, &good, &b, what))
			return;
	}
	cr_assert_fail("%s: the memo was never taken in %d attempts: the test cannot tell", what,
		       ATTEMPTS);
}

/* A packet differing from the memo's in one header field never takes its verdict. */
Test(bpf_memo, untracked_memo_is_never_taken_by_a_packet_with_one_field_changed)
{
	struct pal_packet a = ct_pkt(PAL_PROTO_UDP, PEER, 5000, FAR, 9997), b;
	struct pal_packet t = ct_pkt(PAL_PROTO_TCP, PEER, 5000, FAR, 9997);
	struct pal_packet e = ct_icmp(PEER, FAR, 8, 0);

	b = a, b.dport = 9996;
	pre_in_attack(&a, 0, &b, 0, "another destination port");
	b = a, b.sport = 5001;
	pre_in_attack(&a, 0, &b, 0, "another source port");
	b = ct_pkt(PAL_PROTO_UDP, "198.18.5.6", 5000, FAR, 9997);
	pre_in_attack(&a, 0, &b, 0, "another source address");
	b = ct_pkt(PAL_PROTO_UDP, PEER, 5000, "198.18.9.8", 9997);
	pre_in_attack(&a, 0, &b, 0, "another destination address");
	pre_in_attack(&a, 0, &t, BT_TCP_ACK, "another protocol (TCP, same ports)");
	pre_in_attack(&t, BT_TCP_ACK, &t, BT_TCP_SYN, "other TCP flags");
	b = ct_icmp(PEER, FAR, 8, 1);
	pre_in_attack(&e, 0, &b, 0, "another ICMP code");
	b = ct_icmp(PEER, FAR, 13, 0);
	pre_in_attack(&e, 0, &b, 0, "another ICMP type");
}

/* The memo's other inputs: interface, its flags, the list judged, the generation, the tick. */
Test(bpf_memo, untracked_memo_is_never_taken_with_another_input)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_UDP, PEER, 5000, FAR, 9997);
	struct frame a = frame(&ap, 0);
	const char *what[] = { "another interface", "other interface flags", "another list",
			       "another generation", "another tick" };

	for (size_t w = 0; w < sizeof(what) / sizeof(what[0]); w++) {
		int i;

		for (i = 0; i < ATTEMPTS; i++) {
			struct pal_hook_memo good = forged_pre_in(&a), bad = good;

			switch (w) {
			case 0: bad.ifindex = (uint32_t)eth1(); break;
			case 1: bad.if_flags ^= PAL_IF_L3; break;
			case 2: bad.list_id++; break;
			case 3: bad.generation--; break;
			case 4: bad.jiffies--; break;
			}
			if (pre_in_case(&a, &good, &bad, &a, what[w]))
				break;
		}
		cr_assert_lt(i, ATTEMPTS, "%s: never confirmed", what[w]);
	}
}

/* The memo of an untracked allow gives tc ingress the same answer as classifying again, and the
 * deciding rule is counted at XDP and again at tc ingress, with or without the memo. */
Test(bpf_memo, untracked_allow_through_the_memo_marks_and_counts_as_before)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_UDP, PEER, 5000, FAR, 9999);
	struct frame a = frame(&ap, 0);
	struct pal_verdict v = ct_eval(&C, PAL_TRACE_FORWARD, "eth0", "eth1", &ap);
	struct pal_rule_ctr r0 = bt_rulectr(&T, v.rule_id), r1;

	cr_assert_eq(bt_run_xdp(&T, eth0(), a.b, a.len, NULL), XDP_PASS);
	cr_assert(tc_in(&a) & PAL_MARK_UNTRACKED);
	r1 = bt_rulectr(&T, v.rule_id);
	cr_assert_eq(r1.packets - r0.packets, 2);
}

/* ---- ESTABLISHED: tc ingress -> tc egress ---- */

static struct pal_if_ctr egress_ctr(void)
{
	return bt_ifctr(&T, eth1(), PAL_HOOK_TC_EGRESS);
}

/* tc egress of eth1 for a packet from iif: the return value; *est: counted established. */
static int tc_out(const struct frame *f, int iif, bool *est)
{
	uint64_t e0 = egress_ctr().verdict[PAL_VERDICT_ESTABLISHED];
	int rc = bt_run_tc(&T, PAL_PROG_TC_EGRESS, eth1(), iif, 0, f->b, f->len, NULL);

	cr_assert_geq(rc, 0);
	*est = egress_ctr().verdict[PAL_VERDICT_ESTABLISHED] != e0;
	return rc;
}

/* The memo tc ingress makes for a's established flow (entered by its SYN at tc egress). */
static struct pal_hook_memo established_memo(const struct pal_packet *ap)
{
	struct frame syn = frame(ap, BT_TCP_SYN), ack = frame(ap, BT_TCP_ACK);
	bool est;

	bt_flush_flows(&T);
	cr_assert_eq(tc_out(&syn, eth0(), &est), 0, "the policy admits a");
	plant(PAL_MEMO_ESTABLISHED, NULL);
	tc_in(&ack);
	return written(PAL_MEMO_ESTABLISHED);
}

/* bad planted, attack at tc egress (from iif) with no flow in the table: never established; then
 * good planted, a (no flow either) must be taken as established: the memo was live. */
static bool est_case(const struct frame *a, const struct pal_hook_memo *good,
		     const struct pal_hook_memo *bad, const struct frame *attack, int iif,
		     int want_rc, const char *what)
{
	bool est;
	int rc;

	bt_flush_flows(&T);
	plant(PAL_MEMO_ESTABLISHED, bad);
	rc = tc_out(attack, iif, &est);
	cr_assert_not(est, "%s rode another packet's established memo", what);
	if (want_rc >= 0)
		cr_assert_eq(rc, want_rc, "%s: tc egress returned %d", what, rc);
	bt_flush_flows(&T);
	plant(PAL_MEMO_ESTABLISHED, good);
	tc_out(a, eth0(), &est);
	return est;
}

static void est_attack(const struct pal_packet *bp, uint8_t bflags, int want_rc, const char *what)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	struct frame a = frame(&ap, BT_TCP_ACK), b = frame(bp, bflags);

	for (int i = 0; i < ATTEMPTS; i++) {
		struct pal_hook_memo good = established_memo(&ap);

		if (est_case(&a, &good, &good, &b, eth0(), want_rc, what))
			return;
	}
	cr_assert_fail("%s: the memo was never taken in %d attempts: the test cannot tell", what,
		       ATTEMPTS);
}

/* A forwarded packet differing in one header field from the packet tc ingress found established
 * meets the forward policy (denied, or allowed as a new flow), never "established". */
Test(bpf_memo, established_memo_is_never_taken_by_a_packet_with_one_field_changed)
{
	struct pal_packet b = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 81);

	est_attack(&b, BT_TCP_ACK, TC_SHOT, "another destination port (denied)");
	b = ct_pkt(PAL_PROTO_UDP, PEER, 40000, FAR, 80);
	est_attack(&b, 0, TC_SHOT, "another protocol (denied)");
	b = ct_pkt(PAL_PROTO_TCP, PEER, 40001, FAR, 80);
	est_attack(&b, BT_TCP_ACK, 0, "another source port");
	b = ct_pkt(PAL_PROTO_TCP, "198.18.5.6", 40000, FAR, 80);
	est_attack(&b, BT_TCP_ACK, 0, "another source address");
	b = ct_pkt(PAL_PROTO_TCP, PEER, 40000, "198.18.9.8", 80);
	est_attack(&b, BT_TCP_ACK, 0, "another destination address");
	b = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	est_attack(&b, BT_TCP_SYN, 0, "a SYN of the same tuple");
}

/* The same packet from another interface, or against a memo of another interface, flags,
 * generation or tick: not established. */
Test(bpf_memo, established_memo_is_never_taken_with_another_input)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	struct frame a = frame(&ap, BT_TCP_ACK);
	const char *what[] = { "from another interface", "a memo of another interface",
			       "other interface flags", "another generation", "another tick" };

	for (size_t w = 0; w < sizeof(what) / sizeof(what[0]); w++) {
		int i;

		for (i = 0; i < ATTEMPTS; i++) {
			struct pal_hook_memo good = established_memo(&ap), bad = good;
			int iif = eth0();

			switch (w) {
			case 0: iif = T.ifindex[BT_CALI0]; break;
			case 1: bad.ifindex = (uint32_t)T.ifindex[BT_CALI0]; break;
			case 2: bad.if_flags ^= PAL_IF_L3; break;
			case 3: bad.generation--; break;
			case 4: bad.jiffies--; break;
			}
			if (est_case(&a, &good, &bad, &a, iif, -1, what[w]))
				break;
		}
		cr_assert_lt(i, ATTEMPTS, "%s: never confirmed", what[w]);
	}
}

/* Every apply moves the generation the programs read: a memo made under the one before is not
 * taken after it (the new policy denies a's port: a meets it, it does not ride the memo). An apply
 * takes longer than a tick, so the tick the memos carry is the current one's, learnt from a memo
 * made after the apply (a flow to port 8080, which the new policy admits). */
Test(bpf_memo, established_memo_is_not_taken_after_a_policy_apply)
{
	static const char *only8080 =
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: h, labels: {role: h}}\n"
		"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"
		"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: web}\n"
		"spec:\n  order: 10\n  selector: role == 'h'\n  applyOnForward: true\n"
		"  types: [Ingress]\n"
		"  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]\n";
	struct pal_packet ap = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	struct pal_packet cp = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 8080);
	struct frame a = frame(&ap, BT_TCP_ACK);
	struct pal_hook_memo old = established_memo(&ap), now;
	struct ctest d;
	bool est;
	int i;

	ct_compile(&d, only8080);
	cr_assert_eq(d.rc, 0);
	bt_apply(&T, &d.ir, ++generation);
	cr_assert_neq(old.generation, generation);
	for (i = 0; i < ATTEMPTS; i++) {
		now = established_memo(&cp);
		old.jiffies = now.jiffies;
		bt_flush_flows(&T);
		plant(PAL_MEMO_ESTABLISHED, &old);
		cr_assert_eq(tc_out(&a, eth0(), &est), TC_SHOT, "the new policy denies a");
		cr_assert_not(est, "a memo of the old generation was taken after the apply");
		/* the control: the same memo under the new generation is taken in this tick */
		old.generation = now.generation;
		plant(PAL_MEMO_ESTABLISHED, &old);
		tc_out(&a, eth0(), &est);
		old.generation = generation - 1;
		if (est)
			break;
	}
	ct_free(&d);
	cr_assert_lt(i, ATTEMPTS, "never confirmed within a tick");
}

/* tc ingress empties a packet's slot when its flow check does not say established: a memo left
 * from an earlier packet of the tuple is not taken once the tuple's entry is gone. */
Test(bpf_memo, tc_ingress_forgets_the_memo_of_a_packet_it_does_not_find_established)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 81);
	struct pal_packet ok = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	struct frame a = frame(&ap, BT_TCP_ACK);
	int i;

	for (i = 0; i < ATTEMPTS; i++) {
		/* a memo for a (port 81, which the policy denies), as if its flow had been found */
		struct pal_hook_memo m = established_memo(&ok);
		struct pal_hook_memo planted = m;
		bool est;

		memcpy(planted.hdr, m.hdr, sizeof(m.hdr));
		((uint16_t *)planted.hdr)[17] = 81; /* struct pal_pkt: dport at byte 34, host order */
		bt_flush_flows(&T);
		plant(PAL_MEMO_ESTABLISHED, &planted);
		tc_in(&a); /* no entry for a: its slot is emptied */
		cr_assert_eq(tc_out(&a, eth0(), &est), TC_SHOT, "a rode a memo tc ingress left");
		cr_assert_not(est);
		/* the control: without the tc ingress run, the planted memo is taken */
		plant(PAL_MEMO_ESTABLISHED, &planted);
		if (tc_out(&a, eth0(), &est) == 0 && est)
			break;
	}
	cr_assert_lt(i, ATTEMPTS, "never confirmed within a tick");
}

/* Every IPv4 flow entry becomes an established TCP flow admitted in context ctx (enum
 * pal_flow_ctx): its packets are plain hits (bpf/flow.h pal_flow_plain_hit). */
static void set_established_flows(uint8_t ctx)
{
	int fd = bpf_map__fd(T.dp->skel->maps.pal_flows4), n = 0;
	struct pal_flow_key4 k, next;
	struct pal_flow f;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		first = false;
		k = next;
		cr_assert_eq(bpf_map_lookup_elem(fd, &k, &f), 0);
		f.ctx = ctx;
		f.state = PAL_FST_TCP_ESTABLISHED;
		cr_assert_eq(bpf_map_update_elem(fd, &k, &f, BPF_EXIST), 0);
		n++;
	}
	cr_assert_gt(n, 0, "no flow entry to change");
}

/* An established packet of a flow of the host's own (admitted at INPUT: delivered to the host,
 * never forwarded) writes no memo and leaves its slot as it is (memo.h PAL_MEMO_PUT_HOST_FLOW),
 * while a forwarded flow's packet writes one (established_memo). Leaving the slot is only for a
 * packet its own check found established: b, right after such a packet and with no entry of its
 * own, still empties its slot, so b (port 81, which the forward policy denies) does not ride a
 * memo planted for it. Fails when tc ingress decides to leave the slot from an earlier packet's
 * flow check. */
Test(bpf_memo, only_a_host_flows_established_packet_leaves_its_slot_as_it_is)
{
	struct pal_packet ap = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	struct pal_packet bp = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 81);
	struct frame a = frame(&ap, BT_TCP_ACK), b = frame(&bp, BT_TCP_ACK);
	struct pal_hook_memo m;
	int i;

	for (i = 0; i < ATTEMPTS; i++) {
		struct pal_hook_memo planted = established_memo(&ap); /* a forwarded flow: written */
		bool est;

		((uint16_t *)planted.hdr)[17] = 81; /* struct pal_pkt: dport at byte 34, host order */
		set_established_flows(PAL_FCTX_INPUT);
		plant(PAL_MEMO_ESTABLISHED, NULL);
		tc_in(&a);
		cr_assert_eq(memos(PAL_MEMO_ESTABLISHED, &m), 0,
			     "a packet of a flow of the host's own wrote a memo");
		plant(PAL_MEMO_ESTABLISHED, &planted);
		tc_in(&a); /* the host's flow again: the check before b's found a host flow */
		tc_in(&b); /* no entry for b: its slot is emptied */
		cr_assert_eq(tc_out(&b, eth0(), &est), TC_SHOT, "b rode a memo tc ingress left");
		cr_assert_not(est);
		/* the control: without b's tc ingress run, the planted memo is taken */
		bt_flush_flows(&T);
		plant(PAL_MEMO_ESTABLISHED, &planted);
		if (tc_out(&b, eth0(), &est) == 0 && est)
			break;
	}
	cr_assert_lt(i, ATTEMPTS, "never confirmed within a tick");
}

/* ---- review (s5/review-memo): packets that take a verdict they did not earn ---- */

/* An ICMPv4 error (type 3 code 4) from `from` to `to` quoting `quoted` (its IP header and first
 * 8 bytes of L4), as test_flow.c builds it. */
static struct frame icmp_error4(const char *from, const char *to, const struct pal_packet *quoted)
{
	struct pal_packet icmp = ct_icmp(from, to, 3, 4);
	struct frame f;
	uint8_t inner[256];
	size_t ilen, qlen = 28;

	f.len = bt_build(f.b, sizeof(f.b), &icmp, NULL);
	ilen = bt_build(inner, sizeof(inner), quoted, NULL);
	cr_assert(ilen >= 14 + qlen && f.len + qlen <= sizeof(f.b));
	memcpy(f.b + f.len, inner + 14, qlen);
	f.len += qlen;
	f.b[16] = (uint8_t)((f.len - 14) >> 8);
	f.b[17] = (uint8_t)(f.len - 14);
	return f;
}

/* The ESTABLISHED memo also records "related" (an ICMP error quoting an admitted flow), but the
 * relation is decided by the QUOTED header, which struct pal_pkt (the compare) does not hold.
 * Two errors with the same outer header, one quoting the flow (A), one quoting anything else (B),
 * in one receive batch (netif_receive_skb_list runs tc ingress of every packet of the batch
 * before ip_forward of the first): tc ingress B (slot emptied), tc ingress A (memo: related),
 * tc egress B: B takes A's memo and is forwarded as established, where the forward policy (tcp/80
 * only) drops it. */
Test(bpf_memo, icmp_error_quoting_another_flow_does_not_take_a_related_errors_memo)
{
	struct pal_packet flow = ct_pkt(PAL_PROTO_TCP, PEER, 40000, FAR, 80);
	/* what FAR sent on the flow, and on a connection palisade never admitted */
	struct pal_packet quoted_ok = ct_pkt(PAL_PROTO_TCP, FAR, 80, PEER, 40000);
	struct pal_packet quoted_other = ct_pkt(PAL_PROTO_TCP, FAR, 22, PEER, 5555);
	struct frame a = icmp_error4(PEER, FAR, &quoted_ok), b = icmp_error4(PEER, FAR, &quoted_other);
	struct frame syn = frame(&flow, BT_TCP_SYN), ack = frame(&flow, BT_TCP_ACK);
	bool est;
	int i, rc;

	/* without the interleaving: A is related, B meets policy and is dropped */
	bt_flush_flows(&T);
	cr_assert_eq(tc_out(&syn, eth0(), &est), 0, "the policy admits the flow");
	tc_in(&a);
	cr_assert_eq(tc_out(&a, eth0(), &est), 0);
	cr_assert(est, "A is related to the flow");
	tc_in(&b);
	cr_assert_eq(tc_out(&b, eth0(), &est), TC_SHOT, "B meets the forward policy");
	cr_assert_not(est);

	for (i = 0; i < ATTEMPTS; i++) {
		bt_flush_flows(&T);
		cr_assert_eq(tc_out(&syn, eth0(), &est), 0);
		plant(PAL_MEMO_ESTABLISHED, NULL);
		tc_in(&ack); /* the control's memo, from the same tick as the attack's */
		tc_in(&b); /* one batch: B's tc ingress, A's tc ingress, then B's tc egress */
		tc_in(&a);
		rc = tc_out(&b, eth0(), &est);
		cr_assert_not(est, "attempt %d: an ICMP error quoting another flow took the related "
				   "error's memo (tc egress returned %d)", i, rc);
		cr_assert_eq(rc, TC_SHOT, "attempt %d: B forwarded", i);
		/* the control: the flow's ACK, whose tc ingress ran before A's, is still taken from
		 * its memo (no flow left: only the memo says so), so the attack ran in that tick */
		bt_flush_flows(&T);
		tc_out(&ack, eth0(), &est);
		if (est)
			break;
	}
	cr_assert_lt(i, ATTEMPTS, "never confirmed within a tick");
}

/* A Log rule of the untracked ingress list: without XDP metadata its counter (and event) came
 * from XDP and again from tc ingress, as the deciding rule's still do. With the PRE_IN memo tc
 * ingress counts only the deciding rule: the Log rule's count now depends on whether the memo was
 * found (a slot collision, the next tick, a GRO batch), and differs from the deciding rule's. */
Test(bpf_memo, log_rule_counts_do_not_depend_on_the_pre_in_memo)
{
	static const char *logged =
		CT_YAML_HEP_H CT_YAML_NOTRACK_HEAD
		"  types: [Ingress]\n"
		"  ingress:\n"
		"  - {action: Log, protocol: UDP, destination: {ports: [9999]}}\n"
		"  - {action: Allow, protocol: UDP, destination: {ports: [9999]}}\n";
	struct pal_packet ap = ct_pkt(PAL_PROTO_UDP, PEER, 5000, FAR, 9999);
	struct frame a = frame(&ap, 0);
	struct ctest d;
	struct pal_verdict v;
	struct pal_rule_ctr l0, l1, r0, r1;

	ct_compile(&d, logged);
	cr_assert_eq(d.rc, 0);
	bt_apply(&T, &d.ir, ++generation);
	v = ct_eval(&d, PAL_TRACE_FORWARD, "eth0", "eth1", &ap);
	cr_assert(v.untracked && v.n_logged == 1);
	for (int i = 0; i < 5; i++) {
		l0 = bt_rulectr(&T, v.logged_rule_ids[0]);
		r0 = bt_rulectr(&T, v.rule_id);
		cr_assert_eq(bt_run_xdp(&T, eth0(), a.b, a.len, NULL), XDP_PASS);
		cr_assert(tc_in(&a) & PAL_MARK_UNTRACKED);
		l1 = bt_rulectr(&T, v.logged_rule_ids[0]);
		r1 = bt_rulectr(&T, v.rule_id);
		cr_assert_eq(r1.packets - r0.packets, 2, "the deciding rule: XDP and tc ingress");
		cr_assert_eq(l1.packets - l0.packets, r1.packets - r0.packets,
			     "round %d: the Log rule counted %llu times, the rule it logged %llu", i,
			     (unsigned long long)(l1.packets - l0.packets),
			     (unsigned long long)(r1.packets - r0.packets));
	}
	ct_free(&d);
}
