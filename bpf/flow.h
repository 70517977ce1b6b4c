/* Flow state: palisade's own LRU table of allowed tracked flows, plus the kernel's conntrack read
 * through kfuncs to relate the two tuples of a NAT mapping.
 *
 * When a hook allows a new tracked flow it enters one entry under the flow's canonical key (the
 * two endpoints in a fixed order, abi.h), which both directions find; the entry records which
 * endpoint opened the flow (PAL_FLOW_REVERSED), and each packet's direction is that bit against
 * the order of its own endpoints. tc hooks then also ask conntrack (bpf_skb_ct_lookup) for the
 * connection and enter the canonical key of each of its original and reply tuples that differs
 * from the packet's (under NAT), so the flow is known under every address it shows at any hook:
 * the NodePort before DNAT, the backend after it, and the un-NATed reply. A hook that misses the
 * table but finds a conntrack entry whose tuples are in the table treats the packet as
 * established too (the socket filters cannot call kfuncs; their flows are found this way by the
 * tc hooks). Entries have a lifecycle (state, idle timeout, policy generation): see the
 * "lifecycle" part below and docs/datapath.md "Flow state"; flow_judge.h re-judges stale ones.
 */
#ifndef PAL_BPF_FLOW_H
#define PAL_BPF_FLOW_H

#include "maps.h"
#include "parse.h"
#include "classify.h"
#include "conntrack.h"

/* Every byte of the key is written once (no memset first: the key is built on every packet's
 * flow check, and zeroing 40 bytes before overwriting them cost 20 more stores). */
static __always_inline void pal_flow_key(const struct pal_pkt *p, int reverse,
					 struct pal_flow_key *k)
{
	k->family = p->family;
	k->proto = p->proto;
	k->pad[0] = 0;
	k->pad[1] = 0;
	if (p->is_echo) {
		k->sport = p->icmp_id;
		k->dport = p->icmp_id;
	} else if (p->has_ports) {
		k->sport = reverse ? p->dport : p->sport;
		k->dport = reverse ? p->sport : p->dport;
	} else {
		k->sport = 0;
		k->dport = 0;
	}
	if (reverse) {
		__builtin_memcpy(k->src, p->dst, 16);
		__builtin_memcpy(k->dst, p->src, 16);
	} else {
		__builtin_memcpy(k->src, p->src, 16);
		__builtin_memcpy(k->dst, p->dst, 16);
	}
}

/* The canonical key of packet p's flow (abi.h pal_flow_key); returns 1 when p travels from the
 * key's dst endpoint to its src (its own endpoints sort the other way round). ICMP echo: the
 * identifier is both ports, so the addresses alone decide. */
static __always_inline int pal_flow_swapped(const struct pal_pkt *p)
{
	__u16 sp = p->has_ports && !p->is_echo ? p->sport : 0;
	__u16 dp = p->has_ports && !p->is_echo ? p->dport : 0;
	__u32 a, b;

	if (p->family != 4)
		return pal_flow_endpoint_after(p->src, sp, p->dst, dp);
	/* IPv4: the other three words are zero on both sides, the same order in one compare */
	a = pal_flow_addr_word(p->src, 0);
	b = pal_flow_addr_word(p->dst, 0);
	return a != b ? a > b : sp > dp;
}

static __always_inline int pal_flow_key_of(const struct pal_pkt *p, struct pal_flow_key *k)
{
	int swapped = pal_flow_swapped(p);

	pal_flow_key(p, swapped, k);
	return swapped;
}

/* Does packet p travel in the reply direction of the flow of entry flags `flags`, p's key having
 * been built with swap bit `swapped` (pal_flow_key_of)? */
static __always_inline int pal_flow_is_reply(__u32 flags, int swapped)
{
	return !!(flags & PAL_FLOW_REVERSED) != !!swapped;
}

/* Only packets with a flow identity are tracked: TCP/UDP/SCTP with ports, ICMP echo. Others
 * (non-echo ICMP, other protocols, non-first fragments) are classified every time. */
static __always_inline int pal_flow_trackable(const struct pal_pkt *p)
{
	return p->family && (p->has_ports || p->is_echo);
}

/* Per-CPU, per-hook working space of the flow code: a flow value, keys, and the packet and
 * classifier request a re-judge builds. On the stack they would not fit under the classifier's
 * frames (512 bytes for the whole call chain). Per hook for the same reason as pal_scratch
 * (classify.h). Private to each object: not pinned (no "pal_" prefix). */
/* The admission context a hook writes into every entry of a flow it admits. */
struct pal_flow_adm {
	__u32 ifindex;
	__u32 iif;
	__u32 rule_id;
	__u32 flags; /* PAL_FLOW_FAILSAFE, _ALWAYS, _PREDNAT, _POLICED_* */
	__u32 gen;
	__u8 hook;
	__u8 stage;
	__u8 ctx; /* enum pal_flow_ctx */
	__u8 pad;
};

/* A re-judge's stages: up to two rule lists, then (workload to host) the endpoint-to-host
 * action. */
struct pal_flow_plan {
	__u32 list[2];
	/* admitted by a preDNAT allow: that host endpoint's preDNAT list, run again first on the
	 * tuple as it arrived (tc hooks: conntrack's original tuple); its allow skips list[0] */
	__u32 prednat_list;
	__u8 stage[2];
	__u8 ep_to_host; /* workload to host: --endpoint-to-host-action applies after the lists */
	__u8 pad;
};

struct pal_flow_scratch {
	struct pal_flow v;
	struct pal_flow_key k, k2;
	struct pal_flow_key k_ct; /* a conntrack tuple's key (pal_flow_insert_ct) */
	struct pal_flow_key k_orig; /* an entry's admitted tuple, canonical (pal_flow_of_conn) */
	struct pal_flow_key4 k4;  /* an IPv4 key as pal_flows4 takes it (pal_flow_get/_set) */
	struct pal_pkt q;
	struct pal_pkt q_post; /* q kept while q holds the pre-DNAT tuple (preDNAT re-judge) */
	struct pal_cls_req req;
	struct pal_flow_adm adm;
	struct pal_flow_plan plan;
	/* handed to the re-judge program (flow_judge.h) with the packet's own context */
	struct pal_pkt cur;
	__u32 cur_ifindex;
	__u8 cur_hook;
	__u8 cur_via_ct;
	__u8 k2_swapped; /* k2 is the packet's key swapped (pal_flow_key_of) */
	/* this run's flow check found the packet's own entry a plain hit of a flow the host itself
	 * is an end of (INPUT, LOCAL_OUT): not forwarded, so tc egress has no use for a memo of it
	 * (pal_flow_host_hit, memo.h) */
	__u8 host_hit;
	__u32 cur_slot;
	/* pal_flow_insert: the data length of the SYN a syn_sent entry under the packet's key was
	 * written on, when the packet retransmits that SYN (pal_flow_syn_keeps_key) */
	__u16 syn_len_kept;
	__u8 doff; /* room for a TCP header's data offset (pal_tcp_syn_data), off the stack */
	/* the flow clock's last reading on this CPU and hook, and the jiffies it was taken at
	 * (pal_flow_now_cached) */
	__u64 clock_jiffies;
	__u64 clock_ns;
#ifdef PAL_WITH_CT
	struct pal_ct_view ctv; /* the packet's connection (pal_flow_ct_view) */
#endif
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_HOOK_COUNT + 1); /* + the hand-off slot: which hook tail-called */
	__type(key, __u32);
	__type(value, struct pal_flow_scratch);
} flow_scratch SEC(".maps");
#define PAL_FLOW_HANDOFF PAL_HOOK_COUNT

static __always_inline struct pal_flow_scratch *pal_flow_scratch(__u8 hook)
{
	__u32 k = hook;

	return bpf_map_lookup_elem(&flow_scratch, &k);
}

/* ---- the two tables: pal_flows4 (IPv4, 16-byte key), pal_flows (IPv6) ----
 *
 * Every access goes through these, with the key as struct pal_flow_key and room for the short
 * key (*k4). One call site per map: where two maps reach one helper call the verifier cannot
 * inline the lookup (the LRU hash's inline lookup saves a helper call per packet). */
static __always_inline struct pal_flow *pal_flow_get(const struct pal_flow_key *k,
						     struct pal_flow_key4 *k4)
{
	struct pal_flow *f;

	if (k->family == 4) {
		pal_flow_key4_of(k, k4);
		f = bpf_map_lookup_elem(&pal_flows4, k4);
		/* an empty asm on one branch only: clang would otherwise merge the two calls into
		 * one with the map chosen by a register, the one-site-two-maps case above */
		asm volatile("" : "+r"(f));
		return f;
	}
	return bpf_map_lookup_elem(&pal_flows, k);
}

/* Packet p's entry (p trackable), its key built straight into its table's form, and its swap bit
 * (pal_flow_key_of's order) in s->k2_swapped: for IPv4 only the 16-byte key (s->k4), from the
 * same address words and ports the order is decided on, so the established path builds no 40-byte
 * key and reads each field once; for IPv6 s->k2. Callers that need s->k2 for IPv4 too build it
 * (pal_flow_key). ICMP echo: the identifier as both ports, so the addresses alone order it. */
static __always_inline struct pal_flow *pal_flow_get_pkt(const struct pal_pkt *p,
							 struct pal_flow_scratch *s)
{
	struct pal_flow_key4 *k4 = &s->k4;
	struct pal_flow *f;
	__u16 sp = p->is_echo ? p->icmp_id : p->sport, dp = p->is_echo ? p->icmp_id : p->dport;
	__u32 a, b;
	int swapped;

	if (p->family == 4) {
		/* whole words: through a pointer chosen by `swapped` clang would copy byte by byte */
		__builtin_memcpy(&a, p->src, 4);
		__builtin_memcpy(&b, p->dst, 4);
		/* pal_flow_swapped's order: the other three address words are zero on both sides */
		swapped = a != b ? bpf_ntohl(a) > bpf_ntohl(b) : sp > dp;
		s->k2_swapped = swapped;
		if (swapped) {
			__u32 t = a;

			a = b;
			b = t;
		}
		__builtin_memcpy(k4->src, &a, 4);
		__builtin_memcpy(k4->dst, &b, 4);
		k4->sport = swapped ? dp : sp;
		k4->dport = swapped ? sp : dp;
		k4->proto = p->proto;
		k4->pad[0] = k4->pad[1] = k4->pad[2] = 0;
		f = bpf_map_lookup_elem(&pal_flows4, k4);
		asm volatile("" : "+r"(f)); /* as in pal_flow_get */
		return f;
	}
	s->k2_swapped = pal_flow_swapped(p);
	pal_flow_key(p, s->k2_swapped, &s->k2);
	return bpf_map_lookup_elem(&pal_flows, &s->k2);
}

static __always_inline long pal_flow_set(const struct pal_flow_key *k, struct pal_flow_key4 *k4,
					 const struct pal_flow *v)
{
	long err;

	if (k->family == 4) {
		pal_flow_key4_of(k, k4);
		err = bpf_map_update_elem(&pal_flows4, k4, v, BPF_ANY);
		asm volatile("" : "+r"(err)); /* as in pal_flow_get */
		return err;
	}
	return bpf_map_update_elem(&pal_flows, k, v, BPF_ANY);
}

/* ---- lifecycle -------------------------------------------------------------------------------
 *
 * Every entry carries the flow's state (enum pal_flow_state), its last packet time and the policy
 * generation it was admitted under. An entry past its state's idle timeout, or whose TCP packet
 * is a SYN without ACK (always a new connection), is treated as absent: the packet meets policy
 * and, if allowed, the entry is written afresh. See docs/datapath.md "Flow state". */

#define PAL_FLOW_MISS 0  /* no usable entry: policy decides */
#define PAL_FLOW_HIT 1   /* established */
#define PAL_FLOW_STALE 2 /* admitted under an older policy generation: re-judge first */
#define PAL_FLOW_DROP 3  /* tombstone of a flow a re-judge denied */

#define PAL_FLOW_REFRESH_NS 1000000000ULL

/* The clock of flow state: the coarse monotonic clock (the time of the last tick, a few ms of
 * resolution). Timeouts are whole seconds and entries are refreshed once a second, so a tick is
 * plenty, and it is cheaper than a fine clock read on every established packet (~16 ns in
 * BPF_PROG_TEST_RUN). An entry written with the fine clock (by a test) may be up to a tick ahead
 * of it: pal_flow_idle counts that as not idle rather than wrapping around to "expired". */
static __always_inline __u64 pal_flow_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* The flow clock of an established packet, without the clock helper (~16 ns in
 * BPF_PROG_TEST_RUN) on most packets. The coarse clock moves only when the tick updates the
 * timekeeper, right after it advances jiffies; bpf_jiffies64 is one inlined load on 64-bit JITs
 * (Linux 5.5). So a reading is kept in the hook's scratch with the jiffies it was taken at and
 * reused while jiffies has not moved. A reading taken in the instant between a tick's jiffies
 * update and its timekeeper update is one tick old and is used for that tick: the flow clock
 * then lags the coarse clock by one tick more (4 ms at HZ=250), against timeouts of whole
 * seconds. Only the hook's own program uses its slot and a hook does not interrupt itself on a
 * CPU (tc and INPUT run with bottom halves off; raw OUTPUT has no flow check), so the pair is
 * never torn. */
static __always_inline __u64 pal_flow_now_cached(struct pal_flow_scratch *s)
{
	__u64 j = bpf_jiffies64();

	if (s->clock_jiffies != j) {
		s->clock_ns = pal_flow_now();
		s->clock_jiffies = j;
	}
	return s->clock_ns;
}

static __always_inline __u64 pal_flow_idle(__u64 now, __u64 last_ns)
{
	return now > last_ns ? now - last_ns : 0;
}

#define PAL_FLOW_STAT(field)                                                              \
	do {                                                                              \
		__u32 z_ = 0;                                                             \
		struct pal_flow_stats *s_ = bpf_map_lookup_elem(&pal_flow_stats, &z_);    \
		if (s_)                                                                   \
			s_->field++;                                                      \
	} while (0)

static __always_inline struct pal_flow_cfg *pal_flow_cfg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pal_flow_cfg, &zero);
}

/* The global policy generation (pal_config), read once per packet before any classification, so
 * a flow is never recorded under a generation newer than the lists that judged it. */
static __always_inline __u32 pal_policy_generation(void)
{
	__u32 zero = 0;
	struct pal_config *c = bpf_map_lookup_elem(&pal_config, &zero);

	return c ? c->generation : 0;
}

/* The default idle timeout of each timeout index (enum pal_flow_tmo), seconds. */
static const __u32 pal_flow_tmo_def[PAL_FLOW_TMO_COUNT] = {
	[PAL_FLOW_TMO_TCP_SYN_SENT] = PAL_FLOW_TMO_DEF_TCP_SYN_SENT,
	[PAL_FLOW_TMO_TCP_SYN_RECV] = PAL_FLOW_TMO_DEF_TCP_SYN_RECV,
	[PAL_FLOW_TMO_TCP_ESTABLISHED] = PAL_FLOW_TMO_DEF_TCP_ESTABLISHED,
	[PAL_FLOW_TMO_TCP_FIN_WAIT] = PAL_FLOW_TMO_DEF_TCP_FIN_WAIT,
	[PAL_FLOW_TMO_TCP_TIME_WAIT] = PAL_FLOW_TMO_DEF_TCP_TIME_WAIT,
	[PAL_FLOW_TMO_TCP_CLOSE] = PAL_FLOW_TMO_DEF_TCP_CLOSE,
	[PAL_FLOW_TMO_UDP] = PAL_FLOW_TMO_DEF_UDP,
	[PAL_FLOW_TMO_UDP_REPLIED] = PAL_FLOW_TMO_DEF_UDP_REPLIED,
	[PAL_FLOW_TMO_ICMP] = PAL_FLOW_TMO_DEF_ICMP,
	[PAL_FLOW_TMO_OTHER] = PAL_FLOW_TMO_DEF_OTHER,
};

/* The states with a timeout of their own are numbered as their timeout indexes, one up: the
 * index is the state minus one, no branch per state on every established packet. */
_Static_assert(PAL_FST_TCP_SYN_SENT - 1 == PAL_FLOW_TMO_TCP_SYN_SENT &&
		       PAL_FST_TCP_SYN_RECV - 1 == PAL_FLOW_TMO_TCP_SYN_RECV &&
		       PAL_FST_TCP_ESTABLISHED - 1 == PAL_FLOW_TMO_TCP_ESTABLISHED &&
		       PAL_FST_TCP_FIN_WAIT - 1 == PAL_FLOW_TMO_TCP_FIN_WAIT &&
		       PAL_FST_TCP_TIME_WAIT - 1 == PAL_FLOW_TMO_TCP_TIME_WAIT &&
		       PAL_FST_TCP_CLOSE - 1 == PAL_FLOW_TMO_TCP_CLOSE &&
		       PAL_FST_UDP_UNREPLIED - 1 == PAL_FLOW_TMO_UDP &&
		       PAL_FST_UDP_REPLIED - 1 == PAL_FLOW_TMO_UDP_REPLIED &&
		       PAL_FST_ICMP - 1 == PAL_FLOW_TMO_ICMP &&
		       PAL_FST_ICMP + 1 == PAL_FST_COUNT && PAL_FST_OTHER == 0 &&
		       PAL_FLOW_TMO_OTHER + 1 == PAL_FLOW_TMO_COUNT,
	       "flow states and timeout indexes are numbered alike");

/* The idle timeout of state (configured, else its default); OTHER and any unknown state take
 * OTHER's. */
static __always_inline __u64 pal_flow_timeout_ns(const struct pal_flow_cfg *c, __u8 state)
{
	__u32 i = (__u32)state - 1, s = 0; /* OTHER (0) wraps around to the last index */

	if (i >= PAL_FLOW_TMO_OTHER)
		i = PAL_FLOW_TMO_OTHER;
	if (c)
		s = c->timeout_s[i];
	if (!s)
		s = pal_flow_tmo_def[i];
	return (__u64)s * 1000000000ULL;
}

/* Is an entry of state `state`, last refreshed `idle` ns ago, past its idle timeout? A packet
 * moves last_ns only once a second (PAL_FLOW_REFRESH_NS), so last_ns may be up to a second older
 * than the flow's last packet: that second is slack here, or a busy flow would expire up to a
 * second early (and with a 1 s timeout always). A flow ends between its timeout and a second
 * later after its last packet. */
static __always_inline int pal_flow_expired(const struct pal_flow_cfg *c, __u8 state, __u64 idle)
{
	return idle > pal_flow_timeout_ns(c, state) + PAL_FLOW_REFRESH_NS;
}

static __always_inline int pal_tcp_syn_only(const struct pal_pkt *p)
{
	return p->proto == PAL_IPPROTO_TCP && p->has_ports &&
	       (p->tcp_flags & (PAL_TCP_SYN | PAL_TCP_ACK)) == PAL_TCP_SYN;
}

/* The state of a flow admitted on this packet. A mid-stream TCP packet (no entry, allowed by
 * policy) is picked up as established, as the kernel's conntrack does (nf_conntrack_tcp_loose). */
static __always_inline __u8 pal_flow_initial_state(const struct pal_pkt *p)
{
	if (p->proto == PAL_IPPROTO_TCP) {
		if (p->tcp_flags & PAL_TCP_RST)
			return PAL_FST_TCP_CLOSE;
		if (p->tcp_flags & PAL_TCP_SYN)
			return (p->tcp_flags & PAL_TCP_ACK) ? PAL_FST_TCP_SYN_RECV : PAL_FST_TCP_SYN_SENT;
		if (p->tcp_flags & PAL_TCP_FIN)
			return PAL_FST_TCP_FIN_WAIT;
		return PAL_FST_TCP_ESTABLISHED;
	}
	if (p->proto == PAL_IPPROTO_UDP)
		return PAL_FST_UDP_UNREPLIED;
	if (p->is_echo)
		return PAL_FST_ICMP;
	return PAL_FST_OTHER;
}

/* The state after packet p crossed entry f (reply: p travels in the flow's reply direction).
 * FIN flags live in *flags (one per direction). */
static __always_inline __u8 pal_flow_next_state(__u8 st, __u32 *flags, const struct pal_pkt *p,
						int reply)
{
	__u8 tf = p->tcp_flags;

	if (p->proto != PAL_IPPROTO_TCP)
		return (st == PAL_FST_UDP_UNREPLIED && reply) ? PAL_FST_UDP_REPLIED : st;
	if (st == PAL_FST_TCP_CLOSE || st == PAL_FST_TCP_TIME_WAIT)
		return st;
	if (tf & PAL_TCP_RST)
		return PAL_FST_TCP_CLOSE;
	/* only a SYN+ACK answers a SYN: conntrack ignores any other reply in SYN_SENT (its state
	 * table: sIG, a FIN sIV), and so does palisade. Taking a reply ACK as established let a
	 * forged one, sent while a handshake is in flight, set the reply's sequence mark, after
	 * which the server's refusal (RST, sequence 0) no longer closed the entry: 5 days instead
	 * of 10 s. A reply FIN (its direction without a mark: not checked) moved it to fin_wait,
	 * where the connection then rode for its whole life with a 120 s idle timeout. */
	if (st == PAL_FST_TCP_SYN_SENT && reply)
		return (tf & PAL_TCP_SYN) ? PAL_FST_TCP_SYN_RECV : st;
	if (tf & PAL_TCP_FIN) {
		*flags |= reply ? PAL_FLOW_FIN_REPLY : PAL_FLOW_FIN_ORIG;
		if ((*flags & (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY)) ==
		    (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY))
			return PAL_FST_TCP_TIME_WAIT;
		return PAL_FST_TCP_FIN_WAIT;
	}
	if (st == PAL_FST_TCP_SYN_RECV && !reply && (tf & PAL_TCP_ACK) && !(tf & PAL_TCP_SYN))
		return PAL_FST_TCP_ESTABLISHED;
	return st;
}

/* An ICMP echo request rides only the original direction of its flow and a reply only the
 * reply direction: the identifier is both ports, so without this the peer's own echo request
 * with the same identifier would ride the flow (one entry serves both directions). */
static __always_inline int pal_echo_against_flow(const struct pal_pkt *p, int reply)
{
	int request = p->icmp_type == 8 || p->icmp_type == 128;

	return p->is_echo && request == reply;
}

/* ---- TCP sequence numbers: an RST closes an established flow only from near its sender's ----
 *
 * The kernel's TCP (RFC 5961) takes an RST only with exactly the next expected sequence number
 * (one elsewhere in the window earns a challenge ACK), and conntrack ignores an RST outside the
 * window and keeps ESTABLISHED on one in the window that is not exact (nf_conntrack_proto_tcp.c,
 * tcp_in_window and "RST in window but not exact"). Tracking the exact numbers and windows as
 * conntrack does would write the entry on every packet; palisade keeps per direction a
 * high-water mark of the sequence numbers it carried (struct pal_flow.seq_mark), moved only when
 * a packet is more than PAL_FLOW_SEQ_STEP ahead of it. A real RST (an abort, SO_LINGER 0, the
 * answer of a stack without the socket, whose sequence number is the peer's acknowledgement)
 * carries its sender's next sequence number or the peer's acknowledgement of it: at most
 * PAL_FLOW_SEQ_STEP plus one packet (a GSO/GRO aggregate) plus what is in flight beyond the
 * mark, a little behind it where the peer has not acknowledged everything. So in ESTABLISHED an
 * RST closes the flow when its sequence number is within PAL_FLOW_RST_BELOW behind and
 * PAL_FLOW_RST_ABOVE ahead of its direction's mark; elsewhere it passes (the endpoint's own TCP
 * judges it) and the flow stays established (rst_ignored in pal_flow_stats). A blind RST with a
 * random sequence number closes the flow with a chance of (BELOW + ABOVE) / 2^32, about 1/780.
 * A direction with no mark yet (the flow picked up mid-stream; the reply direction before its
 * first packet) has nothing to check against: an RST closes the flow, as before. A FIN is
 * checked as an RST is, and fin_wait, syn_sent and syn_recv as established
 * (pal_flow_tcp_blind_end); the mark moves only within the RST window (pal_flow_seq_moves). A
 * refused SYN (the peer's RST, its direction without a mark) closes. See docs/datapath.md "Flow
 * state". */
#define PAL_FLOW_SEQ_STEP (1u << 18)                          /* 256 KiB */
#define PAL_FLOW_RST_BELOW (1u << 20)                         /* 1 MiB */
#define PAL_FLOW_RST_ABOVE (PAL_FLOW_SEQ_STEP + (1u << 22))   /* + 4 MiB: aggregate, in flight */

/* reply: 0 or 1 (pal_flow_is_reply); an index without a branch, bounded for the verifier */
static __always_inline __u32 pal_flow_seq_bit(int reply)
{
	_Static_assert(PAL_FLOW_SEQ_REPLY == PAL_FLOW_SEQ_ORIG << 1, "one bit per direction, in order");
	return PAL_FLOW_SEQ_ORIG << (reply & 1);
}

static __always_inline __u32 pal_flow_seq_mark(const struct pal_flow *f, int reply)
{
	return f->seq_mark[reply & 1];
}

/* TCP packet p's sequence number is at most PAL_FLOW_SEQ_STEP ahead of its direction's mark (not
 * behind it): the mark needs no write. Serial-number arithmetic (mod 2^32), as TCP's. A first
 * fragment's word there is its identification (pal_pkt_has_seq): it may pass for current, which
 * only spares it pal_flow_touch's mark update (which takes no fragment) on a packet without SYN,
 * FIN or RST (pal_flow_tcp_quiet): nothing in the entry changes either way. */
static __always_inline int pal_flow_seq_current(const struct pal_flow *f, const struct pal_pkt *p,
						int reply)
{
	return (f->flags & pal_flow_seq_bit(reply)) &&
	       p->tcp_seq - pal_flow_seq_mark(f, reply) <= PAL_FLOW_SEQ_STEP;
}

/* An RST (or FIN, pal_flow_tcp_blind_end) p of an established flow is near its direction's mark,
 * or that direction has none. A fragmented RST (no stack sends one: 40 to 60 bytes) is not known
 * to be near: it closes nothing once there is a mark; nor does a fragmented FIN (Linux's TCP sets
 * DF). */
static __always_inline int pal_flow_rst_in_window(const struct pal_flow *f, const struct pal_pkt *p,
						  int reply)
{
	if (!(f->flags & pal_flow_seq_bit(reply)))
		return 1;
	return pal_pkt_has_seq(p) &&
	       p->tcp_seq - pal_flow_seq_mark(f, reply) + PAL_FLOW_RST_BELOW <=
		       PAL_FLOW_RST_BELOW + PAL_FLOW_RST_ABOVE;
}

/* TCP packet p (not an RST) moves its direction's mark: it is more than PAL_FLOW_SEQ_STEP ahead
 * of it, and at most PAL_FLOW_RST_ABOVE, where an RST would close the flow anyway. Further ahead
 * is no number of the flow's own: the hook saw the direction's earlier packets (a sender
 * retransmits what was lost before it, so its marks follow), and a jump would be a forgery. A
 * forged packet that moved the mark to a number of its choosing (any within 2^31 ahead did)
 * let its sender's RST at that number close the flow: four ACKs a quarter of the number space
 * apart and four RSTs closed any established flow blind. Now the mark moves only where an RST
 * was already as good. */
static __always_inline int pal_flow_seq_moves(const struct pal_flow *f, const struct pal_pkt *p,
					      int reply)
{
	__u32 d = p->tcp_seq - pal_flow_seq_mark(f, reply);

	return d > PAL_FLOW_SEQ_STEP && d <= PAL_FLOW_RST_ABOVE;
}

/* TCP packet p is a FIN or an RST of an established or half-closed (fin_wait) flow, or of one in
 * its handshake (syn_sent, syn_recv), too far from its direction's mark to be its sender's own
 * (pal_flow_rst_in_window): a blind one, which moves nothing. In the handshake a direction has its
 * mark from its SYN or SYN-ACK; the refusal of a SYN (syn_sent: the peer's RST, its direction
 * without a mark yet) still closes whatever its number. A blind RST in the handshake closed the
 * entry, and the connection, going on through its handshake, then rode it in close for its
 * whole life: its first pause longer than the close timeout (10 s) ended it at the policy (a
 * server pushing to a silent client under an egress deny); conntrack checks those RSTs against
 * the window too. A FIN counts as an RST does: a blind FIN moved an established flow to fin_wait (a
 * 120 s idle timeout, and there any RST closed it), so a blind FIN and a blind RST ended a flow
 * as one blind RST did before the marks; conntrack takes a FIN outside the window as INVALID and
 * keeps the state. A real FIN carries its sender's next sequence number, as an abort's RST. In
 * fin_wait the flow may be half-closed for long (shutdown(SHUT_WR), the other side still
 * sending): a blind RST there closed it as in established. */
static __always_inline int pal_flow_tcp_blind_end(const struct pal_flow *f, const struct pal_pkt *p,
						  int reply)
{
	return (p->tcp_flags & (PAL_TCP_FIN | PAL_TCP_RST)) &&
	       (f->state == PAL_FST_TCP_ESTABLISHED || f->state == PAL_FST_TCP_FIN_WAIT ||
		f->state == PAL_FST_TCP_SYN_SENT || f->state == PAL_FST_TCP_SYN_RECV) &&
	       !pal_flow_rst_in_window(f, p, reply);
}

/* TCP packet p is the peer's SYN-ACK right after a SYN of the original direction that found
 * entry f established or half-closed and kept it (PAL_FLOW_SYN_KEPT, pal_flow_syn_keeps): the
 * client reconnected from the same port after losing the old connection without a word (a crash)
 * and the server, without the old socket either, accepted a new connection. conntrack ignores the
 * SYN and re-syncs on the SYN-ACK that acknowledges it ("SYN/ACK acknowledges a SYN that we
 * earlier ignored"); without it the new connection went on under the old sequence marks, its own
 * FINs and RST were taken as blind, and the entry outlived it in established (5 days,
 * bpf_flow/a_reconnect_on_a_kept_entry_learns_the_new_numbers). The record lasts one packet of
 * the flow: a server that still has the old socket answers the SYN with a challenge ACK, which
 * clears it (pal_flow_touch), so a later forged SYN-ACK re-syncs nothing. Only a SYN-ACK that
 * acknowledges the kept SYN (its number plus one plus its data, syn_len; the low 16 bits, as
 * pal_flow_synack_acks) re-syncs: conntrack checks the acknowledgement too (ack_seq ==
 * last_end). One that does not passes and changes nothing (the record stays for the real one).
 * Any SYN-ACK did: an off-path forger racing the server's answer to a real reconnect (or its
 * challenge ACK, the server still holding the old connection) set the reply's mark to its own
 * number, so the server's FIN and RST were then taken as blind (the entry outlived the
 * connection by 5 days in established) and the forger's RST at its number closed the flow when
 * it chose (bpf_flow/a_forged_synack_does_not_resync_a_kept_entry). What is left, as with
 * conntrack (its check is no obstacle to whoever sent the SYN): a blind attacker who forges the
 * SYN and the SYN-ACK back to back, before the server's challenge ACK, then an RST at its own
 * numbers, closes a flow (three packets with the tuple, spoofing both ends; a03ad17 had made it
 * none). */
static __always_inline int pal_flow_syn_answered(const struct pal_flow *f, const struct pal_pkt *p,
						 int reply)
{
	return (f->flags & PAL_FLOW_SYN_KEPT) && reply &&
	       (p->tcp_flags & (PAL_TCP_SYN | PAL_TCP_ACK | PAL_TCP_RST | PAL_TCP_FIN)) ==
		       (PAL_TCP_SYN | PAL_TCP_ACK) &&
	       pal_pkt_has_seq(p) &&
	       (f->state == PAL_FST_TCP_ESTABLISHED || f->state == PAL_FST_TCP_FIN_WAIT);
}

/* SYN-ACK p (the reply direction, entry f in syn_sent) acknowledges the SYN f was entered on
 * (PAL_FLOW_SYN_SEQ): its acknowledgement is the SYN's number plus one, plus the data the SYN
 * carried (syn_len: TCP Fast Open; the server acknowledges all of it or none). Only the low 16
 * bits are compared (pal_pkt.tcp_ack_lo: a 32-bit field grew every hook's stack past its
 * limit): a forger who does not see the SYN guesses right once in 65,536 for a SYN without data,
 * (syn_len + 1) times that with data. conntrack checks the same
 * (tcp_in_window: a SYN-ACK's acknowledgement past the SYN's end is INVALID). Before, a forged
 * SYN-ACK, sent while a handshake was in flight, answered the SYN: it set the reply's sequence
 * mark to the forger's number, the server's own SYN-ACK and data were then too far ahead to move
 * it, so the server's RST and FIN were taken as blind (the entry outlived the connection by up to
 * 5 days) and the forger held an RST number that closed the flow whenever it chose. An entry
 * without the record (written on a SYN-ACK or by an older build) takes any SYN-ACK, as before. */
static __always_inline int pal_flow_ack_covers_syn(const struct pal_flow *f, const struct pal_pkt *p)
{
	__u16 d = (__u16)(p->tcp_ack_lo - (__u16)(f->syn_seq + 1));

	return (p->tcp_flags & PAL_TCP_ACK) && d <= f->syn_len;
}

static __always_inline int pal_flow_synack_acks(const struct pal_flow *f, const struct pal_pkt *p)
{
	if (!(f->flags & PAL_FLOW_SYN_SEQ))
		return 1;
	return pal_flow_ack_covers_syn(f, p);
}

/* An established flow's TCP packet that changes nothing in entry f: no SYN, FIN or RST, and its
 * sequence number within PAL_FLOW_SEQ_STEP of its direction's mark. */
static __always_inline int pal_flow_tcp_quiet(const struct pal_flow *f, const struct pal_pkt *p,
					      int reply)
{
	return f->state == PAL_FST_TCP_ESTABLISHED &&
	       !(p->tcp_flags & (PAL_TCP_FIN | PAL_TCP_RST | PAL_TCP_SYN)) &&
	       pal_flow_seq_current(f, p, reply);
}

/* What entry f means for packet p now (PAL_FLOW_*), p travelling in the flow's reply direction
 * or not; gen is the current policy generation. */
static __always_inline int pal_flow_classify_entry(const struct pal_flow *f, const struct pal_pkt *p,
						   int reply, const struct pal_flow_cfg *c, __u32 gen,
						   __u64 now)
{
	if (pal_tcp_syn_only(p)) {
		PAL_FLOW_STAT(syn_new);
		return PAL_FLOW_MISS;
	}
	if (pal_echo_against_flow(p, reply))
		return PAL_FLOW_MISS;
	if (pal_flow_expired(c, f->state, pal_flow_idle(now, f->last_ns))) {
		PAL_FLOW_STAT(expired);
		return PAL_FLOW_MISS;
	}
	if (f->flags & PAL_FLOW_DENIED)
		return f->generation == gen ? PAL_FLOW_DROP : PAL_FLOW_MISS;
	if (f->generation != gen && !(f->flags & (PAL_FLOW_FAILSAFE | PAL_FLOW_ALWAYS)) &&
	    !(c && (c->flags & PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE)))
		return PAL_FLOW_STALE;
	return PAL_FLOW_HIT;
}

/* The common established packet, decided by a few compares: entry f is of the current generation
 * gen, no tombstone, last refreshed within the second, and packet p changes nothing in it (TCP:
 * an established flow's packet without SYN, FIN or RST that leaves its direction's sequence mark
 * as it is, pal_flow_tcp_quiet; not the first reply of an unreplied UDP flow; no ICMP echo,
 * whose direction pal_flow_classify_entry checks). Then
 * pal_flow_classify_entry answers PAL_FLOW_HIT (no SYN; every state's timeout is at least the
 * one second: whole seconds, 0 meaning the default; current; no tombstone) and pal_flow_touch
 * would change nothing, so the caller skips both and the flow settings' lookup. Anything else
 * takes the full checks. */
static __always_inline int pal_flow_plain_hit(const struct pal_flow *f, const struct pal_pkt *p,
					      int reply, __u32 gen, __u64 now)
{
	/* one mask: an entry with a kept SYN takes the full path, which clears it (pal_flow_touch) */
	if (f->generation != gen || (f->flags & (PAL_FLOW_DENIED | PAL_FLOW_SYN_KEPT)) || p->is_echo ||
	    pal_flow_idle(now, f->last_ns) > PAL_FLOW_REFRESH_NS)
		return 0;
	if (p->proto == PAL_IPPROTO_TCP)
		return pal_flow_tcp_quiet(f, p, reply);
	return !(f->state == PAL_FST_UDP_UNREPLIED && reply);
}

/* Packet p crossed entry f in the flow's reply direction or not, and is part of the flow:
 * advance the state and refresh the entry (one entry serves both directions, so they age and
 * close together). Not inlined: the common case is decided inline in the hook
 * (pal_flow_plain_hit), and an entry that needs no touch is not touched (pal_flow_entry_state). */
static __noinline void pal_flow_touch(struct pal_flow *f, const struct pal_pkt *p, int reply,
				      __u32 gen, __u64 now)
{
	__u32 flags = f->flags, bit = pal_flow_seq_bit(reply);
	__u8 st = pal_flow_next_state(f->state, &flags, p, reply);
	int mark = 0;

	if (p->proto == PAL_IPPROTO_TCP) {
		if (pal_flow_syn_answered(f, p, reply)) {
			if (!pal_flow_ack_covers_syn(f, p)) {
				/* not the answer to the kept SYN (a forgery): it passes, changes
				 * nothing, and the record waits for the real one */
				PAL_FLOW_STAT(rst_ignored);
				return;
			}
			/* a new connection on the kept entry: its numbers from here (the SYN's and
			 * the SYN-ACK's). It stays established, not syn_recv (conntrack's choice):
			 * 60 s there would let a forged SYN and SYN-ACK alone end an idle flow */
			f->seq_mark[0] = f->syn_seq;
			f->seq_mark[1] = p->tcp_seq;
			f->flags = (flags & ~(PAL_FLOW_SYN_KEPT | PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY)) |
				   PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY;
			f->state = PAL_FST_TCP_ESTABLISHED;
			f->generation = gen;
			f->last_ns = now;
			return;
		}
		if (reply && f->state == PAL_FST_TCP_SYN_SENT && (p->tcp_flags & PAL_TCP_SYN) &&
		    !pal_flow_synack_acks(f, p)) {
			/* a SYN-ACK that does not answer the SYN (a forgery): it passes (the client's
			 * TCP answers it with an RST at its acknowledgement, checked as any RST) and
			 * changes nothing, as a blind RST */
			PAL_FLOW_STAT(rst_ignored);
			return;
		}
		if (pal_flow_tcp_blind_end(f, p, reply)) {
			/* a blind RST or FIN: the packet passes, the entry stays as it was (not even
			 * refreshed: it is not the flow's own) */
			PAL_FLOW_STAT(rst_ignored);
			return;
		}
		/* the kept SYN was not answered next: its record goes (conntrack's last_index); the
		 * SYN an entry was written on matters until the entry leaves syn_sent */
		flags &= ~PAL_FLOW_SYN_KEPT;
		if (st != PAL_FST_TCP_SYN_SENT)
			flags &= ~PAL_FLOW_SYN_SEQ;
		/* an RST never moves the mark: only the flow's own packets do; nor does a reply
		 * other than the SYN-ACK in syn_sent (it answers nothing: conntrack ignores it), or
		 * a forged one would set the reply's mark and the refusal (an RST, syn_sent's
		 * reply having no mark) would be checked against it and ignored */
		if (!(p->tcp_flags & PAL_TCP_RST) && pal_pkt_has_seq(p) &&
		    !(reply && st == PAL_FST_TCP_SYN_SENT) &&
		    (!(flags & bit) || pal_flow_seq_moves(f, p, reply))) {
			flags |= bit;
			mark = 1;
		}
	}
	if (!mark && st == f->state && flags == f->flags && f->generation == gen &&
	    pal_flow_idle(now, f->last_ns) <= PAL_FLOW_REFRESH_NS)
		return;
	if (mark)
		f->seq_mark[reply & 1] = p->tcp_seq;
	f->state = st;
	f->flags = flags;
	f->generation = gen;
	f->last_ns = now;
}

/* Writes v (scratch) under k with extra flags for this key only; k4: room for the short key. */
static __always_inline void pal_flow_put(const struct pal_flow_key *k, struct pal_flow_key4 *k4,
					 struct pal_flow *v, __u32 extra_flags)
{
	__u32 flags = v->flags;

	v->flags = flags | extra_flags;
	if (pal_flow_set(k, k4, v))
		PAL_FLOW_STAT(insert_failed);
	else
		PAL_FLOW_STAT(inserted);
	v->flags = flags;
}

/* The bytes of data TCP SYN p carries (TCP Fast Open), past the header's length (its data
 * offset: the options are no data), at most 0xffff. *doff: a byte of room for the offset. The
 * insert hooks see no link-layer
 * padding (tc egress, INPUT). */
static __always_inline __u16 pal_tcp_syn_data(struct __sk_buff *skb, const struct pal_pkt *p,
					      __u8 *doff)
{
	__u32 hdr, data;

	if (bpf_skb_load_bytes(skb, p->l4_off + 12, doff, 1))
		*doff = 15 << 4; /* the parse read 20 bytes: not reached */
	hdr = p->l4_off + ((__u32)(*doff >> 4) << 2);
	data = p->len > hdr ? p->len - hdr : 0;
	return data > 0xffff ? 0xffff : data;
}

static __always_inline void pal_flow_value(struct __sk_buff *skb, const struct pal_pkt *p,
					   const struct pal_flow_adm *a, struct pal_flow *v)
{
	__builtin_memset(v, 0, sizeof(*v));
	v->created_ns = pal_flow_now();
	v->last_ns = v->created_ns;
	v->ifindex = a->ifindex;
	v->iif = a->iif;
	v->flags = a->flags;
	v->rule_id = a->rule_id;
	v->generation = a->gen;
	v->hook = a->hook;
	v->stage = a->stage;
	v->ctx = a->ctx;
	v->state = pal_flow_initial_state(p);
	/* the opener travels in the original direction: its sequence number is that one's first
	 * mark (not an RST's: only the flow's own packets set marks) */
	if (p->proto == PAL_IPPROTO_TCP && !(p->tcp_flags & PAL_TCP_RST) && pal_pkt_has_seq(p)) {
		v->seq_mark[0] = p->tcp_seq;
		v->flags |= PAL_FLOW_SEQ_ORIG;
		if (pal_tcp_syn_only(p)) {
			/* the SYN-ACK must acknowledge it (pal_flow_synack_acks): its number and the
			 * data it carries (TCP Fast Open) */
			__u8 doff;

			v->syn_seq = p->tcp_seq;
			v->syn_len = pal_tcp_syn_data(skb, p, &doff);
			v->flags |= PAL_FLOW_SYN_SEQ;
		}
	}
	pal_flow_key(p, 0, &v->orig);
	v->orig_icmp_type = p->icmp_type;
}

/* Does SYN p, which policy allowed (it never rides an entry, pal_flow_classify_entry), find
 * under its key (s->k) a live established or half-closed flow that it must leave as it is?
 * conntrack ignores a SYN in those states (its state table: sIG) and the endpoint answers one
 * with a challenge ACK, the connection going on; entered afresh (syn_sent, or close for a SYN
 * with RST) the entry took any RST, so a blind SYN and RST, or one blind SYN+RST, closed the flow
 * around the RST's sequence check ("RST and sequence numbers" in docs/datapath.md). A stale
 * entry is kept too (its next packet re-judges it as any other): an idle flow stays stale from a
 * policy change until its next packet, however long. A tombstone and the closing states are
 * entered afresh: a port reused after a close is a new connection. */
static __always_inline int pal_flow_syn_keeps_key(struct __sk_buff *skb, const struct pal_pkt *p,
						  const struct pal_flow_key *k,
						  struct pal_flow_scratch *s, int swapped,
						  __u16 *syn_len_kept)
{
	struct pal_flow_key4 *k4 = &s->k4;
	__u16 len;
	struct pal_flow *f;

	if (!pal_tcp_syn_only(p))
		return 0;
	f = pal_flow_get(k, k4);
	if (!f || (f->flags & PAL_FLOW_DENIED))
		return 0;
	/* a retransmission of the SYN a syn_sent or syn_recv entry was written on (same direction
	 * and number; syn_seq and syn_len stay in the entry past syn_sent, only PAL_FLOW_SYN_SEQ
	 * goes): Linux retransmits a Fast Open SYN-data without the data, and the server, which
	 * took the first, acknowledges the data in every SYN-ACK (tcp_check_req resends its
	 * SYN-ACK with rcv_nxt past the data). The entry is written afresh, but with the longer of
	 * the two SYNs' data (conntrack's td_end only grows on a SYN retransmit; in SYN_RECV it
	 * ignores the SYN). An entry entered on another packet has syn_len 0. */
	if (syn_len_kept &&
	    (f->state == PAL_FST_TCP_SYN_SENT || f->state == PAL_FST_TCP_SYN_RECV) &&
	    pal_pkt_has_seq(p) && f->syn_seq == p->tcp_seq && !pal_flow_is_reply(f->flags, swapped))
		*syn_len_kept = f->syn_len;
	if (f->state != PAL_FST_TCP_ESTABLISHED && f->state != PAL_FST_TCP_FIN_WAIT)
		return 0;
	if (pal_flow_expired(pal_flow_cfg_get(), f->state,
			     pal_flow_idle(pal_flow_now(), f->last_ns)))
		return 0;
	/* a plain SYN of the original direction (the client reconnecting from its port): its
	 * number and data length, for the SYN-ACK that may answer it (pal_flow_syn_answered checks
	 * its acknowledgement, as conntrack's re-sync does); anything else clears an earlier
	 * record. A retransmission of the SYN last recorded (its number; the record may be gone,
	 * the SYN-ACK having re-synced the entry on its way to a client that never got it) keeps
	 * the longer data length: a Fast Open SYN is retransmitted without its data, and the
	 * server's SYN-ACKs acknowledge the data it took (pal_flow_syn_keeps_key's syn_sent case). */
	if (!(p->tcp_flags & (PAL_TCP_RST | PAL_TCP_FIN)) && pal_pkt_has_seq(p) &&
	    !pal_flow_is_reply(f->flags, swapped)) {
		len = pal_tcp_syn_data(skb, p, &s->doff);
		if (f->syn_seq == p->tcp_seq && f->syn_len > len)
			len = f->syn_len;
		f->syn_seq = p->tcp_seq;
		f->syn_len = len;
		f->flags |= PAL_FLOW_SYN_KEPT;
	} else if (f->flags & PAL_FLOW_SYN_KEPT) {
		f->flags &= ~PAL_FLOW_SYN_KEPT;
	}
	return 1;
}

static __always_inline int pal_flow_syn_keeps(struct __sk_buff *skb, const struct pal_pkt *p,
					      struct pal_flow_scratch *s, int swapped)
{
	return pal_flow_syn_keeps_key(skb, p, &s->k, s, swapped, &s->syn_len_kept);
}

/* Enters the flow packet p opens, under its canonical key (left in s->k). Not inlined: the
 * value is large. Returns 1 when it entered nothing because a SYN found a live flow there
 * (pal_flow_syn_keeps), else 0. */
static __noinline int pal_flow_insert(struct __sk_buff *skb, const struct pal_pkt *p,
				       const struct pal_flow_adm *a)
{
	struct pal_flow_scratch *s = pal_flow_scratch(a->hook);
	int swapped;

	if (!s) {
		PAL_FLOW_STAT(insert_failed);
		return 0;
	}
	if (!pal_flow_trackable(p))
		return 0;
	/* only an echo request opens an echo flow (conntrack's icmp_new): an echo reply admitted by
	 * policy entered as the opener would let its sender's echo requests ride the flow */
	if (p->is_echo && p->icmp_type != 8 && p->icmp_type != 128)
		return 0;
	swapped = pal_flow_key_of(p, &s->k);
	s->syn_len_kept = 0;
	if (pal_flow_syn_keeps(skb, p, s, swapped))
		return 1;
	pal_flow_value(skb, p, a, &s->v);
	if ((s->v.flags & PAL_FLOW_SYN_SEQ) && s->syn_len_kept > s->v.syn_len)
		s->v.syn_len = s->syn_len_kept;
	pal_flow_put(&s->k, &s->k4, &s->v, swapped ? PAL_FLOW_REVERSED : 0);
	return 0;
}

/* Marks the flow's entry (both directions) as a tombstone of generation gen: every later packet
 * of it drops (PAL_FLOW_DROP) and refreshes it, so it lasts as long as its state's idle timeout
 * after the last packet (a server retransmitting to a cut client keeps hitting it instead of
 * being picked up as a new flow of its own), until a SYN opens a new flow that policy allows. */
static __noinline void pal_flow_bury(struct pal_flow *f, __u32 gen)
{
	__u64 now = pal_flow_now();

	f->flags |= PAL_FLOW_DENIED;
	f->generation = gen;
	f->last_ns = now;
}

static __always_inline int pal_addr_eq(const __u8 *a, const __u8 *b)
{
	__u32 x[4], y[4];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* ---- ICMP errors related to a flow ---------------------------------------------------------- */

#define PAL_ECHO_REQUEST 1
#define PAL_ECHO_REPLY 2

/* Whether ICMP type t of the family is an echo request or reply (PAL_ECHO_*), else 0. */
static __always_inline int pal_quoted_echo(__u8 family, __u8 t)
{
	if (t == (family == 4 ? 8 : 128))
		return PAL_ECHO_REQUEST;
	if (t == (family == 4 ? 0 : 129))
		return PAL_ECHO_REPLY;
	return 0;
}

/* An ICMP error (destination unreachable, e.g. "fragmentation needed" for path MTU discovery; time
 * exceeded; parameter problem) quotes the header of the packet it answers. When that quoted packet
 * belongs to a flow palisade allowed (TCP, UDP, SCTP, ICMP echo), the error is part of the flow
 * (conntrack's RELATED), not a new packet for policy. Not inlined: its stack frame stays out of
 * the callers'. Global (checked once, not once per caller state: Linux 6.1's limit), so p and c
 * may be NULL to the verifier. */
__noinline int pal_flow_related(struct __sk_buff *skb, const struct pal_pkt *p,
				const struct pal_flow_cfg *c, __u32 gen)
{
	struct pal_flow_key k = {};
	struct pal_flow_key4 k4;
	struct pal_flow *f;
	__u32 off, ihl;
	int echo = 0;
	__u8 h[20]; /* the quoted IPv4 header, or IPv6's first 8 bytes, then the ports: this
		     * subprogram's stack sits on tc egress's deepest call chain (512 bytes) */

	if (!p || !p->is_icmp || p->frag == PAL_FRAG_LATER)
		return 0;
	off = p->l4_off + 8;
	if (p->family == 4 && p->proto == PAL_IPPROTO_ICMP &&
	    (p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12)) {
		if (bpf_skb_load_bytes(skb, off, h, 20) || (h[0] >> 4) != 4)
			return 0;
		/* a later fragment quoted: payload follows, no ports (conntrack: INVALID) */
		if ((h[6] & 0x1f) || h[7])
			return 0;
		ihl = (h[0] & 0xf) * 4;
		if (ihl < 20)
			return 0;
		k.family = 4;
		k.proto = h[9];
		__builtin_memcpy(k.src, &h[12], 4);
		__builtin_memcpy(k.dst, &h[16], 4);
		off += ihl;
	} else if (p->family == 6 && p->proto == PAL_IPPROTO_ICMPV6 && p->icmp_type >= 1 &&
		   p->icmp_type <= 4) {
		if (bpf_skb_load_bytes(skb, off, h, 8) || (h[0] >> 4) != 6 ||
		    bpf_skb_load_bytes(skb, off + 8, &k, 32)) /* the key starts with src, then dst */
			return 0;
		k.family = 6;
		k.proto = h[6]; /* a quoted packet with extension headers is not related here */
		off += 40;
	} else {
		return 0;
	}
	/* The error goes back to the quoted packet's sender (nf_conntrack_inet_error: the outer
	 * destination must be the quoted source); an error quoting someone else's flow is not
	 * related to it. Unused address bytes are zero on both sides. */
	if (!pal_addr_eq(p->dst, k.src))
		return 0;
	if (k.proto == PAL_IPPROTO_TCP || k.proto == PAL_IPPROTO_UDP || k.proto == PAL_IPPROTO_SCTP) {
		if (bpf_skb_load_bytes(skb, off, h, 4))
			return 0;
		k.sport = ((__u16)h[0] << 8) | h[1];
		k.dport = ((__u16)h[2] << 8) | h[3];
	} else if (k.proto == (k.family == 4 ? PAL_IPPROTO_ICMP : PAL_IPPROTO_ICMPV6)) {
		/* an echo (a ping that met an unreachable host, a traceroute by ICMP): its flow is
		 * keyed by the identifier, as both ports (pal_flow_key) */
		if (bpf_skb_load_bytes(skb, off, h, 8))
			return 0;
		echo = pal_quoted_echo(k.family, h[0]);
		if (!echo)
			return 0;
		k.sport = k.dport = ((__u16)h[4] << 8) | h[5];
	} else {
		return 0;
	}
	pal_flow_key_canonical(&k); /* either direction of the flow may be quoted */
	f = pal_flow_get(&k, &k4);
	if (!f || f->flags & PAL_FLOW_DENIED)
		return 0;
	/* a request goes from the flow's originator, a reply from its peer (as a packet of the
	 * echo itself must, pal_echo_against_flow): the receiver sent the quoted one */
	if (echo && !pal_addr_eq(p->dst, echo == PAL_ECHO_REQUEST ? f->orig.src : f->orig.dst))
		return 0;
	/* a stale or idle flow is not vouched for: the error meets policy */
	if (pal_flow_expired(c, f->state, pal_flow_idle(pal_flow_now(), f->last_ns)))
		return 0;
	return f->generation == gen || (f->flags & (PAL_FLOW_FAILSAFE | PAL_FLOW_ALWAYS)) ||
	       (c && (c->flags & PAL_FLOW_CFG_KEEP_ON_POLICY_CHANGE));
}

/* ---- conntrack (tc programs only) ------------------------------------------------------------ */

#ifdef PAL_WITH_CT
extern int bpf_ct_change_timeout(struct nf_conn *nfct, __u32 timeout) __ksym;

/* The packet's connection as the hook sees it (conntrack.h struct pal_ct_view): tc egress looks
 * it up once per run and packet tuple (tc_egress forgets the view first, pal_flow_ct_view_forget),
 * tc ingress asks once per run anyway. */
static __always_inline const struct pal_ct_view *pal_flow_ct_view(struct __sk_buff *skb,
								  const struct pal_pkt *p,
								  struct pal_flow_scratch *s,
								  __u8 hook)
{
	int egress = hook == PAL_HOOK_TC_EGRESS;

	if (!egress || !pal_ct_view_is_for(&s->ctv, p, egress))
		pal_ct_view_fill(skb, p, egress, &s->ctv);
	return &s->ctv;
}

/* A new run of the hook: a view of an earlier packet's connection is not this one's (conntrack
 * may have created, NATed or removed it since). */
static __always_inline void pal_flow_ct_view_forget(__u8 hook)
{
	struct pal_flow_scratch *s = pal_flow_scratch(hook);

	if (s)
		s->ctv.valid = 0;
}

/* The source before SNAT of a packet leaving by tc egress (conntrack.h), from the hook's view.
 * Global (checked once, not once per caller state: Linux 6.1's limit), so p may be NULL to the
 * verifier. */
__noinline int pal_flow_pre_snat_source(struct __sk_buff *skb, struct pal_pkt *p)
{
	struct pal_flow_scratch *s = pal_flow_scratch(PAL_HOOK_TC_EGRESS);

	/* cannot happen (an array); an error, not a lookup of its own: that one's frame on top
	 * of tc egress's would pass the kernel's 512-byte stack on kernels that round frames to
	 * 32 bytes (Linux 6.1) */
	if (!s || !p)
		return -1;
	return pal_ct_view_pre_snat_source(pal_flow_ct_view(skb, p, s, PAL_HOOK_TC_EGRESS), p);
}

static __noinline int pal_flow_find_ct(struct __sk_buff *skb, const struct pal_pkt *p,
				       struct pal_flow_scratch *s, __u8 hook)
{
	const struct pal_ct_view *v = pal_flow_ct_view(skb, p, s, hook); /* an error: meets policy */
	int known = 0, d;

	if (!v->found)
		return 0;
	for (d = 0; d < 2 && !known; d++) {
		s->k2 = v->tuple[d];
		/* the packet travels as tuple d when pdir == d, against it otherwise: its swap bit
		 * against the key is the tuple's, flipped then */
		s->k2_swapped = pal_flow_key_canonical(&s->k2) ^ (v->pdir != d);
		known = pal_flow_get(&s->k2, &s->k4) != 0;
	}
	return known;
}

/* Enters the packet's own tuple with the context of entry f (found through conntrack under
 * s->k2), so the next packet hits the table directly. The new key's REVERSED bit keeps the
 * packet's direction in the flow: reply here exactly when it was against f. */
static __noinline void pal_flow_adopt_ct(const struct pal_pkt *p, const struct pal_flow *f,
					 struct pal_flow_scratch *s)
{
	int reply = pal_flow_is_reply(f->flags, s->k2_swapped), swapped;

	s->v = *f;
	/* the tuple learns its own sequence marks from its next packets (as a flow picked up
	 * mid-stream): f's tuple may not have seen the data (a mark the data is beyond the RST
	 * window of never moves, pal_flow_seq_moves, and the tuple's real RST would be ignored) */
	s->v.flags &= ~(PAL_FLOW_REVERSED | PAL_FLOW_SEQ_ORIG | PAL_FLOW_SEQ_REPLY);
	swapped = pal_flow_key_of(p, &s->k2);
	s->k2_swapped = swapped;
	pal_flow_put(&s->k2, &s->k4, &s->v,
		     PAL_FLOW_NAT | (reply != swapped ? PAL_FLOW_REVERSED : 0));
}

static __always_inline int pal_flow_key_eq(const struct pal_flow_key *a,
					   const struct pal_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;

	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* Entry f, found through conntrack (pal_flow_find_ct, the view in s->ctv), is this connection's
 * flow: the tuple it was admitted on (f->orig, as the admitting hook classified it: the
 * connection's original tuple, or its reply tuple reversed, after NAT) is one of the connection's
 * two tuples. A NodePort entry's key is the connection's original tuple, which a new connection
 * shares once the old one's conntrack entry is gone (kube-proxy flushes a service's UDP entries
 * when its endpoints change): the new one, DNATed to another backend, found the old flow's entry
 * and was established at a backend whose policy was never asked
 * (bpf_nat/a_nodeport_flow_vouches_for_no_new_backend). Keys in scratch (s->k_orig, s->k_ct),
 * and a global function (its own small frame, called after pal_flow_find_ct's chain returned):
 * inlined, it grew pal_flow_lookup_entry_ct's frame past the tc hooks' 512-byte stack on Linux
 * 6.1. f and s may be NULL to the verifier. */
#ifdef PAL_WITH_CT
__noinline int pal_flow_of_conn(const struct pal_flow *f, struct pal_flow_scratch *s)
{
	if (!f || !s)
		return 0;
	s->k_orig = f->orig;
	pal_flow_key_canonical(&s->k_orig);
	s->k_ct = s->ctv.tuple[0];
	pal_flow_key_canonical(&s->k_ct);
	if (pal_flow_key_eq(&s->k_orig, &s->k_ct))
		return 1;
	s->k_ct = s->ctv.tuple[1];
	pal_flow_key_canonical(&s->k_ct);
	return pal_flow_key_eq(&s->k_orig, &s->k_ct);
}
#endif

/* After an allow: also enter the canonical key of each conntrack tuple (NAT) that is not the
 * packet's own (without NAT both are: one entry in all), with the same lifecycle and admission
 * context. Not inlined: keeps the callers' stack frames small enough for the classifier's frames
 * on top. Global, as pal_ct_view_fill (one check, not one per call site: tc egress has four), so
 * p and a may be NULL to the verifier. Returns 0. */
__noinline int pal_flow_insert_ct(struct __sk_buff *skb, const struct pal_pkt *p,
				  const struct pal_flow_adm *a)
{
	const struct pal_ct_view *v;
	struct pal_flow_scratch *s;
	int d, swapped;

	if (!p || !a)
		return 0;
	s = pal_flow_scratch(a->hook);
	if (!s || !pal_flow_trackable(p)) {
		pal_flow_insert(skb, p, a);
		return 0;
	}
	v = pal_flow_ct_view(skb, p, s, a->hook); /* an error: NAT tuples unknown (fail closed) */
	/* A SYN that finds the flow live under another tuple of its connection keeps it too: the
	 * hook that enters a NodePort's flow (the backend's tc egress) sees the backend tuple,
	 * whose entry never sees the SYN-ACK (it stays in syn_sent), while the NodePort tuple's is
	 * established; entered afresh under both, the flow took a blind RST at the SYN's number
	 * (tests/e2e/test_flow_blind_syn_nodeport.sh). Only within a connection conntrack has seen
	 * answered (it ignores a SYN there): a SYN that opened a new one (the old one gone, maybe
	 * to another backend) is a new flow, entered with its own admission context. */
	if (v->found && (v->status & IPS_SEEN_REPLY) && pal_tcp_syn_only(p)) {
		for (d = 0; d < 2; d++) {
			s->k_ct = v->tuple[d];
			swapped = pal_flow_key_canonical(&s->k_ct) ^ (v->pdir != d);
			if (pal_flow_syn_keeps_key(skb, p, &s->k_ct, s, swapped, 0))
				return 0;
		}
	}
	if (pal_flow_insert(skb, p, a)) /* a live flow kept: so are its NAT tuples' entries */
		return 0;
	if (!v->found)
		return 0;
	for (d = 0; d < 2; d++) {
		/* the reply tuple travels from the flow's reply side: REVERSED when it is not swapped */
		s->k_ct = v->tuple[d];
		swapped = pal_flow_key_canonical(&s->k_ct);
		if (pal_flow_key_eq(&s->k_ct, &s->k))
			continue;
		pal_flow_put(&s->k_ct, &s->k4, &s->v,
			     PAL_FLOW_NAT | ((swapped ^ (v->pdir != d)) ? PAL_FLOW_REVERSED : 0));
	}
	return 0;
}

/* A denied flow leaves the kernel's conntrack too: its entry's timeout is set to zero, so it is
 * gone from `conntrack -L` and the next packet starts a new conntrack entry (which meets policy
 * here again). bpf_ct_change_timeout exists since 6.0 for tc and XDP programs. Global (checked
 * once: Linux 6.1's limit), so p may be NULL to the verifier; tc programs only (kfuncs). Returns
 * 0. */
__noinline int pal_flow_ct_kill(struct __sk_buff *skb, const struct pal_pkt *p)
{
	struct nf_conn *ct;
	int err;

	if (!p)
		return 0;
	ct = pal_ct_lookup(skb, p, &err);
	if (!ct)
		return 0;
	bpf_ct_change_timeout(ct, 0);
	bpf_ct_release(ct);
	return 0;
}
#endif

#endif
