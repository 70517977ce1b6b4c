/* polctl trace: --from-pod/--to-pod and the trace's warnings (see trace_pods.h). */
#include "trace_pods.h"

#include <stdio.h>
#include <string.h>

const struct pal_workload_endpoint *trace_pod_find(const struct pal_model *m, const char *spec,
						   int family, struct pal_addr *addr, char *err,
						   size_t errlen)
{
	const char *slash = strchr(spec, '/');
	size_t nslen = slash ? (size_t)(slash - spec) : 0;

	if (!slash || !nslen || !slash[1] || strchr(slash + 1, '/')) {
		snprintf(err, errlen, "\"%s\" is not NAMESPACE/NAME", spec);
		return NULL;
	}
	for (size_t i = 0; i < m->workload_endpoints.n; i++) {
		const struct pal_workload_endpoint *w = &m->workload_endpoints.v[i];
		const char *pod = w->pod ? w->pod : w->name;

		if (!w->namespace || strlen(w->namespace) != nslen ||
		    strncmp(w->namespace, spec, nslen) || !pod || strcmp(pod, slash + 1))
			continue;
		if (!w->interface_name) {
			snprintf(err, errlen, "pod %s (WorkloadEndpoint %s) has no interfaceName", spec,
				 w->name);
			return NULL;
		}
		for (size_t a = 0; a < w->n_ip_networks; a++)
			if (!family || w->ip_networks[a].addr.family == family) {
				*addr = w->ip_networks[a].addr;
				return w;
			}
		snprintf(err, errlen, "pod %s (WorkloadEndpoint %s) has no IPv%d address in "
			 "ipNetworks", spec, w->name, family ? family : 4);
		return NULL;
	}
	snprintf(err, errlen, "no WorkloadEndpoint for pod %s (spec.pod, or its name, in namespace "
		 "%.*s)", spec, (int)nslen, spec);
	return NULL;
}

static bool node_has_endpoints(const struct pal_model *m, const char *node)
{
	for (size_t i = 0; i < m->host_endpoints.n; i++)
		if (m->host_endpoints.v[i].node && strcmp(m->host_endpoints.v[i].node, node) == 0)
			return true;
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		if (m->workload_endpoints.v[i].node &&
		    strcmp(m->workload_endpoints.v[i].node, node) == 0)
			return true;
	return false;
}

/* "a, b, c" of the nodes the endpoints name (first 8). */
static void node_names(const struct pal_model *m, char *buf, size_t len)
{
	size_t n = 0, used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < m->host_endpoints.n + m->workload_endpoints.n && n < 8; k++) {
		const char *node = k < m->host_endpoints.n ?
					   m->host_endpoints.v[k].node :
					   m->workload_endpoints.v[k - m->host_endpoints.n].node;

		if (!node || strstr(buf, node))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 n++ ? ", " : "", node);
	}
	if (!n)
		snprintf(buf, len, "none");
}

json_t *trace_warnings(const struct polctl_globals *g, const struct pal_model *m,
		       const struct pal_verdict *v, const char *iface, const char *out_iface)
{
	json_t *w = json_array();
	char nodes[256];

	if (!w)
		return NULL;
	if (m && !node_has_endpoints(m, g->node)) {
		node_names(m, nodes, sizeof(nodes));
		json_array_append_new(w, json_sprintf("--node \"%s\" matches no HostEndpoint or "
						      "WorkloadEndpoint (nodes in the policy: %s): "
						      "nothing is policed on it",
						      g->node, nodes));
	}
	for (size_t i = 0; i < v->n_steps; i++) {
		const char *note = v->steps[i].note;
		bool out = strstr(note, "outgoing") != NULL;

		if (!strstr(note, "no endpoint"))
			continue;
		json_array_append_new(w, json_sprintf("interface \"%s\" is no endpoint of node \"%s\": "
						      "the verdict is that of an unpoliced interface",
						      out && out_iface ? out_iface : iface, g->node));
	}
	return w;
}

void trace_warnings_print(json_t *warnings)
{
	size_t i;
	json_t *s;

	json_array_foreach(warnings, i, s)
		fprintf(stderr, "polctl: warning: %s\n", json_string_value(s));
}
