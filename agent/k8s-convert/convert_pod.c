/* v1 Pod -> projectcalico.org/v3 WorkloadEndpoint, as Calico's Kubernetes backend converts it.
 *
 *  - Only pods with a network of their own: not hostNetwork, not finished (phase Succeeded,
 *    Failed or Completed, or being deleted after the CNI released the pod's addresses: Calico's
 *    CNI clears the cni.projectcalico.org/podIP annotation, the AWS VPC CNI
 *    vpc.amazonaws.com/pod-ips), scheduled (spec.nodeName) and with at least one IP. Anything
 *    else converts to nothing, so a released address that a new pod gets is that pod's alone.
 *  - IPs: status.podIPs, else status.podIP, else the cni.projectcalico.org/podIPs annotation
 *    (comma separated), else cni.projectcalico.org/podIP, else vpc.amazonaws.com/pod-ips; each
 *    as a /32 or /128 of the address itself (a prefix length in the annotation is dropped, as
 *    Calico does).
 *  - Name: <node>-k8s-<pod>-eth0, each part with '-' doubled (Calico's workload endpoint name).
 *  - Labels: the pod's, then projectcalico.org/namespace, /orchestrator = k8s and
 *    /serviceaccount (when the pod has one whose name is a label value: shorter than 63
 *    characters, Calico's rule; a pod's own label of that key is dropped otherwise, so it cannot
 *    pose as a service account). Profiles kns.<ns> and ksa.<ns>.<sa>.
 *  - Ports: each port of spec.containers, then of spec.initContainers (sidecars serve on theirs),
 *    with a name or a hostPort (protocol TCP when unset; a protocol other than TCP, UDP or SCTP
 *    is skipped, as Calico skips it).
 *  - Pods of this node (cfg->node_name) get the host side of their veth as interfaceName; pods of
 *    other nodes become endpoints without one, so selectors still resolve to their addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha1.h>
#include "convert_internal.h"
#include "model.h"
#include "net.h"

#define ANN_POD_IPS "cni.projectcalico.org/podIPs"
#define ANN_POD_IP "cni.projectcalico.org/podIP"
#define ANN_CONTAINER_ID "cni.projectcalico.org/containerID"
#define ANN_AWS_POD_IPS "vpc.amazonaws.com/pod-ips"
#define MAX_POD_IPS 16
#define IFNAME_LEN 16

struct pod_ips {
	struct pal_addr v[MAX_POD_IPS];
	size_t n;
};

static int add_ip(struct k8s_conv *c, struct pod_ips *ips, const char *text, const char *path)
{
	int err;

	if (ips->n == MAX_POD_IPS)
		return k8s_fail(c, path, "more than %d addresses", MAX_POD_IPS);
	if ((err = k8s_parse_addr(c, text, path, &ips->v[ips->n])))
		return err;
	for (size_t i = 0; i < ips->n; i++)
		if (pal_addr_equal(&ips->v[i], &ips->v[ips->n]))
			return 0;
	ips->n++;
	return 0;
}

static int ips_from_annotation(struct k8s_conv *c, struct pod_ips *ips, const char *key,
			       const char *value)
{
	char path[128], item[PAL_CIDR_STRLEN];
	const char *p = value;
	int err;

	snprintf(path, sizeof(path), "metadata.annotations.%s", key);
	while (*p) {
		size_t len = strcspn(p, ",");

		while (len && p[0] == ' ')
			p++, len--;
		if (len == 0 || len >= sizeof(item))
			return k8s_fail(c, path, "\"%s\" is not a comma-separated list of IP "
				       "addresses", value);
		memcpy(item, p, len);
		item[len] = '\0';
		while (len && item[len - 1] == ' ')
			item[--len] = '\0';
		if ((err = add_ip(c, ips, item, path)))
			return err;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

static int ips_from_status(struct k8s_conv *c, const json_t *status, struct pod_ips *ips)
{
	const json_t *list, *item;
	const char *ip;
	char path[64];
	size_t i;
	int r;

	if ((r = k8s_get_array(c, status, "podIPs", "status.podIPs", &list)) < 0)
		return r;
	json_array_foreach(list, i, item) {
		if ((r = k8s_item_object(c, item, "status.podIPs", i)) ||
		    (r = k8s_get_item_string(c, item, "status.podIPs", i, "ip", path, sizeof(path),
					     &ip)) < 0)
			return r;
		if (r == 0)
			return k8s_fail(c, path, "missing");
		if ((r = add_ip(c, ips, ip, path)))
			return r;
	}
	if (ips->n)
		return 0;
	if ((r = k8s_get_string(c, status, "podIP", "status.podIP", &ip)) < 0)
		return r;
	return r && *ip ? add_ip(c, ips, ip, "status.podIP") : 0;
}

/* Calico's getPodIPs: the pod's status (its addresses as Kubernetes has them), and only before
 * the kubelet reports them the addresses Calico's CNI annotated. */
static int pod_ips(struct k8s_conv *c, const struct k8s_meta *m, const json_t *status,
		   struct pod_ips *ips)
{
	const char *a;
	int r = ips_from_status(c, status, ips);

	if (r || ips->n)
		return r;
	a = k8s_annotation(m, ANN_POD_IPS);
	if (a && *a)
		return ips_from_annotation(c, ips, ANN_POD_IPS, a);
	a = k8s_annotation(m, ANN_POD_IP);
	if (a && *a)
		return ips_from_annotation(c, ips, ANN_POD_IP, a);
	a = k8s_annotation(m, ANN_AWS_POD_IPS);
	if (a && *a)
		return ips_from_annotation(c, ips, ANN_AWS_POD_IPS, a);
	return 0;
}

/* The annotation is there and empty: the CNI that set it has released the pod's addresses. */
static bool annotation_cleared(const struct k8s_meta *m, const char *key)
{
	const char *a = k8s_annotation(m, key);

	return a && !*a;
}

/* Calico's IsFinished. A terminating pod keeps status.podIP until it is gone, but its address
 * may already be a new pod's: the CNI's cleared annotation says when it was released. */
static int pod_finished(struct k8s_conv *c, const struct k8s_meta *m, const json_t *status,
			bool *finished)
{
	const char *phase;
	int r = k8s_get_string(c, status, "phase", "status.phase", &phase);

	if (r < 0)
		return r;
	*finished = (m->deleting && (annotation_cleared(m, ANN_POD_IP) ||
				     annotation_cleared(m, ANN_AWS_POD_IPS))) ||
		    (r > 0 && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
			       !strcmp(phase, "Completed")));
	return 0;
}

/* <node>-k8s-<pod>-eth0 with '-' doubled in each part. */
static int wep_name(struct k8s_conv *c, const char *node, const char *pod, char *out, size_t len)
{
	const char *parts[] = { node, "k8s", pod, "eth0" };
	size_t k = 0;

	for (size_t i = 0; i < 4; i++) {
		for (const char *s = parts[i]; *s; s++) {
			if (k + 3 > len)
				goto too_long;
			if (*s == '-')
				out[k++] = '-';
			out[k++] = *s;
		}
		if (i < 3) {
			if (k + 2 > len)
				goto too_long;
			out[k++] = '-';
		}
	}
	out[k] = '\0';
	if (k <= 253)
		return 0;
too_long:
	return k8s_fail(c, "metadata.name", "workload endpoint name \"<node>-k8s-<pod>-eth0\" "
		       "would be longer than 253 characters");
}

/* Calico's veth name: "cali" + the first 11 hex digits of sha1("<namespace>.<pod>"). */
static void calico_veth_name(const char *ns, const char *pod, char out[IFNAME_LEN])
{
	struct sha1_ctx ctx;
	uint8_t digest[SHA1_DIGEST_SIZE];
	char hex[2 * SHA1_DIGEST_SIZE + 1];

	sha1_init(&ctx);
	sha1_update(&ctx, strlen(ns), (const uint8_t *)ns);
	sha1_update(&ctx, 1, (const uint8_t *)".");
	sha1_update(&ctx, strlen(pod), (const uint8_t *)pod);
	sha1_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	snprintf(out, IFNAME_LEN, "cali%.11s", hex);
}

/* The host-side interface of a local pod; "" when it cannot be known yet (no route). */
static int local_iface(struct k8s_conv *c, const struct k8s_meta *m, const struct pod_ips *ips,
		       char out[IFNAME_LEN])
{
	const struct pal_k8s_convert_cfg *cfg = c->cfg;
	char addr[PAL_CIDR_STRLEN];

	out[0] = '\0';
	if (cfg->iface_naming == PAL_K8S_IFACE_CALICO) {
		calico_veth_name(m->ns, m->name, out);
		return 0;
	}
	if (cfg->iface_naming != PAL_K8S_IFACE_ROUTE || !cfg->iface_for_addr)
		return k8s_fail(c, NULL, "configuration: route-based interface naming needs "
			       "iface_for_addr");
	for (size_t i = 0; i < ips->n; i++) {
		int r = cfg->iface_for_addr(cfg->iface_ctx, pal_addr_str(&ips->v[i], addr), out,
					    IFNAME_LEN);

		if (r == 0 && out[0])
			return 0;
		out[0] = '\0';
		if (r != -ENOENT && r != 0)
			return r == -ENOMEM ? r : k8s_fail(c, NULL, "interface of %s: %s", addr,
							   strerror(-r));
	}
	return 0;
}

/* Calico labels the endpoint with its service account only below 63 characters (a longer name is
 * no label value; serviceAccounts matches go by spec.serviceAccountName, which has any length). */
#define SA_LABEL_MAX 62

static json_t *wep_labels(const struct k8s_meta *m, const char *sa)
{
	json_t *l = m->labels ? json_deep_copy(m->labels) : json_object();

	if (!l)
		return NULL;
	json_object_del(l, PAL_LABEL_SERVICE_ACCOUNT); /* only the pod's spec may say it */
	if (k8s_put_str(l, PAL_LABEL_NAMESPACE, m->ns) ||
	    k8s_put_str(l, PAL_LABEL_ORCHESTRATOR, "k8s") ||
	    (sa && strlen(sa) <= SA_LABEL_MAX && k8s_put_str(l, PAL_LABEL_SERVICE_ACCOUNT, sa))) {
		json_decref(l);
		return NULL;
	}
	return l;
}

static json_t *ip_networks(const struct pod_ips *ips)
{
	json_t *a = json_array();
	char buf[PAL_CIDR_STRLEN + 8];

	for (size_t i = 0; a && i < ips->n; i++) {
		char addr[PAL_CIDR_STRLEN];

		snprintf(buf, sizeof(buf), "%s/%d", pal_addr_str(&ips->v[i], addr),
			 ips->v[i].family == PAL_AF_INET4 ? 32 : 128);
		if (json_array_append_new(a, json_string(buf))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* One container port -> a WEP port, or nothing (no name and no hostPort, or a protocol Calico
 * does not model). */
static int container_port(struct k8s_conv *c, const json_t *p, const char *path, json_t *out)
{
	char fp[160];
	const char *name = NULL, *proto = NULL, *host_ip = NULL;
	long long port, host_port;
	json_t *wp;
	int r;

	if (!json_is_object(p))
		return k8s_fail(c, path, "not an object");
	snprintf(fp, sizeof(fp), "%s.containerPort", path);
	if ((r = k8s_get_int(c, p, "containerPort", fp, 1, 65535, &port)) < 0)
		return r;
	if (r == 0)
		return k8s_fail(c, fp, "missing");
	snprintf(fp, sizeof(fp), "%s.hostPort", path);
	if ((r = k8s_get_int(c, p, "hostPort", fp, 0, 65535, &host_port)) < 0)
		return r;
	snprintf(fp, sizeof(fp), "%s.name", path);
	if ((r = k8s_get_string(c, p, "name", fp, &name)) < 0)
		return r;
	snprintf(fp, sizeof(fp), "%s.protocol", path);
	if ((r = k8s_get_string(c, p, "protocol", fp, &proto)) < 0)
		return r;
	snprintf(fp, sizeof(fp), "%s.hostIP", path);
	if ((r = k8s_get_string(c, p, "hostIP", fp, &host_ip)) < 0)
		return r;
	if ((!name || !*name) && host_port == 0)
		return 0;
	if (!proto || !*proto)
		proto = "TCP";
	if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
		return 0;
	wp = json_pack("{s:s, s:I}", "protocol", proto, "port", (json_int_t)port);
	if (!wp || json_array_append_new(out, wp))
		return -ENOMEM;
	if ((name && *name && (r = k8s_put_str(wp, "name", name))) ||
	    (host_port && (r = k8s_put(wp, "hostPort", json_integer(host_port)))) ||
	    (host_port && host_ip && *host_ip && (r = k8s_put_str(wp, "hostIP", host_ip))))
		return r;
	return 0;
}

/* The ports of every container of spec.<key> ("containers", "initContainers") appended to out. */
static int ports_of(struct k8s_conv *c, const json_t *spec, const char *key, json_t *out)
{
	const json_t *containers, *ct, *ports, *p;
	char base[32], path[128];
	size_t i, j;
	int r;

	snprintf(base, sizeof(base), "spec.%s", key);
	if ((r = k8s_get_array(c, spec, key, base, &containers)) < 0)
		return r;
	json_array_foreach(containers, i, ct) {
		if ((r = k8s_item_object(c, ct, base, i)))
			return r;
		snprintf(path, sizeof(path), "%s[%zu].ports", base, i);
		if ((r = k8s_get_array(c, ct, "ports", path, &ports)) < 0)
			return r;
		json_array_foreach(ports, j, p) {
			snprintf(path, sizeof(path), "%s[%zu].ports[%zu]", base, i, j);
			if ((r = container_port(c, p, path, out)))
				return r;
		}
	}
	return 0;
}

/* As Calico: the containers' ports, then the init containers' (a sidecar, an init container
 * with restartPolicy Always, serves on its ports for the pod's whole life). */
static int container_ports(struct k8s_conv *c, const json_t *spec, json_t **out)
{
	int r;

	*out = json_array();
	if (!*out)
		return -ENOMEM;
	if ((r = ports_of(c, spec, "containers", *out)))
		return r;
	return ports_of(c, spec, "initContainers", *out);
}

struct pod_spec {
	const char *node, *sa;
	bool host_network;
};

static int read_pod_spec(struct k8s_conv *c, const json_t *spec, struct pod_spec *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = k8s_get_string(c, spec, "nodeName", "spec.nodeName", &s->node)) < 0 ||
	    (r = k8s_get_string(c, spec, "serviceAccountName", "spec.serviceAccountName",
				&s->sa)) < 0 ||
	    (r = k8s_get_bool(c, spec, "hostNetwork", "spec.hostNetwork", &s->host_network)) < 0)
		return r;
	if (s->sa && !*s->sa)
		s->sa = NULL;
	if (s->node && !*s->node)
		s->node = NULL;
	return 0;
}

static int wep_spec(struct k8s_conv *c, const struct k8s_meta *m, const struct pod_spec *ps,
		    const struct pod_ips *ips, json_t *ports, json_t *spec)
{
	char prof[600], ifname[IFNAME_LEN] = "";
	const char *cid = k8s_annotation(m, ANN_CONTAINER_ID);
	json_t *profiles;
	int err;

	if (c->cfg->node_name && !strcmp(ps->node, c->cfg->node_name) &&
	    (err = local_iface(c, m, ips, ifname)))
		return err;
	if ((err = k8s_put_str(spec, "orchestrator", "k8s")) ||
	    (err = k8s_put_str(spec, "node", ps->node)) ||
	    (err = k8s_put_str(spec, "pod", m->name)) ||
	    (err = k8s_put_str(spec, "endpoint", "eth0")) ||
	    (err = k8s_put(spec, "ipNetworks", ip_networks(ips))))
		return err;
	if ((ifname[0] && (err = k8s_put_str(spec, "interfaceName", ifname))) ||
	    (cid && *cid && (err = k8s_put_str(spec, "containerID", cid))) ||
	    (ps->sa && (err = k8s_put_str(spec, "serviceAccountName", ps->sa))))
		return err;
	profiles = json_array();
	if ((err = k8s_put(spec, "profiles", profiles)))
		return err;
	snprintf(prof, sizeof(prof), "kns.%s", m->ns);
	if (json_array_append_new(profiles, json_string(prof)))
		return -ENOMEM;
	if (ps->sa) {
		snprintf(prof, sizeof(prof), "ksa.%s.%s", m->ns, ps->sa);
		if (json_array_append_new(profiles, json_string(prof)))
			return -ENOMEM;
	}
	if (json_array_size(ports))
		return k8s_put(spec, "ports", json_incref(ports));
	return 0;
}

int k8s_convert_pod(struct k8s_conv *c)
{
	struct k8s_meta m;
	struct pod_spec ps;
	struct pod_ips ips = { .n = 0 };
	const json_t *spec, *status;
	json_t *ports = NULL, *doc, *wspec, *labels;
	char name[512];
	bool finished;
	int err;

	if ((err = k8s_get_meta(c, true, &m)) ||
	    (err = k8s_get_object(c, c->obj, "spec", "spec", &spec)) < 0 ||
	    (err = k8s_get_object(c, c->obj, "status", "status", &status)) < 0 ||
	    (err = read_pod_spec(c, spec, &ps)) || (err = pod_finished(c, &m, status, &finished)) ||
	    (err = pod_ips(c, &m, status, &ips)) || (err = container_ports(c, spec, &ports)))
		goto out;
	err = 0;
	if (ps.host_network || finished || !ps.node || ips.n == 0)
		goto out;
	if ((err = wep_name(c, ps.node, m.name, name, sizeof(name))))
		goto out;
	labels = wep_labels(&m, ps.sa);
	err = labels ? k8s_new_doc(c, K8S_CALICO_V3, "WorkloadEndpoint", name, m.ns, labels, &doc)
		     : -ENOMEM;
	json_decref(labels);
	if (err)
		goto out;
	wspec = json_object();
	if (!(err = k8s_put(doc, "spec", wspec)))
		err = wep_spec(c, &m, &ps, &ips, ports, wspec);
out:
	json_decref(ports);
	return err;
}
