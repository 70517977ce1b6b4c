/* The hooks a traced packet crosses, run in order on the pinned programs (live_testrun.c), each
 * seeing the skb->mark the one before left, as Katran's simulator runs its balancer:
 *   ingress  tc_ingress of the interface on the packet as it arrived, then sf_input_deny (filter
 *            INPUT) on the packet after DNAT
 *   forward  tc_ingress of the incoming interface, then tc_egress of the outgoing one after DNAT
 *   egress   raw OUTPUT's filters of the interface (sf_out.bpf.c: deny, failsafe, allow, as the
 *            netfilter rules run them, on the packet as the process sent it), then tc_egress
 *            with the mark they set (untracked: tc egress checks it again; failsafe: accepted);
 *            with DNAT, a second tc_egress run on the translated packet for normal egress.
 *            An interface without raw OUTPUT filters pinned (a workload's; a datapath programmed
 *            without netfilter) runs tc_egress with the untracked mark, so that tc egress's own
 *            check of it decides untracked egress; failsafe-out is then only the lookup the
 *            trace makes itself (live_trace.c). The failsafe mark is never given without its
 *            filter's match: a test run's packet has a socket, which tc egress takes as proof.
 * XDP is not run: tc ingress evaluates the same failsafe and untracked stages when XDP left no
 * metadata, as a test run's packet has none. A hook that drops the packet ends the path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <bpf/bpf.h>

#include "live.h"

#define TC_ACT_SHOT 2

/* The node's programs, and (after TP_COUNT) the raw OUTPUT filters of one interface, pinned as
 * sf_out_{deny,failsafe,allow}_<ifindex>. */
enum trace_prog {
	TP_TC_INGRESS, TP_TC_EGRESS, TP_INPUT, TP_COUNT,
	TP_OUT_DENY = TP_COUNT, TP_OUT_FAILSAFE, TP_OUT_ALLOW, TP_ALL
};
static const char *const trace_prog_names[TP_ALL] = {
	[TP_TC_INGRESS] = "tc_ingress", [TP_TC_EGRESS] = "tc_egress", [TP_INPUT] = "sf_input_deny",
	[TP_OUT_DENY] = "sf_out_deny", [TP_OUT_FAILSAFE] = "sf_out_failsafe",
	[TP_OUT_ALLOW] = "sf_out_allow",
};

struct tracer {
	const struct polctl_globals *g;
	const struct polctl_live *lv;
	int trace_fd, cpu;
	int prog[TP_ALL]; /* -1: not open (raw OUTPUT's: none pinned for the interface) */
	uint32_t out_ifindex; /* whose raw OUTPUT filters prog[TP_OUT_*] are */
	int lock_fd; /* DIR/progs, locked: one trace at a time */
	struct live_ran *out;
};

static void tracer_close(struct tracer *t)
{
	if (t->lock_fd >= 0)
		close(t->lock_fd); /* releases the lock */
	if (t->trace_fd >= 0)
		close(t->trace_fd);
	for (int i = 0; i < TP_ALL; i++)
		if (t->prog[i] >= 0)
			close(t->prog[i]);
}

/* A pinned object of the datapath, read-write (the trace map is armed from here). */
static int open_pin(struct tracer *t, const char *kind, const char *name, int *fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", t->lv->dir, kind, name);
	*fd = bpf_obj_get(path);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT)
		return polctl_fail(t->g, "trace: %s is missing: the pinned datapath predates trace "
					 "mode (restart palisaded with this version)", path);
	return polctl_fail(t->g, "trace: cannot open %s: %s", path, strerror(errno));
}

/* One trace at a time: a second polctl arming pal_trace with its own nonce in the middle of this
 * one's run would leave this run's packet outside trace mode, counted like real traffic (the
 * `entered` check would then report it, too late). An exclusive flock on DIR/progs (the agent's
 * lock is on DIR itself), waited for. */
static int trace_lock(struct tracer *t)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/progs", t->lv->dir);
	t->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->lock_fd < 0 || flock(t->lock_fd, LOCK_EX))
		return polctl_fail(t->g, "trace: cannot lock %s: %s", path, strerror(errno));
	return 0;
}

/* Raw OUTPUT's three filters of ifindex, when pinned (the agent pins them for every host
 * endpoint); 0 with none open when there are none. */
static int open_out_filters(struct tracer *t, uint32_t ifindex)
{
	char path[PATH_MAX];

	t->out_ifindex = ifindex;
	for (int i = TP_OUT_DENY; i < TP_ALL; i++) {
		snprintf(path, sizeof(path), "%s/progs/%s_%u", t->lv->dir, trace_prog_names[i], ifindex);
		t->prog[i] = bpf_obj_get(path);
		if (t->prog[i] >= 0)
			continue;
		if (errno == ENOENT && i == TP_OUT_DENY)
			return 0;
		return polctl_fail(t->g, "trace: cannot open %s: %s", path, strerror(errno));
	}
	return 0;
}

static int tracer_open(const struct polctl_globals *g, const struct polctl_live *lv,
		       struct live_ran *out, struct tracer *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->g = g;
	t->lv = lv;
	t->out = out;
	t->trace_fd = -1;
	t->lock_fd = -1;
	for (int i = 0; i < TP_ALL; i++)
		t->prog[i] = -1;
	if ((rc = trace_lock(t)))
		return rc;
	if ((rc = open_pin(t, "maps", "pal_trace", &t->trace_fd)))
		return rc;
	for (int i = 0; i < TP_COUNT; i++)
		if ((rc = open_pin(t, "progs", trace_prog_names[i], &t->prog[i])))
			return rc;
	rc = live_pin_cpu(&t->cpu);
	if (rc || t->cpu >= lv->ncpus)
		return polctl_fail(g, "trace: cannot pin polctl to its CPU: %s",
				   strerror(rc ? -rc : ERANGE));
	return 0;
}

/* Does a list record say deny? A deny entry decided, or the classifier failed (the programs drop
 * then: bpf/classify.h). */
static bool list_denies(const struct pal_trace_list *l)
{
	if (l->status == PAL_CLS_STATUS_VERDICT)
		return l->action == PAL_ACT_DENY;
	return l->status != PAL_CLS_STATUS_NOMATCH;
}

static bool policy_reason(uint32_t reason)
{
	return reason == PAL_DROP_POLICY || reason == PAL_DROP_TIER_END ||
	       reason == PAL_DROP_NO_PROFILE;
}

/* The program's return code, the drop it recorded and its lists' decisions must tell one story:
 * it drops exactly when it recorded a drop reason, a list that decided deny makes it drop, and a
 * drop for policy has a list that did not allow (one that decided deny, or fell through: every
 * tier passed, which denies where that stage's policy applies). Anything else means the trace would answer
 * differently from what the datapath does to the packet: a bug, reported, never answered. */
static int check_agreement(struct tracer *t, enum trace_prog prog, const struct live_hook_run *r)
{
	bool tc = prog == TP_TC_INGRESS || prog == TP_TC_EGRESS;
	bool dropped = tc ? r->retval == TC_ACT_SHOT : r->retval != 0;
	uint32_t reason = r->rec.drop_reason;
	const char *why = NULL;
	bool denied = false, not_allowed = false, allowed = false;

	for (uint32_t i = 0; i < r->rec.n_lists; i++) {
		const struct pal_trace_list *l = &r->rec.lists[i];

		denied |= list_denies(l);
		not_allowed |= !(l->status == PAL_CLS_STATUS_VERDICT && l->action == PAL_ACT_ALLOW);
		allowed |= l->status == PAL_CLS_STATUS_VERDICT && l->action == PAL_ACT_ALLOW;
	}
	if (prog == TP_OUT_FAILSAFE || prog == TP_OUT_ALLOW) { /* a match marks, never drops */
		if (reason != PAL_DROP_NONE)
			why = "a raw OUTPUT match filter recorded a drop";
		else if (prog == TP_OUT_ALLOW && (r->retval != 0) != allowed)
			why = allowed ? "untracked egress allowed but it did not match" :
					"it matched but untracked egress did not allow";
		dropped = false;
	} else if (dropped != (reason != PAL_DROP_NONE))
		why = dropped ? "it dropped the packet but recorded no drop reason" :
				"it recorded a drop reason but let the packet through";
	else if (denied && !dropped)
		why = "a rule list it ran decided deny but it let the packet through";
	else if (dropped && policy_reason(reason) && !not_allowed)
		why = "it dropped for policy but every rule list it ran allowed";
	if (why)
		return polctl_fail(t->g, "trace: BUG: the pinned %s returned %d and its trace record "
					 "disagrees: %s (drop reason %s, %u lists); the trace cannot "
					 "answer for the datapath",
				   trace_prog_names[prog], r->retval, why,
				   reason < PAL_DROP_COUNT ? pal_drop_reason_names[reason] : "?",
				   r->rec.n_lists);
	if (dropped) {
		t->out->dropped_by = trace_prog_names[prog];
		t->out->drop_reason = reason;
	}
	return 0;
}

/* Runs one hook's program; appends its records (seen on the packet's view pre_dnat). */
static int run_hook(struct tracer *t, enum trace_prog prog, uint32_t ifindex, uint32_t iif,
		    uint32_t mark, const struct live_pkt *pkt, bool pre_dnat, struct live_hook_run *r)
{
	struct live_hook_req req = { .prog_fd = t->prog[prog], .trace_fd = t->trace_fd,
				     .cpu = t->cpu, .ifindex = ifindex, .ingress_ifindex = iif,
				     .mark = mark, .pkt = pkt };
	int err = live_hook_run(t->lv, &req, r);
	struct live_prog_run *pr = t->out->n_progs < LIVE_MAX_PROGS ? &t->out->progs[t->out->n_progs++]
								   : NULL;

	if (err == -ENOTSUP)
		return polctl_fail(t->g, "trace: the pinned %s did not enter trace mode (a datapath "
					 "older than this polctl? restart palisaded)",
				   trace_prog_names[prog]);
	if (err)
		return polctl_fail(t->g, "trace: test run of the pinned %s: %s",
				   trace_prog_names[prog], strerror(-err));
	if (pr) {
		snprintf(pr->name, sizeof(pr->name), prog < TP_COUNT ? "%s" : "%s_%u",
			 trace_prog_names[prog], t->out_ifindex);
		pr->retval = r->retval;
	}
	for (uint32_t i = 0; i < r->rec.n_lists && t->out->n < LIVE_MAX_RAN; i++) {
		t->out->lists[t->out->n].l = r->rec.lists[i];
		t->out->lists[t->out->n].pre_dnat = pre_dnat;
		t->out->n++;
	}
	return check_agreement(t, prog, r);
}

#define RAW_OUTPUT_DROP UINT32_MAX

/* Raw OUTPUT's rules for a packet the host sends out of p->in_ifindex, in their order: the deny
 * filter drops (*mark = RAW_OUTPUT_DROP), else the failsafe filter marks FAILSAFE, else the allow
 * filter marks UNTRACKED. Without filters pinned, the untracked mark (see the top). */
static int raw_output(struct tracer *t, const struct live_path *p, uint32_t *mark)
{
	struct live_hook_run r;
	int rc;

	*mark = PAL_MARK_UNTRACKED;
	if ((rc = open_out_filters(t, p->in_ifindex)) || t->prog[TP_OUT_DENY] < 0)
		return rc;
	*mark = 0;
	if ((rc = run_hook(t, TP_OUT_DENY, 0, 0, 0, p->pre, true, &r)))
		return rc;
	if (r.retval) {
		*mark = RAW_OUTPUT_DROP;
		return 0;
	}
	if ((rc = run_hook(t, TP_OUT_FAILSAFE, 0, 0, 0, p->pre, true, &r)))
		return rc;
	if (r.retval) {
		*mark = PAL_MARK_FAILSAFE;
		return 0;
	}
	if ((rc = run_hook(t, TP_OUT_ALLOW, 0, 0, 0, p->pre, true, &r)))
		return rc;
	if (r.retval)
		*mark = PAL_MARK_UNTRACKED;
	return 0;
}

static int run_path(struct tracer *t, const struct live_path *p)
{
	struct live_hook_run r;
	uint32_t mark;
	int rc;

	switch (p->dir) {
	case PAL_TRACE_INGRESS:
		if ((rc = run_hook(t, TP_TC_INGRESS, p->in_ifindex, 0, 0, p->pre, true, &r)) ||
		    r.retval == TC_ACT_SHOT)
			return rc;
		return run_hook(t, TP_INPUT, 0, p->in_ifindex, r.mark, p->post, false, &r);
	case PAL_TRACE_FORWARD:
		if ((rc = run_hook(t, TP_TC_INGRESS, p->in_ifindex, 0, 0, p->pre, true, &r)) ||
		    r.retval == TC_ACT_SHOT)
			return rc;
		return run_hook(t, TP_TC_EGRESS, p->out_ifindex, p->in_ifindex, r.mark, p->post,
				false, &r);
	default: /* PAL_TRACE_EGRESS */
		if ((rc = raw_output(t, p, &mark)) || mark == RAW_OUTPUT_DROP)
			return rc;
		if ((rc = run_hook(t, TP_TC_EGRESS, p->in_ifindex, 0, mark, p->pre, true, &r)) ||
		    r.retval == TC_ACT_SHOT || !p->has_dnat)
			return rc;
		return run_hook(t, TP_TC_EGRESS, p->in_ifindex, 0, 0, p->post, false, &r);
	}
}

int live_hooks_run(const struct polctl_globals *g, const struct polctl_live *lv,
		   const struct live_path *path, struct live_ran *out)
{
	struct tracer t;
	int rc;

	out->n = 0;
	out->n_progs = 0;
	out->dropped_by = NULL;
	out->drop_reason = PAL_DROP_NONE;
	rc = tracer_open(g, lv, out, &t);
	if (!rc)
		rc = run_path(&t, path);
	tracer_close(&t);
	return rc;
}
