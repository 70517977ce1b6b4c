/* Calico's `services:` rule match, as felix resolves it: a Service (name, namespace) stands for
 * the endpoints of the EndpointSlices labelled kubernetes.io/service-name=<name> in that
 * namespace; its cluster IP is never matched (policy sees the packet after kube-proxy's DNAT).
 *   - source: the endpoints' addresses (felix's "svcnoport" IP set);
 *   - destination: (address, protocol, port) of every endpoint address and every slice port with
 *     a number (felix's "svc" IP-and-port set); a slice port without a number gives no member.
 * The destination set is the side's whole port match: Calico's validation (decode_rule.c) allows
 * no destination ports beside a destination Service, only source Services in ingress rules and
 * only destination Services in egress rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile_internal.h"

static bool slice_of(const struct pal_endpoint_slice *s, const char *ns, const char *name)
{
	return s->service_name && !strcmp(s->service_name, name) && s->namespace &&
	       !strcmp(s->namespace, ns);
}

int pal_cc_service_addr_set(struct pal_cc *cc, const char *ns, const char *name, uint32_t *idx)
{
	const struct pal_model *m = cc->m;
	struct pal_cidr *v = NULL;
	size_t n = 0;
	char *origin;

	for (size_t i = 0; i < m->endpoint_slices.n; i++) {
		const struct pal_endpoint_slice *s = &m->endpoint_slices.v[i];
		struct pal_cidr *nv;

		if (!slice_of(s, ns, name) || !s->n_addrs)
			continue;
		nv = realloc(v, (n + s->n_addrs) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		for (size_t a = 0; a < s->n_addrs; a++)
			v[n++] = (struct pal_cidr){ .addr = s->addrs[a],
						    .prefix_len = s->addrs[a].family ==
									  PAL_AF_INET4 ? 32 : 128 };
	}
	if (asprintf(&origin, "endpoints of service %s/%s", ns, name) < 0) {
		free(v);
		return -ENOMEM;
	}
	return pal_cc_origin_set(cc, origin, v, n, idx);
}

int pal_cc_service_port_set(struct pal_cc *cc, const char *ns, const char *name, uint32_t *idx)
{
	const struct pal_model *m = cc->m;
	struct pal_ir_named_port *v = NULL;
	size_t n = 0;
	char *origin = NULL;

	for (size_t i = 0; i < m->endpoint_slices.n; i++) {
		const struct pal_endpoint_slice *s = &m->endpoint_slices.v[i];

		if (!slice_of(s, ns, name))
			continue;
		for (size_t p = 0; p < s->n_ports; p++) {
			for (size_t a = 0; a < s->n_addrs && s->ports[p].port; a++) {
				struct pal_ir_named_port mem = { .addr = s->addrs[a],
								 .protocol = s->ports[p].protocol,
								 .port = s->ports[p].port };
				struct pal_ir_named_port *nv = realloc(v, (n + 1) * sizeof(*v));
				if (!nv)
					goto nomem;
				v = nv;
				v[n++] = mem;
			}
		}
	}
	if (asprintf(&origin, "endpoints and ports of service %s/%s", ns, name) < 0)
		goto nomem;
	return pal_cc_origin_port_set(cc, origin, v, n, idx);
nomem:
	free(v);
	return -ENOMEM;
}
