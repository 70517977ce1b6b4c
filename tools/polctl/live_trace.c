/* `polctl trace` on the live datapath.
 *
 * HOW. The pinned programs themselves decide: live_hooks.c runs, with BPF_PROG_TEST_RUN in trace
 * mode, the program of every hook the packet crosses, and they record, per rule list they run,
 * what their classifier decided (rule id, entry, Log rules hit), changing nothing: no counters,
 * events, flow or conntrack entries (bpf/trace.h). The established check is skipped: the trace
 * answers for a new flow, like the offline one.
 *
 * The answer is written by the stage walk the offline trace uses (agent/core/stage_walk.c), so both
 * have one shape and can be compared field by field; its list op takes each list's decision from
 * the programs' records, never from a userspace classifier (a list the walk asks for that the
 * programs did not run is reported as an internal error, not guessed). Failsafe ports and the
 * anti-spoofing check are single lookups in the pinned tries. The names of the deciding tier,
 * policy and rule come from the metadata the agent wrote for that generation (meta.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"
#include "stage_walk.h"

/* One end of the packet's path: an interface and its pal_ifaces entry. */
struct side {
	uint32_t ifindex;
	bool policed;
	struct pal_iface v;
	const char *name; /* endpoint name from the metadata, else the interface name */
	char ifname[IF_NAMESIZE + 8];
};

struct walk {
	const struct polctl_live *lv;
	struct live_pkt pre, post; /* before and after DNAT */
	bool has_dnat;
	struct live_ran ran; /* what the programs decided */
};

/* The slot of pal_iface.lists the programs run for a list and direction. */
static enum pal_slot slot_of(enum pal_walk_list list, enum pal_dir dir)
{
	bool in = dir == PAL_DIR_INGRESS;

	switch (list) {
	case PAL_WALK_UNTRACKED: return in ? PAL_SLOT_UNTRACKED_IN : PAL_SLOT_UNTRACKED_OUT;
	case PAL_WALK_PREDNAT: return PAL_SLOT_PREDNAT_IN;
	case PAL_WALK_FORWARD: return in ? PAL_SLOT_FORWARD_IN : PAL_SLOT_FORWARD_OUT;
	default: return in ? PAL_SLOT_NORMAL_IN : PAL_SLOT_NORMAL_OUT;
	}
}

/* The programs' record of list lid on the packet's view pre_dnat (either view without DNAT). */
static const struct pal_trace_list *ran_find(const struct walk *w, uint32_t lid, bool pre_dnat)
{
	for (size_t i = 0; i < w->ran.n; i++)
		if (w->ran.lists[i].l.list_id == lid &&
		    (!w->has_dnat || w->ran.lists[i].pre_dnat == pre_dnat))
			return &w->ran.lists[i].l;
	return NULL;
}

/* The deciding entry of a recorded verdict (its tier index, for the names, is not recorded). */
static struct pal_entry ran_entry(const struct polctl_live *lv, const struct pal_trace_list *r)
{
	struct pal_entry e = { .action = r->action, .kind = r->kind, .rule_id = r->rule_id };
	struct pal_list l;
	uint32_t idx;

	if (bpf_map_lookup_elem(lv->fd[LM_LISTS], &r->list_id, &l) == 0) {
		idx = l.entry_base + r->entry;
		bpf_map_lookup_elem(lv->fd[LM_ENTRIES], &idx, &e);
	}
	return e;
}

/* A list without a verdict entry: it fell through, or the programs denied for a reason of their
 * own, or they did not run it. */
static void ran_no_verdict(const struct pal_trace_list *r, enum pal_walk_list list,
			   struct pal_walk_result *d)
{
	if (!r) { /* the walk and the programs disagree: say so rather than guess */
		d->outcome = PAL_ACTION_DENY;
		d->tier = "(internal error: the datapath did not run this list)";
		return;
	}
	if (r->status == PAL_CLS_STATUS_NOMATCH) {
		if (list == PAL_WALK_NORMAL) { /* cannot happen: the list ends in a default deny */
			d->outcome = PAL_ACTION_DENY;
			d->tier = "(internal error: list without an end)";
		}
		return;
	}
	d->outcome = PAL_ACTION_DENY; /* the programs drop these */
	d->tier = r->status == PAL_CLS_STATUS_OVERFLOW ? "(classifier overflow)" :
		  r->status == PAL_CLS_STATUS_BUSY     ? "(classifier busy)" :
							 "(internal error: tables inconsistent)";
}

/* The deciding rule's policy (or profile) and index, from its metadata (NULL: none pinned). */
static void name_rule(const json_t *rule, struct pal_walk_result *d)
{
	d->policy = json_string_value(json_object_get(rule, "policy"));
	d->rule = rule ? (int)json_integer_value(json_object_get(rule, "index")) : -1;
	if (!d->policy)
		d->policy = "(no metadata)";
}

/* The stage walk's list op: the side's list in that slot, as the programs' classifier decided it
 * in the trace runs. A normal list holds tiers, profiles and the default deny in one list; the
 * deciding entry's kind says which of them decided. */
static void live_run_list(void *ctx, const struct pal_walk_side *ws, enum pal_walk_list list,
			  enum pal_dir dir, const struct pal_packet *pkt, bool pre_dnat,
			  struct pal_verdict *v, struct pal_walk_result *d)
{
	struct walk *w = ctx;
	const struct side *s = ws->ep;
	enum pal_slot slot = slot_of(list, dir);
	uint32_t lid = s->v.lists[slot];
	const struct pal_trace_list *r;
	struct pal_entry e;
	json_t *rule;

	(void)pkt; /* the programs saw w->pre and w->post */
	d->present = lid != 0;
	if (!lid)
		return;
	r = ran_find(w, lid, pre_dnat);
	for (uint32_t i = 0; r && i < r->n_logged && i < PAL_MAX_LOGS; i++)
		pal_verdict_log(v, r->logged[i]);
	if (!r || r->status != PAL_CLS_STATUS_VERDICT) {
		ran_no_verdict(r, list, d);
		return;
	}
	e = ran_entry(w->lv, r);
	d->outcome = r->action == PAL_ACT_ALLOW ? PAL_ACTION_ALLOW : PAL_ACTION_DENY;
	d->rule_id = r->rule_id;
	rule = live_meta_rule(w->lv, r->rule_id);
	switch (r->kind) {
	case PAL_KIND_RULE:
		d->tier = live_meta_tier(w->lv, s->v.endpoint_id, s->v.flags, slot, e.tier);
		name_rule(rule, d);
		break;
	case PAL_KIND_PROFILE_RULE:
		d->at = PAL_WALK_AT_PROFILE;
		name_rule(rule, d);
		break;
	case PAL_KIND_TIER_END:
		d->tier = live_meta_tier(w->lv, s->v.endpoint_id, s->v.flags, slot, e.tier);
		if (!d->tier)
			d->tier = "(no metadata)";
		break;
	default: /* PAL_KIND_DEFAULT */
		d->at = PAL_WALK_AT_DEFAULT;
		break;
	}
}

/* The stage walk's failsafe op: the pinned failsafe trie (bpf/stages.h pal_hep_pre_in,
 * sf_out.bpf.c), keyed on the packet as it arrived. */
static bool live_failsafe(void *ctx, enum pal_dir dir, const struct pal_packet *pkt, char *what,
			  size_t len)
{
	struct walk *w = ctx;
	const struct live_pkt *p = &w->pre;
	struct pal_failsafe_key k;
	uint32_t val;
	char pb[8];

	(void)pkt;
	memset(&k, 0, sizeof(k));
	k.dir = dir == PAL_DIR_INGRESS ? PAL_FAILSAFE_IN : PAL_FAILSAFE_OUT;
	k.proto = p->proto;
	k.port = p->dport;
	k.family = p->family;
	memcpy(k.addr, dir == PAL_DIR_INGRESS ? p->src : p->dst, 16);
	k.prefixlen = PAL_FAILSAFE_FIXED_BITS + (p->family == 4 ? 32 : 128);
	if (!p->has_ports || (p->proto != PAL_PROTO_TCP && p->proto != PAL_PROTO_UDP) ||
	    bpf_map_lookup_elem(w->lv->fd[LM_FAILSAFE], &k, &val))
		return false;
	/* the trie lookup does not say which prefix matched */
	snprintf(what, len, "%s:%u", pal_proto_name(p->proto, pb, sizeof(pb)), p->dport);
	return true;
}

/* The stage walk's anti-spoofing op: the pinned per-interface source trie (bpf/srccheck.h). */
static bool live_source_ok(void *ctx, const struct pal_walk_side *ws, const struct pal_packet *pkt)
{
	const struct walk *w = ctx;
	const struct side *s = ws->ep;
	struct pal_src_key k = { .ifindex = s->ifindex, .family = w->pre.family };
	uint32_t val;

	memcpy(k.addr, w->pre.src, 16);
	k.prefixlen = PAL_SRC_FIXED_BITS + (w->pre.family == 4 ? 32 : 128);
	(void)pkt;
	return bpf_map_lookup_elem(w->lv->fd[LM_SRCADDRS], &k, &val) == 0;
}

/* The stage walk side of an opened interface. The programs' hooks (XDP/tc ingress: failsafe-in,
 * untracked, preDNAT; filter INPUT and tc egress: normal policy after DNAT; raw OUTPUT:
 * failsafe-out and untracked egress; tc egress of the outgoing interface: forward policy of both
 * sides or the workloads' policy) run the stages in the order of stage_walk.c. */
static struct pal_walk_side walk_side(const struct side *s)
{
	return (struct pal_walk_side){ .ep = s->policed ? s : NULL,
				       .workload = (s->v.flags & PAL_IF_WORKLOAD) != 0,
				       .name = s->name };
}

static int side_open(const struct polctl_globals *g, const struct polctl_live *lv,
		     const char *ifname, struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->ifindex = if_nametoindex(ifname);
	if (!s->ifindex)
		return polctl_fail(g, "trace: no interface \"%s\" in this network namespace (run "
				      "polctl in the agent's namespace, e.g. nsenter --net)", ifname);
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->policed = live_iface_read(lv, s->ifindex, &s->v) == 0;
	s->name = s->ifname;
	if (s->policed) {
		json_t *ep = live_meta_endpoint(lv, s->v.endpoint_id);
		const char *n = json_string_value(json_object_get(ep, "name"));

		if (n)
			s->name = n;
	}
	return 0;
}

static void to_live_pkt(const struct pal_packet *in, const struct pal_addr *dst, uint16_t dport,
			struct live_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->family = in->src.family == PAL_AF_INET6 ? 6 : 4;
	p->proto = in->protocol;
	memcpy(p->src, in->src.bytes, 16);
	memcpy(p->dst, dst->bytes, 16);
	if (p->family == 4) { /* bpf/parse.h: the IPv4 address in the first 4 bytes, rest zero */
		memset(p->src + 4, 0, 12);
		memset(p->dst + 4, 0, 12);
	}
	/* ports and ICMP keys exactly where bpf/parse.h extracts them */
	p->has_ports = in->protocol == PAL_PROTO_TCP || in->protocol == PAL_PROTO_UDP ||
		       in->protocol == PAL_PROTO_SCTP;
	if (p->has_ports) {
		p->sport = in->sport;
		p->dport = dport;
	}
	p->is_icmp = in->protocol == PAL_PROTO_ICMP || in->protocol == PAL_PROTO_ICMPV6;
	if (p->is_icmp) {
		p->icmp_type = in->icmp_type;
		p->icmp_code = in->icmp_code;
	}
}

/* Did the interface flip to other lists while the walk read them? (An apply deletes the old lists
 * a grace period after the flip; a userspace reader is not covered by that grace period.) */
static bool side_changed(const struct polctl_live *lv, const struct side *s)
{
	struct pal_iface now;
	bool policed = live_iface_read(lv, s->ifindex, &now) == 0;

	return policed != s->policed || (policed && memcmp(&now, &s->v, sizeof(now)) != 0);
}

/* The answer must be what the programs did to the packet: deny when one of them dropped it,
 * allow when all of them let it through. Else the trace is wrong about the datapath: a bug,
 * reported, never answered. */
static int check_path(const struct polctl_globals *g, const struct pal_verdict *v,
		      const struct live_ran *ran)
{
	if (v->allow != (ran->dropped_by != NULL))
		return 0;
	if (ran->dropped_by)
		return polctl_fail(g, "trace: BUG: the trace answers allow, but the pinned %s dropped "
				      "the packet (%s)", ran->dropped_by,
				   ran->drop_reason < PAL_DROP_COUNT ?
					   pal_drop_reason_names[ran->drop_reason] : "?");
	return polctl_fail(g, "trace: BUG: the trace answers deny (%s), but the pinned programs "
			      "let the packet through", v->reason);
}

int live_trace(const struct polctl_globals *g, const struct polctl_live *lv,
	       enum pal_trace_dir dir, const char *in_iface, const char *out_iface,
	       const struct pal_packet *pkt, struct pal_verdict *v, struct live_ran *ran)
{
	bool fwd = dir == PAL_TRACE_FORWARD;
	struct side a, b;
	int rc;

	for (int attempt = 1;; attempt++) {
		struct walk w;
		struct pal_walk_ops ops = {
			.run_list = live_run_list,
			.failsafe = live_failsafe,
			.source_ok = live_source_ok,
			.endpoint_to_host_drop = !(lv->cfg.flags & PAL_CFG_EP_TO_HOST_ACCEPT),
		};
		struct pal_walk_side ws_in, ws_out = { 0 };
		struct live_path path;

		memset(&w, 0, sizeof(w));
		w.lv = lv;
		if ((rc = side_open(g, lv, in_iface, &a)))
			return rc;
		if (fwd && (rc = side_open(g, lv, out_iface, &b)))
			return rc;
		to_live_pkt(pkt, &pkt->dst, pkt->dport, &w.pre);
		to_live_pkt(pkt, pkt->has_dnat ? &pkt->dnat_dst : &pkt->dst,
			    pkt->has_dnat ? pkt->dnat_dport : pkt->dport, &w.post);
		w.has_dnat = pkt->has_dnat;
		path = (struct live_path){ .dir = dir, .in_ifindex = a.ifindex,
					   .out_ifindex = fwd ? b.ifindex : 0, .pre = &w.pre,
					   .post = &w.post, .has_dnat = pkt->has_dnat };
		if ((rc = live_hooks_run(g, lv, &path, &w.ran)))
			return rc;
		ws_in = walk_side(&a);
		if (fwd)
			ws_out = walk_side(&b);
		pal_walk_stages(&ops, &w, dir, &ws_in, &ws_out, pkt, v);
		*ran = w.ran;
		/* the walk and the runs saw one generation: the answer must be what the runs did */
		if (!side_changed(lv, &a) && !(fwd && side_changed(lv, &b))) {
			if ((rc = check_path(g, v, &w.ran)))
				return rc;
			break;
		}
		if (attempt == 5) {
			fprintf(stderr, "polctl: warning: the interfaces' rule lists changed during "
					"each of 5 traces (policy updates in progress); this answer may "
					"mix two generations\n");
			break;
		}
	}
	/* the step and verdict strings point into lv->meta or into a and b: make the side names
	 * that are interface names (no metadata) outlive this frame */
	for (size_t i = 0; i < v->n_steps; i++)
		if (v->steps[i].endpoint == a.ifname || (fwd && v->steps[i].endpoint == b.ifname))
			v->steps[i].endpoint = v->steps[i].endpoint == a.ifname ? in_iface : out_iface;
	return 0;
}
