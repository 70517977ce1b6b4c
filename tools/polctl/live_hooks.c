/* The hooks a traced packet crosses, run in order on the pinned programs (live_testrun.c), each
 * seeing the skb->mark the one before left, as Katran's simulator runs its balancer:
 *   ingress  tc_ingress of the interface on the packet as it arrived, then sf_input_deny (filter
 *            INPUT) on the packet after DNAT
 *   forward  tc_ingress of the incoming interface, then tc_egress of the outgoing one after DNAT
 *   egress   tc_egress of the interface with the untracked mark raw OUTPUT sets, on the packet as
 *            the process sent it (tc egress checks it again by running untracked egress, then
 *            normal egress); with DNAT, a second tc_egress run on the translated packet for normal
 *            egress. Not the failsafe mark: a test run's packet has a socket, which tc egress
 *            takes as proof of raw OUTPUT's failsafe match; failsafe-out is a single lookup the
 *            trace makes itself (live_trace.c), before any list.
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

enum trace_prog { TP_TC_INGRESS, TP_TC_EGRESS, TP_INPUT, TP_COUNT };
static const char *const trace_prog_names[TP_COUNT] = {
	[TP_TC_INGRESS] = "tc_ingress", [TP_TC_EGRESS] = "tc_egress", [TP_INPUT] = "sf_input_deny",
};

struct tracer {
	const struct polctl_globals *g;
	const struct polctl_live *lv;
	int trace_fd, cpu;
	int prog[TP_COUNT];
	int lock_fd; /* DIR/progs, locked: one trace at a time */
	struct live_ran *out;
};

static void tracer_close(struct tracer *t)
{
	if (t->lock_fd >= 0)
		close(t->lock_fd); /* releases the lock */
	if (t->trace_fd >= 0)
		close(t->trace_fd);
	for (int i = 0; i < TP_COUNT; i++)
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
	for (int i = 0; i < TP_COUNT; i++)
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

/* Runs one hook's program; appends its records (seen on the packet's view pre_dnat). */
static int run_hook(struct tracer *t, enum trace_prog prog, uint32_t ifindex, uint32_t iif,
		    uint32_t mark, const struct live_pkt *pkt, bool pre_dnat, struct live_hook_run *r)
{
	struct live_hook_req req = { .prog_fd = t->prog[prog], .trace_fd = t->trace_fd,
				     .cpu = t->cpu, .ifindex = ifindex, .ingress_ifindex = iif,
				     .mark = mark, .pkt = pkt };
	int err = live_hook_run(t->lv, &req, r);

	if (err == -ENOTSUP)
		return polctl_fail(t->g, "trace: the pinned %s did not enter trace mode (a datapath "
					 "older than this polctl? restart palisaded)",
				   trace_prog_names[prog]);
	if (err)
		return polctl_fail(t->g, "trace: test run of the pinned %s: %s",
				   trace_prog_names[prog], strerror(-err));
	for (uint32_t i = 0; i < r->rec.n_lists && t->out->n < LIVE_MAX_RAN; i++) {
		t->out->lists[t->out->n].l = r->rec.lists[i];
		t->out->lists[t->out->n].pre_dnat = pre_dnat;
		t->out->n++;
	}
	return 0;
}

static int run_path(struct tracer *t, const struct live_path *p)
{
	struct live_hook_run r;
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
		if ((rc = run_hook(t, TP_TC_EGRESS, p->in_ifindex, 0,
				   PAL_MARK_UNTRACKED, p->pre, true, &r)) ||
		    !p->has_dnat)
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
	rc = tracer_open(g, lv, out, &t);
	if (!rc)
		rc = run_path(&t, path);
	tracer_close(&t);
	return rc;
}
