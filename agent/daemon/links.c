/* Interfaces through libnl-route-3 (see links.h). */
#include "links.h"

#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "linktype.h"
#include "log.h"
#include "vec.h"

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	struct pald_links *l = data;

	l->changed = true;
	if (cache != l->link_cache || action != NL_ACT_DEL)
		return;
	/* out of memory: the caller's periodic check finds the link's programs gone instead */
	if (!vec_grow((void **)&l->deleted, &l->cap_deleted, l->n_deleted + 1, sizeof(*l->deleted)))
		l->deleted[l->n_deleted++] = rtnl_link_get_ifindex((struct rtnl_link *)obj);
}

int pald_links_open(struct pald_links *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->sk = nl_socket_alloc();
	l->sync_sk = nl_socket_alloc();
	if (!l->sk || !l->sync_sk) {
		rc = -ENOMEM;
		goto err;
	}
	if ((rc = nl_connect(l->sync_sk, NETLINK_ROUTE)) < 0) {
		rc = -EIO;
		goto err;
	}
	/* The manager connects l->sk, subscribes to the link and address groups and fills both
	 * caches (the initial list) before returning. */
	if (nl_cache_mngr_alloc(l->sk, NETLINK_ROUTE, 0, &l->mngr) < 0 ||
	    nl_cache_mngr_add(l->mngr, "route/link", on_change, l, &l->link_cache) < 0 ||
	    nl_cache_mngr_add(l->mngr, "route/addr", on_change, l, &l->addr_cache) < 0 ||
	    nl_cache_mngr_add(l->mngr, "route/route", on_change, l, &l->route_cache) < 0) {
		rc = -EIO;
		goto err;
	}
	/* Pod churn creates bursts of events; a large buffer makes overflows (and resyncs) rare. */
	nl_socket_set_buffer_size(l->sk, 4 << 20, 0);
	l->changed = true;
	return 0;
err:
	pald_log(PALD_LOG_ERROR, "netlink: cannot read the interface list");
	pald_links_close(l);
	return rc;
}

int pald_links_fd(const struct pald_links *l)
{
	return nl_cache_mngr_get_fd(l->mngr);
}

void pald_links_handle(struct pald_links *l)
{
	int rc = nl_cache_mngr_data_ready(l->mngr);

	if (rc >= 0)
		return;
	/* Events were lost (socket buffer overrun) or garbled: reread both caches. */
	pald_log(PALD_LOG_WARN, "netlink: event stream broke, re-reading interfaces",
		 PALD_S("error", nl_geterror(rc)));
	nl_cache_refill(l->sync_sk, l->link_cache);
	nl_cache_refill(l->sync_sk, l->addr_cache);
	nl_cache_refill(l->sync_sk, l->route_cache);
	l->changed = true;
}

static bool addr_equal_nl(const struct pal_addr *a, struct nl_addr *na)
{
	int fam = nl_addr_get_family(na);
	unsigned int len = nl_addr_get_len(na);

	if (a->family == PAL_AF_INET4)
		return fam == AF_INET && len == 4 && memcmp(nl_addr_get_binary_addr(na), a->bytes, 4) == 0;
	return fam == AF_INET6 && len == 16 && memcmp(nl_addr_get_binary_addr(na), a->bytes, 16) == 0;
}

static bool link_holds_addr(struct pald_links *l, int ifindex, const struct pal_ir_endpoint *ep)
{
	for (struct nl_object *o = nl_cache_get_first(l->addr_cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(ra);

		if (rtnl_addr_get_ifindex(ra) != ifindex || !local)
			continue;
		for (size_t i = 0; i < ep->n_addrs; i++)
			if (addr_equal_nl(&ep->addrs[i], local))
				return true;
	}
	return false;
}

static bool named_by_workload(const struct pal_ir *ir, const char *name)
{
	for (size_t i = 0; i < ir->n_endpoints; i++)
		if (ir->endpoints[i].kind == PAL_EP_WORKLOAD && ir->endpoints[i].iface &&
		    strcmp(ir->endpoints[i].iface, name) == 0)
			return true;
	return false;
}

/* Rules 1-4 of links.h; NULL when no endpoint claims the link. */
static const struct pal_ir_endpoint *endpoint_for(struct pald_links *l, const struct pal_ir *ir,
						  const char *name, int ifindex, unsigned flags)
{
	const struct pal_ir_endpoint *by_ip = NULL, *star = NULL;

	if (!ir)
		return NULL;
	for (size_t i = 0; i < ir->n_endpoints; i++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[i];

		if (ep->kind == PAL_EP_WORKLOAD && ep->iface && strcmp(ep->iface, name) == 0)
			return ep;
	}
	for (size_t i = 0; i < ir->n_endpoints; i++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[i];

		if (ep->kind != PAL_EP_HOST)
			continue;
		if (ep->iface && strcmp(ep->iface, name) == 0)
			return ep;
		if (!ep->iface && !by_ip && ep->n_addrs && link_holds_addr(l, ifindex, ep))
			by_ip = ep;
		if (ep->iface && strcmp(ep->iface, "*") == 0 && !star)
			star = ep;
	}
	if (by_ip)
		return by_ip;
	if (star && !(flags & IFF_LOOPBACK) && !named_by_workload(ir, name))
		return star;
	return NULL;
}

/* Rule 6 of links.h: a host endpoint with forward ingress tiers, or any local workload. Both
 * kinds of policy are judged at tc egress of whatever interface a forwarded packet leaves by (the
 * endpoint it came in on is found from skb->ingress_ifindex there; egress is where the packet is
 * post-DNAT), so that exit must carry palisade's tc programs even when it is no endpoint:
 * otherwise a router's forward policy, or a pod's egress policy (pods default to deny without a
 * profile), fails open towards an unpoliced uplink. */
static bool forward_watch(const struct pal_ir *ir)
{
	for (size_t i = 0; ir && i < ir->n_endpoints; i++)
		if (ir->endpoints[i].kind == PAL_EP_WORKLOAD ||
		    ir->endpoints[i].forward[PAL_DIR_INGRESS].n_tiers)
			return true;
	return false;
}

/* A link the forward watch covers: Ethernet framing (what the tc programs parse; an L3 device
 * such as a tunnel is left out, see docs/datapath.md), not loopback. */
static bool watchable(struct rtnl_link *link)
{
	return !(rtnl_link_get_flags(link) & IFF_LOOPBACK) &&
	       rtnl_link_get_arptype(link) == ARPHRD_ETHER;
}

static bool int_in(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The links one pald_links_desired() refused. */
struct refused_links {
	int *v;
	size_t n, cap;
};

/* Can palisade police this link in this role (links.h)? Logs a refusal the first time. */
static bool framing_ok(struct rtnl_link *link, const struct pal_ir_endpoint *ep,
		       struct refused_links *refused, const int *was, size_t n_was)
{
	unsigned int type = rtnl_link_get_arptype(link);
	enum pal_framing fr = pal_framing_of(type);
	int ifindex = rtnl_link_get_ifindex(link);

	if (fr == PAL_FRAMING_ETHERNET || (fr == PAL_FRAMING_L3 && ep))
		return true;
	if (!int_in(was, n_was, ifindex))
		pald_log(PALD_LOG_ERROR,
			 fr == PAL_FRAMING_L3 ?
				 "not attaching to an L3 link that no endpoint names: forward-only "
				 "links must have Ethernet framing; name it in a HostEndpoint" :
				 "not attaching to a link of an unsupported type: palisade parses "
				 "Ethernet and L3 (tun, WireGuard, ipip, sit, GRE, PPP) links only",
			 PALD_S("iface", rtnl_link_get_name(link)), PALD_I("link_type", type),
			 PALD_S("endpoint", ep ? ep->name : ""));
	if (!vec_grow((void **)&refused->v, &refused->cap, refused->n + 1, sizeof(*refused->v)))
		refused->v[refused->n++] = ifindex; /* else logged again next time */
	return false;
}

static int cmp_iface(const void *a, const void *b)
{
	return strcmp(((const struct pald_iface *)a)->name, ((const struct pald_iface *)b)->name);
}

int pald_links_desired(struct pald_links *l, const struct pal_ir *ir, const struct pald_strv *globs,
		       struct pald_iface **out, size_t *n)
{
	size_t cap = (size_t)nl_cache_nitems(l->link_cache) + 1, k = 0;
	struct pald_iface *v = calloc(cap, sizeof(*v));
	bool watch = forward_watch(ir);
	struct refused_links refused = { 0 };

	l->changed = false;
	if (!v)
		return -ENOMEM;
	for (struct nl_object *o = nl_cache_get_first(l->link_cache); o && k < cap;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(link);
		int ifindex = rtnl_link_get_ifindex(link);
		const struct pal_ir_endpoint *ep;
		bool glob = false;

		/* The kernel also announces per-family link state (RTM_NEWLINK with AF_INET6 from
		 * IPv6 address configuration); libnl caches those as separate objects keyed by
		 * family, and RTM_DELLINK removes only the AF_UNSPEC one. Only that one is the link:
		 * the others would list it twice, and stay behind after it is deleted. */
		if (!name || rtnl_link_get_family(link) != AF_UNSPEC)
			continue;
		ep = endpoint_for(l, ir, name, ifindex, rtnl_link_get_flags(link));
		bool pod = !ep && l->workload_prefix &&
			   strncmp(name, l->workload_prefix, strlen(l->workload_prefix)) == 0;
		for (size_t g = 0; !ep && !pod && g < globs->n && !glob; g++)
			glob = fnmatch(globs->v[g], name, 0) == 0;
		bool watched = !ep && !pod && !glob && watch && watchable(link);

		if (!ep && !pod && !glob && !watched)
			continue;
		if (!framing_ok(link, ep, &refused, l->refused, l->n_refused))
			continue;
		snprintf(v[k].name, sizeof(v[k].name), "%s", name);
		v[k].ifindex = ifindex;
		v[k].ep = ep;
		v[k].watched = watched;
		v[k].role = pod ? PALD_IFACE_WORKLOAD
			    : !ep ? PALD_IFACE_FORWARD
			    : ep->kind == PAL_EP_WORKLOAD ? PALD_IFACE_WORKLOAD : PALD_IFACE_HOST;
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_iface);
	free(l->refused);
	l->refused = refused.v;
	l->n_refused = refused.n;
	*out = v;
	*n = k;
	return 0;
}

int pald_links_route_iface(struct pald_links *l, const char *addr, char *out, size_t outlen)
{
	struct nl_addr *want = NULL;
	int rc = -ENOENT;

	if (!l->route_cache || nl_addr_parse(addr, AF_UNSPEC, &want) < 0)
		return -ENOENT;
	for (struct nl_object *o = nl_cache_get_first(l->route_cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		struct rtnl_nexthop *nh;

		if (!dst || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    nl_addr_get_family(dst) != nl_addr_get_family(want) ||
		    nl_addr_get_prefixlen(dst) != nl_addr_get_len(dst) * 8 ||
		    nl_addr_cmp_prefix(dst, want) != 0 || rtnl_route_get_nnexthops(r) != 1 ||
		    !(nh = rtnl_route_nexthop_n(r, 0)))
			continue;
		if (rtnl_link_i2name(l->link_cache, rtnl_route_nh_get_ifindex(nh), out, outlen)) {
			rc = 0;
			break;
		}
	}
	nl_addr_put(want);
	return rc;
}

void pald_links_close(struct pald_links *l)
{
	if (l->mngr)
		nl_cache_mngr_free(l->mngr); /* frees the caches it created */
	if (l->sk)
		nl_socket_free(l->sk);
	if (l->sync_sk)
		nl_socket_free(l->sync_sk);
	free(l->refused);
	free(l->deleted);
	memset(l, 0, sizeof(*l));
}
