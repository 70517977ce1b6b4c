/* v1 Service and discovery.k8s.io/v1 EndpointSlice decoders: what Calico's `services:` rule match
 * needs (see compile_services.c). Kubernetes validates these objects; the decoders check the
 * field names, as for every other kind, and what palisade reads: a slice's address type, its
 * endpoints' addresses and its ports. */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

/* ServiceSpec: accepted, not read (only the name of a Service matters to policy). */
static const char *const service_spec_fields[] = {
	"ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
	"loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
	"healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
	"ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass",
	"internalTrafficPolicy", "trafficDistribution", NULL
};
static const char *const endpoint_fields[] = { "addresses", "conditions", "hostname", "targetRef",
					       "nodeName", "zone", "hints", "deprecatedTopology",
					       NULL };
static const char *const slice_port_fields[] = { "name", "protocol", "port", "appProtocol", NULL };

void decode_service(struct dctx *c, struct resource_head *h)
{
	struct pal_service s = { 0 };
	size_t old = path_push(c, "spec");
	size_t errors = decode_open(c, h, &s.pos, &s.name, &s.namespace, NULL);

	if (h->spec)
		check_fields(c, h->spec, service_spec_fields, NULL);
	path_pop(c, old);
	DECODE_CLOSE(c, errors, c->m->services, s, pal_service_clear);
}

/* endpoints[i].addresses, parsed unless the slice holds FQDNs. */
static void decode_slice_endpoint(struct dctx *c, const struct yt_node *ep, bool fqdn,
				  struct pal_endpoint_slice *s)
{
	char **addrs = NULL;
	size_t n = 0;

	if (!check_fields(c, ep, endpoint_fields, NULL) ||
	    get_str_list(c, ep, "addresses", &addrs, &n) <= 0)
		return;
	for (size_t i = 0; i < n && !fqdn; i++) {
		size_t old = path_push(c, "addresses");

		path_push_index(c, i);
		vec_reserve((void **)&s->addrs, &s->cap_addrs, s->n_addrs + 1, sizeof(*s->addrs));
		if (pal_addr_parse(addrs[i], &s->addrs[s->n_addrs]))
			s->n_addrs++;
		else
			derr(c, yt_map_get(ep, "addresses")->items[i],
			     "invalid IP address \"%s\"", addrs[i]);
		path_pop(c, old);
	}
	free_str_list(addrs, n);
}

static void decode_slice_port(struct dctx *c, const struct yt_node *p,
			      struct pal_endpoint_slice *s)
{
	struct pal_protocol proto = { 0 };
	long long port = 0;
	char *name = NULL;

	if (!check_fields(c, p, slice_port_fields, NULL))
		return;
	get_str(c, p, "name", &name);
	free(name);
	if (get_protocol(c, p, "protocol", &proto) < 0 || get_int(c, p, "port", 1, 65535, &port) < 0)
		return;
	if (proto.set && !protocol_supports_ports(proto.num)) {
		derr_field(c, p, "protocol", "must be TCP, UDP or SCTP");
		return;
	}
	vec_reserve((void **)&s->ports, &s->cap_ports, s->n_ports + 1, sizeof(*s->ports));
	s->ports[s->n_ports++] = (struct pal_endpoint_slice_port){
		.protocol = proto.set ? proto.num : PAL_PROTO_TCP, .port = (uint16_t)port
	};
}

/* Each item of the list at key: endpoints or ports. */
static void slice_list(struct dctx *c, const struct yt_node *root, const char *key, bool fqdn,
		       struct pal_endpoint_slice *s, bool endpoints)
{
	const struct yt_node *l = yt_map_get(root, key);
	size_t old;

	if (yt_is_null(l))
		return;
	old = path_push(c, key);
	if (expect_seq(c, l)) {
		for (size_t i = 0; i < l->n_items; i++) {
			size_t o2 = path_push_index(c, i);

			if (endpoints)
				decode_slice_endpoint(c, l->items[i], fqdn, s);
			else
				decode_slice_port(c, l->items[i], s);
			path_pop(c, o2);
		}
	}
	path_pop(c, old);
}

void decode_endpoint_slice(struct dctx *c, struct resource_head *h)
{
	struct pal_endpoint_slice s = { 0 };
	const char *svc = pal_labels_get(&h->labels, SERVICE_NAME_LABEL);
	char *type = NULL;
	bool fqdn = false;
	size_t errors = decode_open(c, h, &s.pos, &s.name, &s.namespace, NULL);

	s.service_name = svc ? xstrdup(svc) : NULL;
	if (get_str(c, h->root, "addressType", &type) == 0)
		derr(c, h->root, "missing required field \"addressType\" (IPv4, IPv6 or FQDN)");
	else if (type && strcmp(type, "IPv4") && strcmp(type, "IPv6") && strcmp(type, "FQDN"))
		derr_field(c, h->root, "addressType", "invalid addressType \"%s\"; must be IPv4, "
			   "IPv6 or FQDN", type);
	fqdn = type && !strcmp(type, "FQDN");
	free(type);
	slice_list(c, h->root, "endpoints", fqdn, &s, true);
	slice_list(c, h->root, "ports", fqdn, &s, false);
	DECODE_CLOSE(c, errors, c->m->endpoint_slices, s, pal_endpoint_slice_clear);
}
