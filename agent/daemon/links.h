/* The node's interfaces, through netlink (libnl-route-3), never /sys: the agent may run under
 * `nsenter --net`, where /sys shows another namespace.
 *
 * A libnl cache manager keeps a link cache and an address cache current from RTM_NEWLINK/
 * DELLINK/NEWADDR/DELADDR events on one non-blocking socket in the agent's loop. From those and
 * the IR, pald_links_desired() computes which interfaces palisade must be attached to:
 *   1. a WorkloadEndpoint of this node whose interfaceName is the link    -> workload
 *   2. a HostEndpoint of this node whose interfaceName is the link        -> host
 *   3. a HostEndpoint without interfaceName holding one of its expectedIPs -> host
 *   4. a HostEndpoint with interfaceName "*": every link except loopback and
 *      workload interfaces                                                 -> host
 *   5. a link matching an --interfaces glob (fnmatch)                      -> forward
 *   6. while some host endpoint has forward ingress tiers (applyOnForward Ingress policy) or
 *      this node has a workload endpoint (its egress policy is judged where the packet leaves):
 *      every Ethernet link except loopback (the "forward watch")           -> forward
 * first match wins, in that order. A forward link gets tc only and no rule lists: its tc egress
 * judges forwarded packets by the endpoint they arrived on (docs/datapath.md, "Forward watch").
 *
 * The link type decides whether palisade can police a link at all (linktype.h): Ethernet links
 * any way above; L3 links (tun, WireGuard, ipip...) only as endpoints (rules 1-4), whose
 * pal_ifaces entry tells the programs to parse from the IP header; a link of another type, or an
 * L3 link that only a glob would make a forward link, is refused with an error in the log (once
 * per link) and not attached.
 */
#ifndef PALD_LINKS_H
#define PALD_LINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "cfg.h"
#include "ir.h"

struct nl_cache_mngr;
struct nl_cache;
struct nl_sock;

struct pald_links {
	struct nl_sock *sk, *sync_sk;
	struct nl_cache_mngr *mngr;
	struct nl_cache *link_cache, *addr_cache, *route_cache;
	bool changed; /* a link or address event arrived since the last pald_links_desired() */
	/* Links deleted since the caller last emptied this (n_deleted = 0): one may come back with
	 * the same name and ifindex (moved to another namespace and back), without its programs. */
	int *deleted;
	size_t n_deleted, cap_deleted;
	/* Links with this name prefix are pods' veths ("cali" under the Kubernetes datastore): one
	 * that no WorkloadEndpoint names yet (its pod event has not arrived) is a workload interface
	 * without an endpoint, which the backend denies, never left open. NULL = none. */
	const char *workload_prefix;
	int *refused; /* links refused at the last pald_links_desired(), to log each once */
	size_t n_refused;
};

int pald_links_open(struct pald_links *l);
int pald_links_fd(const struct pald_links *l);
/* Applies pending netlink events to the caches (resynchronising after an overflow). */
void pald_links_handle(struct pald_links *l);
/* The interfaces to attach (sorted by name), for ir (NULL = no policy yet: globs only). *out is
 * malloc'd. 0 or -ENOMEM. */
int pald_links_desired(struct pald_links *l, const struct pal_ir *ir, const struct pald_strv *globs,
		       struct pald_iface **out, size_t *n);
/* The interface of the host route (/32, /128) to addr (an IP literal), the way a CNI routes a pod's
 * address to its veth: 0 with the name in out, -ENOENT when there is no such route. */
int pald_links_route_iface(struct pald_links *l, const char *addr, char *out, size_t outlen);
void pald_links_close(struct pald_links *l);

#endif
