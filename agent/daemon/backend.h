/* The agent's view of a datapath: a small vtable the control plane drives.
 *
 * The control plane (policy_source.c, links.c, main.c) decides WHAT must be enforced and WHERE;
 * a backend makes it so. Two exist: "bpf" (agent/dataplane/, glued in by backend_open) and "null"
 * (backend_null.c: programs nothing, records what it was given, for tests).
 *
 * Call order: open -> (uninstall | apply, sync_interfaces, ...)* -> close.
 *   - apply() installs a new compiled policy atomically (a packet sees the old or the new rule
 *     set, never a mix) and must leave the previous one in force when it fails.
 *   - sync_interfaces() is level-triggered: it gets the full desired set every time (after every
 *     apply and after every link change) and attaches what is new, detaches what is gone, and
 *     leaves the rest untouched. Returns how many of the given interfaces are attached.
 *   - close() releases userspace resources only; the datapath keeps enforcing (SIGTERM and
 *     restarts must not open a gap).
 * All functions run on the agent's single thread and must not block for long (no sleeping).
 */
#ifndef PALD_BACKEND_H
#define PALD_BACKEND_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "http.h"
#include "ir.h"

struct pald_config;
struct pal_event;
struct pal_rule_ids;
struct json_t;

/* One datapath event (deny or Log hit) and what the backend knows about it: the endpoint on its
 * interface ("workload/NAMESPACE/NAME" or "host//NAME"; NULL when the interface is no endpoint)
 * and the rule's reporting metadata (meta.h: kind, tier, policy, namespace, dir, index, action;
 * NULL when the event names no rule). Both are valid during the call only. */
typedef void (*pald_event_fn)(void *arg, const struct pal_event *ev, const char *endpoint,
			      struct json_t *rule);

enum pald_iface_role {
	PALD_IFACE_HOST,     /* a HostEndpoint of this node: XDP + tc */
	PALD_IFACE_WORKLOAD, /* a WorkloadEndpoint of this node: tc; ep NULL: a pod's veth whose
			      * endpoint is not known yet, everything on it denied */
	PALD_IFACE_FORWARD,  /* --interfaces or the forward watch (links.h): tc, polices forwarded traffic */
};

struct pald_iface {
	char name[IFNAMSIZ];
	int ifindex;
	enum pald_iface_role role;
	/* The endpoint in the IR last passed to apply(); NULL for PALD_IFACE_FORWARD. Valid until
	 * the next apply() (the control plane always calls sync_interfaces again after one). */
	const struct pal_ir_endpoint *ep;
	/* Chosen only by the forward watch (links.h rule 6), not by an endpoint or a glob. */
	bool watched;
};

struct pald_backend_ops {
	const char *name;
	/* The policy generation found in the pinned state when open() adopted it (a restart), 0
	 * when starting fresh; the control plane numbers on from there. May be NULL (= 0). */
	uint64_t (*adopted_generation)(void *ctx);
	/* Installs ir as `generation`. Problems go to diags (with the endpoint or rule in the
	 * message); 0 or -errno. On failure the previous generation stays in force. */
	int (*apply)(void *ctx, const struct pal_ir *ir, uint64_t generation,
		     struct pal_diags *diags);
	/* Returns the number of ifaces attached (<= n), or -errno. Failures are logged by the
	 * backend, per interface. */
	int (*sync_interfaces)(void *ctx, const struct pald_iface *ifaces, size_t n);
	/* Appends datapath metrics in Prometheus text format (rule hits, drops by reason, map
	 * fill). May be NULL. */
	void (*render_metrics)(void *ctx, struct pal_strbuf *out);
	/* Endpoints the backend could not program (they deny everything or keep their last good
	 * policy); a description of the first into first[len]. May be NULL (= 0). */
	size_t (*unprogrammed)(void *ctx, char *first, size_t len);
	/* Why the last interface sync attached fewer interfaces than it was given (the datapath's
	 * error, naming the interface), "" when it attached them all. May be NULL. */
	const char *(*attach_error)(void *ctx);
	/* Called from the event loop about once a second (now: monotonic ms) for checks that
	 * must not wait for an event, e.g. palisade's netfilter jumps still first. May be NULL. */
	void (*tick)(void *ctx, uint64_t now_ms);
	/* Checks that every interface the last sync attached still carries the backend's programs
	 * (another tool may remove them while the device lives). One that lost them fails closed at
	 * once (logged, counted) and is no longer counted as attached. Returns how many must be
	 * attached again (the caller syncs with force), or -errno. May be NULL. */
	int (*verify_attached)(void *ctx);
	/* The interface has the backend's policy but not the workload guard's witness, so its
	 * traffic is dropped until a sync attaches it again. May be NULL (= false). */
	bool (*unwitnessed)(void *ctx, int ifindex);
	/* Restart: the rule ids the pinned datapath's rules have (from its metadata) into the
	 * policy source's table, so the first compile keeps them and their counters. May be NULL. */
	void (*seed_rule_ids)(void *ctx, struct pal_rule_ids *ids);
	/* Starts reading the datapath's events into fn. Returns an fd that polls readable while
	 * events are pending (for the event loop), or -errno. May be NULL (no events). */
	int (*events_open)(void *ctx, pald_event_fn fn, void *arg);
	/* Delivers at most max pending events; returns how many, or -errno. (Events the datapath
	 * did not send, over its rate limit or for a full buffer, are in its own metrics.) */
	int (*events_read)(void *ctx, int max);
	/* --uninstall: detach everything palisade attached, remove pins and netfilter rules.
	 * 0 or -errno. */
	int (*uninstall)(void *ctx);
	void (*close)(void *ctx);
	/* The work the last apply left for after enforcement, so that enforcing a change does not
	 * wait for it: what only reports read (polctl's metadata) and deleting what the apply made
	 * unreachable (the old rule lists). The control plane calls it once a change is enforced
	 * and logged; the backend also does it before its next apply and on close. May be NULL. */
	void (*finish_apply)(void *ctx);
};

struct pald_backend {
	const struct pald_backend_ops *ops;
	void *ctx;
};

/* Opens the backend named cfg->backend ("bpf" or "null"); 0 or -errno (-ENOENT for an unknown
 * name, logged). The bpffs directory exists and is locked by the caller. */
int pald_backend_open(const struct pald_config *cfg, struct pald_backend *be);
void pald_backend_close(struct pald_backend *be);

int pald_backend_null_open(const struct pald_config *cfg, struct pald_backend *be);

#endif
