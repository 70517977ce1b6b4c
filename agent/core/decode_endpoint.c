/* HostEndpoint and WorkloadEndpoint decoders (validateHostEndpointSpec,
 * validateWorkloadEndpointSpec, validateEndpointPort). */
#include "decode.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const hep_fields[] = { "node", "interfaceName", "expectedIPs", "profiles",
					  "ports", NULL };
static const char *const wep_fields[] = { "orchestrator", "workload", "node", "containerID",
					  "pod", "endpoint", "serviceAccountName", "ipNetworks",
					  "ipNATs", "ipv4Gateway", "ipv6Gateway", "profiles",
					  "interfaceName", "mac", "ports",
					  "allowSpoofedSourcePrefixes", "qosControls", NULL };
static const char *const hep_port_fields[] = { "name", "protocol", "port", NULL };
static const char *const wep_port_fields[] = { "name", "protocol", "port", "hostPort", "hostIP",
					       NULL };
static const char *const ipnat_fields[] = { "internalIP", "externalIP", "source", NULL };
static const char *const qos_fields[] = { "ingressBandwidth", "egressBandwidth",
					  "ingressBurst", "egressBurst",
					  "ingressPeakrate", "egressPeakrate",
					  "ingressMinburst", "egressMinburst",
					  "ingressPacketRate", "egressPacketRate",
					  "ingressPacketBurst", "egressPacketBurst",
					  "ingressMaxConnections", "egressMaxConnections",
					  "dscp", NULL };

/* Calico: "*" or 1-15 of [a-zA-Z0-9_.-] (a Linux interface name). */
static bool interface_ok(const char *s)
{
	size_t len = strlen(s);

	if (strcmp(s, "*") == 0)
		return true;
	if (len == 0 || len > 15)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static int get_interface(struct dctx *c, const struct yt_node *spec, char **out)
{
	int r = get_opt_str(c, spec, "interfaceName", out);

	if (r > 0 && !interface_ok(*out)) {
		derr_field(c, spec, "interfaceName", "invalid interface name \"%s\": 1-15 letters, "
						     "digits, '_', '.' or '-', or \"*\" for all",
			   *out);
		return -1;
	}
	return r;
}

static int get_profiles(struct dctx *c, const struct yt_node *spec, char ***out, size_t *n)
{
	int r = get_str_list(c, spec, "profiles", out, n);

	for (size_t i = 0; r > 0 && i < *n; i++) {
		if (!is_dns_subdomain((*out)[i])) {
			const struct yt_node *l = yt_map_get(spec, "profiles");
			size_t old = path_push(c, "profiles");

			path_push_index(c, i);
			derr(c, l->items[i], "invalid profile name \"%s\"", (*out)[i]);
			path_pop(c, old);
			r = -1;
		}
	}
	return r;
}

static int decode_endpoint_ports(struct dctx *c, const struct yt_node *spec, bool workload,
			  struct pal_endpoint_port **out, size_t *n_out)
{
	const struct yt_node *n = yt_map_get(spec, "ports");
	struct pal_endpoint_port *v;
	size_t old, k = 0;
	int r = 1;

	if ((r = enter_field(c, n, "ports", YT_SEQ, &old)) <= 0)
		return r;
	v = xcalloc(n->n_items, sizeof(*v));
	for (size_t i = 0; i < n->n_items; i++) {
		const struct yt_node *it = n->items[i];
		size_t o2 = path_push_index(c, i);
		struct pal_protocol proto = { 0 };
		char *name = NULL;
		long long port = 0, host_port = 0;
		int ok = 1;

		if (!check_fields(c, it, workload ? wep_port_fields : hep_port_fields, NULL)) {
			r = -1;
			path_pop(c, o2);
			continue;
		}
		if (get_str(c, it, "name", &name) < 0)
			ok = -1;
		else if (name && !is_port_name(name)) {
			derr_field(c, it, "name", "invalid port name \"%s\": at most 15 lower case "
						  "letters, digits and '-', with at least one letter",
				   name);
			ok = -1;
		}
		if (get_protocol(c, it, "protocol", &proto) < 0)
			ok = -1;
		else if (!proto.set) {
			derr_field(c, it, "protocol", "missing protocol: set TCP, UDP or SCTP");
			ok = -1;
		} else if (!protocol_supports_ports(proto.num)) {
			derr_field(c, it, "protocol", "endpoint port protocol must be TCP, UDP or "
						      "SCTP");
			ok = -1;
		}
		if (get_int(c, it, "port", 1, 65535, &port) == 0) {
			derr_field(c, it, "port", "missing port number (1-65535)");
			ok = -1;
		}
		if (workload) {
			char *host_ip = NULL;
			struct pal_cidr a;
			bool host_bits = false;

			if (get_int(c, it, "hostPort", 0, 65535, &host_port) < 0)
				ok = -1;
			/* Calico's "net": an address or a strictly masked prefix. */
			if (get_str(c, it, "hostIP", &host_ip) > 0 &&
			    (!pal_cidr_parse(host_ip, &a, &host_bits) || host_bits)) {
				derr_field(c, it, "hostIP", "invalid IP address \"%s\"", host_ip);
				ok = -1;
			}
			free(host_ip);
			if (!name && host_port == 0 && ok > 0) {
				derr(c, it, "a workload endpoint port needs a name unless hostPort is "
					    "set");
				ok = -1;
			}
		} else if (!name && ok > 0) {
			derr_field(c, it, "name", "missing port name");
			ok = -1;
		}
		if (ok > 0) {
			v[k].name = name ? name : xstrdup("");
			v[k].protocol = proto.num;
			v[k].port = (uint16_t)port;
			k++;
		} else {
			free(name);
			r = -1;
		}
		path_pop(c, o2);
	}
	path_pop(c, old);
	*out = v;
	*n_out = k;
	return r;
}

static int get_addr_list(struct dctx *c, const struct yt_node *spec, const char *key,
			 struct pal_addr **out, size_t *n_out)
{
	char **v = NULL;
	size_t n = 0;
	int r = get_str_list(c, spec, key, &v, &n);

	if (r <= 0)
		return r;
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		if (!pal_addr_parse(v[i], &(*out)[i])) {
			size_t old = path_push(c, key);

			path_push_index(c, i);
			derr(c, yt_map_get(spec, key)->items[i],
			     "invalid IP address \"%s\" (a plain address, no prefix length)", v[i]);
			path_pop(c, old);
			r = -1;
		}
	}
	*n_out = n;
	free_str_list(v, n);
	return r;
}

void decode_host_endpoint(struct dctx *c, struct resource_head *h)
{
	struct pal_host_endpoint e = { 0 };
	size_t old, errors = decode_open(c, h, &e.pos, &e.name, NULL, &e.labels);

	check_subdomain_name(c, h, "name", e.name);
	old = path_push(c, "spec");
	if (!h->spec) {
		derr(c, h->root, "a HostEndpoint needs a spec with node and interfaceName or "
				 "expectedIPs");
	} else if (check_fields(c, h->spec, hep_fields, NULL)) {
		get_opt_str(c, h->spec, "node", &e.node);
		get_interface(c, h->spec, &e.interface_name);
		get_addr_list(c, h->spec, "expectedIPs", &e.expected_ips, &e.n_expected_ips);
		get_profiles(c, h->spec, &e.profiles, &e.n_profiles);
		decode_endpoint_ports(c, h->spec, false, &e.ports, &e.n_ports);
		if (c->d->n_errors == errors && !e.node)
			derr(c, h->spec, "no node has been specified; set spec.node");
		if (c->d->n_errors == errors && !e.interface_name && e.n_expected_ips == 0)
			derr(c, h->spec, "no interface or expected IPs have been specified; set "
					 "spec.interfaceName or spec.expectedIPs");
	}
	path_pop(c, old);
	DECODE_CLOSE(c, errors, c->m->host_endpoints, e, pal_host_endpoint_clear);
}

/* 6 colon- or dash-separated hex pairs (Go's net.ParseMAC for 48-bit addresses). */
static bool mac_ok(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != s[2] || (s[i] != ':' && s[i] != '-'))
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static void decode_wep_nets(struct dctx *c, const struct yt_node *spec,
			    struct pal_workload_endpoint *e)
{
	const struct yt_node *nats;

	if (get_cidr_list(c, spec, "ipNetworks", &e->ip_networks, &e->n_ip_networks, SIZE_MAX) > 0) {
		for (size_t i = 0; i < e->n_ip_networks; i++) {
			unsigned full = e->ip_networks[i].addr.family == PAL_AF_INET4 ? 32 : 128;

			if (e->ip_networks[i].prefix_len != full) {
				size_t old = path_push(c, "ipNetworks");

				path_push_index(c, i);
				derr(c, yt_map_get(spec, "ipNetworks")->items[i],
				     "IP network contains multiple addresses; a workload address is "
				     "a /32 or /128");
				path_pop(c, old);
			}
		}
	}
	{
		static const char *const gws[] = { "ipv4Gateway", "ipv6Gateway" };

		for (int g = 0; g < 2; g++) {
			char *s = NULL;
			struct pal_cidr gw;

			if (get_opt_str(c, spec, gws[g], &s) > 0 &&
			    (!pal_cidr_parse(s, &gw, NULL) ||
			     gw.addr.family != (g == 0 ? PAL_AF_INET4 : PAL_AF_INET6)))
				derr_field(c, spec, gws[g], "invalid IPv%d gateway address \"%s\"",
					   g == 0 ? 4 : 6, s);
			free(s);
		}
		get_cidr_list(c, spec, "allowSpoofedSourcePrefixes", &e->allow_spoofed,
			      &e->n_allow_spoofed, SIZE_MAX);
	}
	nats = yt_map_get(spec, "ipNATs");
	if (!yt_is_null(nats)) {
		size_t old = path_push(c, "ipNATs");

		if (expect_seq(c, nats)) {
			for (size_t i = 0; i < nats->n_items; i++) {
				size_t o2 = path_push_index(c, i);
				char *in = NULL, *ex = NULL;
				struct pal_addr ai, ae;

				if (check_fields(c, nats->items[i], ipnat_fields, NULL) &&
				    get_str(c, nats->items[i], "internalIP", &in) >= 0 &&
				    get_str(c, nats->items[i], "externalIP", &ex) >= 0) {
					bool in_ok = in && pal_addr_parse(in, &ai);
					bool ex_ok = ex && pal_addr_parse(ex, &ae);
					bool inside = false;

					if (!in_ok || !ex_ok) {
						derr(c, nats->items[i], "internalIP and externalIP must "
									"be IP addresses");
					} else if (ai.family != ae.family) {
						derr(c, nats->items[i], "mismatched IP versions");
					} else {
						for (size_t j = 0; j < e->n_ip_networks; j++)
							inside |= pal_cidr_contains(
								&e->ip_networks[j], &ai);
						if (!inside)
							derr_field(c, nats->items[i], "internalIP",
								   "NAT is not in the endpoint networks");
					}
				}
				free(in);
				free(ex);
				path_pop(c, o2);
			}
		}
		path_pop(c, old);
	}
}

void decode_workload_endpoint(struct dctx *c, struct resource_head *h)
{
	struct pal_workload_endpoint e = { 0 };
	char *mac = NULL;
	size_t old, errors = decode_open(c, h, &e.pos, &e.name, &e.namespace, &e.labels);

	check_subdomain_name(c, h, "name", e.name);
	old = path_push(c, "spec");
	if (h->spec && check_fields(c, h->spec, wep_fields, NULL)) {
		const struct yt_node *qos = yt_map_get(h->spec, "qosControls");

		get_opt_str(c, h->spec, "orchestrator", &e.orchestrator);
		get_opt_str(c, h->spec, "workload", &e.workload);
		get_opt_str(c, h->spec, "node", &e.node);
		get_opt_str(c, h->spec, "containerID", &e.container_id);
		get_opt_str(c, h->spec, "pod", &e.pod);
		get_opt_str(c, h->spec, "endpoint", &e.endpoint);
		get_opt_str(c, h->spec, "serviceAccountName", &e.service_account);
		get_interface(c, h->spec, &e.interface_name);
		get_profiles(c, h->spec, &e.profiles, &e.n_profiles);
		decode_endpoint_ports(c, h->spec, true, &e.ports, &e.n_ports);
		decode_wep_nets(c, h->spec, &e);
		if (get_opt_str(c, h->spec, "mac", &mac) > 0 && !mac_ok(mac))
			derr_field(c, h->spec, "mac", "invalid MAC address \"%s\"", mac);
		/* QoS controls do not affect policy: only the field names are checked. */
		if (!yt_is_null(qos)) {
			size_t o2 = path_push(c, "qosControls");

			check_fields(c, qos, qos_fields, NULL);
			path_pop(c, o2);
		}
	}
	path_pop(c, old);
	free(mac);
	DECODE_CLOSE(c, errors, c->m->workload_endpoints, e, pal_workload_endpoint_clear);
}
