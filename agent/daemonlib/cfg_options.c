/* Flags and config-file keys: one table drives getopt, the config file and --help. */
#include "cfg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "read_all.h"
#include "vec.h"
#include "yaml_tree.h"

typedef int (*setter_fn)(struct pald_config *c, const char *v, char *err, size_t errlen);

struct opt {
	const char *flag;    /* long flag without "--" */
	const char *key;     /* config-file key; NULL = flag only */
	const char *argname; /* NULL = no argument */
	bool list;           /* repeatable; flags replace the file's list */
	bool hidden;         /* test-only, listed separately in --help */
	setter_fn set;
	const char *help;
};

static int set_str(char **dst, const char *v, char *err, size_t errlen, const char *what)
{
	char *s;

	if (!*v) {
		snprintf(err, errlen, "%s must not be empty", what);
		return -EINVAL;
	}
	s = strdup(v);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int strv_add(struct pald_strv *sv, const char *v, size_t len, char *err, size_t errlen)
{
	if (vec_grow((void **)&sv->v, &sv->cap, sv->n + 1, sizeof(*sv->v)) ||
	    !(sv->v[sv->n] = strndup(v, len))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sv->n++;
	return 0;
}

static void strv_free(struct pald_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

static int set_config(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_str(&c->config_file, v, err, errlen, "--config");
}

static int set_policy_dir(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (!*v) {
		snprintf(err, errlen, "policy directory must not be empty");
		return -EINVAL;
	}
	/* Not split on commas: a directory name may contain one. */
	return strv_add(&c->policy_dirs, v, strlen(v), err, errlen);
}

static int set_datastore(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "files") && strcmp(v, "kubernetes")) {
		snprintf(err, errlen, "datastore must be files or kubernetes, got \"%s\"", v);
		return -EINVAL;
	}
	c->datastore = strcmp(v, "files") ? PALD_DATASTORE_KUBERNETES : PALD_DATASTORE_FILES;
	return 0;
}

static int set_kubeconfig(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_str(&c->kubeconfig, v, err, errlen, "kubeconfig");
}

static int set_workload_prefix(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_str(&c->workload_prefix, v, err, errlen, "workload interface prefix");
}

static int set_k8s_iface(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "calico") && strcmp(v, "route")) {
		snprintf(err, errlen, "kubernetes interface naming must be calico or route, got \"%s\"", v);
		return -EINVAL;
	}
	c->k8s_iface_by_route = strcmp(v, "route") == 0;
	return 0;
}

/* A flag without a value (on) or the config key's true|false. */
static int set_auto_hep(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	bool flag = !v || !*v; /* the flag carries no value */

	if (!flag && strcmp(v, "true") && strcmp(v, "false")) {
		snprintf(err, errlen, "autoHostEndpoints must be true or false, got \"%s\"", v);
		return -EINVAL;
	}
	c->auto_host_endpoints = flag || strcmp(v, "true") == 0;
	return 0;
}

static int set_node(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_str(&c->node, v, err, errlen, "node name");
}

static int set_bpffs(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (v[0] != '/') {
		snprintf(err, errlen, "bpffs directory must be an absolute path, got \"%s\"", v);
		return -EINVAL;
	}
	return set_str(&c->bpffs, v, err, errlen, "bpffs directory");
}

static int set_events_socket(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "none") != 0 && v[0] != '/') {
		snprintf(err, errlen, "events socket must be an absolute path or none, got \"%s\"", v);
		return -EINVAL;
	}
	return set_str(&c->events_socket, v, err, errlen, "events socket");
}

/* A numeric GID as such: in a container the host's group is not in the image's /etc/group, and
 * the socket's permissions are checked by number. */
static long numeric_gid(const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n >= (gid_t)-1)
		return -1;
	return (long)n;
}

/* Resolved now, so that a typo fails at start with the option's name, not at the first
 * connection. */
static int set_events_socket_group(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	struct group *g;
	long gid;

	errno = 0;
	g = *v ? getgrnam(v) : NULL;
	gid = g ? (long)g->gr_gid : numeric_gid(v);
	if (gid < 0) {
		snprintf(err, errlen, "events socket group \"%s\": %s", v,
			 errno ? strerror(errno) : "no such group (a name or a numeric GID)");
		return errno ? -errno : -EINVAL;
	}
	c->events_socket_gid = gid;
	return set_str(&c->events_socket_group, v, err, errlen, "events socket group");
}

static int set_iptables_backend(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "auto") && strcmp(v, "legacy") && strcmp(v, "nft")) {
		snprintf(err, errlen, "iptables backend must be auto, legacy or nft, got \"%s\"", v);
		return -EINVAL;
	}
	return set_str(&c->iptables_backend, v, err, errlen, "iptables backend");
}

static int set_interfaces(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	/* A comma list or one glob per flag; empty items are ignored. */
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");
		int rc;

		if (n > 0 && (rc = strv_add(&c->iface_globs, p, n, err, errlen)))
			return rc;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int set_xdp_mode(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	static const char *names[] = { "auto", "native", "generic", "off" };

	for (size_t i = 0; i < 4; i++)
		if (strcmp(v, names[i]) == 0) {
			c->xdp_mode = (enum pald_xdp_mode)i;
			return 0;
		}
	snprintf(err, errlen, "xdp mode must be auto, native, generic or off, got \"%s\"", v);
	return -EINVAL;
}

/* Failsafe lists are kept as text here and parsed once everything is read, so the file and the
 * flag are checked by the same code (pal_failsafe_parse) with the same messages. */
static int set_failsafe_in(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	free(c->failsafe_in_text);
	c->failsafe_in_text = strdup(v);
	return c->failsafe_in_text ? 0 : -ENOMEM;
}

static int set_failsafe_out(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	free(c->failsafe_out_text);
	c->failsafe_out_text = strdup(v);
	return c->failsafe_out_text ? 0 : -ENOMEM;
}

static int set_listen(struct pald_listen_addr *a, const char *v, char *err, size_t errlen,
		      const char *what)
{
	if (pald_listen_addr_parse(v, a)) {
		snprintf(err, errlen, "%s must be ADDR:PORT (e.g. 127.0.0.1:9099, [::1]:9099, :9099), got \"%s\"",
			 what, v);
		return -EINVAL;
	}
	return 0;
}

static int set_health(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_listen(&c->health, v, err, errlen, "health address");
}

static int set_metrics(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_listen(&c->metrics, v, err, errlen, "metrics address");
}

static int set_ep_to_host(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "drop") == 0)
		c->endpoint_to_host = PAL_EP_TO_HOST_DROP;
	else if (strcmp(v, "accept") == 0)
		c->endpoint_to_host = PAL_EP_TO_HOST_ACCEPT;
	else {
		snprintf(err, errlen, "endpoint-to-host action must be drop or accept, got \"%s\"", v);
		return -EINVAL;
	}
	return 0;
}

/* Flow idle timeouts: seconds, or a number with s, m, h or d. */
static int set_flow_timeout(struct pald_config *c, const char *v, enum pal_flow_tmo i,
			    const char *key, char *err, size_t errlen)
{
	unsigned long long n, mul = 1;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (end != v && *end && !end[1]) {
		switch (*end) {
		case 's': mul = 1; end++; break;
		case 'm': mul = 60; end++; break;
		case 'h': mul = 3600; end++; break;
		case 'd': mul = 86400; end++; break;
		}
	}
	if (end == v || *end || errno || *v == '-' || n == 0 || n > UINT32_MAX / mul) {
		snprintf(err, errlen,
			 "%s must be a duration of at least 1 second (seconds, or with s, m, h or d: "
			 "30, 120s, 5m, 5d), got \"%s\"", key, v);
		return -EINVAL;
	}
	c->flow_timeout_s[i] = (uint32_t)(n * mul);
	return 0;
}

#define SET_FLOW_TIMEOUT(name, idx, key)                                                   \
	static int name(struct pald_config *c, const char *v, char *err, size_t errlen)    \
	{                                                                                  \
		return set_flow_timeout(c, v, idx, key, err, errlen);                      \
	}
SET_FLOW_TIMEOUT(set_tmo_syn_sent, PAL_FLOW_TMO_TCP_SYN_SENT, "flowTimeoutTcpSynSent")
SET_FLOW_TIMEOUT(set_tmo_syn_recv, PAL_FLOW_TMO_TCP_SYN_RECV, "flowTimeoutTcpSynRecv")
SET_FLOW_TIMEOUT(set_tmo_established, PAL_FLOW_TMO_TCP_ESTABLISHED, "flowTimeoutTcpEstablished")
SET_FLOW_TIMEOUT(set_tmo_fin_wait, PAL_FLOW_TMO_TCP_FIN_WAIT, "flowTimeoutTcpFinWait")
SET_FLOW_TIMEOUT(set_tmo_time_wait, PAL_FLOW_TMO_TCP_TIME_WAIT, "flowTimeoutTcpTimeWait")
SET_FLOW_TIMEOUT(set_tmo_close, PAL_FLOW_TMO_TCP_CLOSE, "flowTimeoutTcpClose")
SET_FLOW_TIMEOUT(set_tmo_udp, PAL_FLOW_TMO_UDP, "flowTimeoutUdp")
SET_FLOW_TIMEOUT(set_tmo_udp_replied, PAL_FLOW_TMO_UDP_REPLIED, "flowTimeoutUdpReplied")
SET_FLOW_TIMEOUT(set_tmo_icmp, PAL_FLOW_TMO_ICMP, "flowTimeoutIcmp")
SET_FLOW_TIMEOUT(set_tmo_other, PAL_FLOW_TMO_OTHER, "flowTimeoutOther")

static int set_reevaluate(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "true") == 0)
		c->reevaluate_flows = true;
	else if (strcmp(v, "false") == 0)
		c->reevaluate_flows = false;
	else {
		snprintf(err, errlen, "reevaluateFlowsOnPolicyChange must be true or false, got \"%s\"",
			 v);
		return -EINVAL;
	}
	return 0;
}

static int set_log_format(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (pald_log_format_parse(v, &c->log_format) == 0)
		return 0;
	snprintf(err, errlen, "log format must be text or json, got \"%s\"", v);
	return -EINVAL;
}

static int set_log_level(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (pald_log_level_parse(v, &c->log_level) == 0)
		return 0;
	snprintf(err, errlen, "log level must be debug, info, warn or error, got \"%s\"", v);
	return -EINVAL;
}

static int set_backend(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_str(&c->backend, v, err, errlen, "backend");
}

#define SET_BOOL(name, field)                                                              \
	static int name(struct pald_config *c, const char *v, char *err, size_t errlen)    \
	{                                                                                  \
		(void)v, (void)err, (void)errlen;                                          \
		c->field = true;                                                           \
		return 0;                                                                  \
	}
/* Upper bound: the interface maps take ~100 bytes per endpoint, lists and counters more. */
#define PALD_MAX_ENDPOINTS_LIMIT (1u << 20)

/* A whole number from 1 to max into *out; what names the setting in the error. */
static int set_count(uint32_t *out, const char *what, uint32_t max, const char *v, char *err,
		     size_t errlen)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < 1 || n > max) {
		snprintf(err, errlen, "%s must be a number from 1 to %u, got \"%s\"", what, max, v);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

/* At most a day: discovery is how a Calico API server installed later is found. */
static int set_k8s_discovery(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_count(&c->k8s_discovery_s, "kubernetes discovery interval", 86400, v, err, errlen);
}

/* 0 (the default) turns the periodic relist off; at most a week. */
static int set_k8s_relist(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "0") == 0) {
		c->k8s_relist_s = 0;
		return 0;
	}
	return set_count(&c->k8s_relist_s, "kubernetes relist interval", 604800, v, err, errlen);
}

static int set_max_endpoints(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_count(&c->dp_sizes.max_endpoints, "max endpoints", PALD_MAX_ENDPOINTS_LIMIT, v, err,
			 errlen);
}

/* The map capacities: capacity.h's entry for the field. */
#define SET_CAPACITY(name, field)                                                          \
	static int name(struct pald_config *c, const char *v, char *err, size_t errlen)    \
	{                                                                                  \
		return pald_capacity_set(                                                  \
			c, pald_capacity_of_field(offsetof(struct pald_config, field)), v, \
			err, errlen);                                                      \
	}
SET_CAPACITY(set_max_classes, dp_sizes.max_classes)
SET_CAPACITY(set_max_words, dp_sizes.max_words)
SET_CAPACITY(set_max_entries, dp_sizes.max_entries)
SET_CAPACITY(set_max_lists, dp_sizes.max_lists)
SET_CAPACITY(set_max_flows, dp_sizes.max_flows)
SET_CAPACITY(set_max_rule_ids, dp_sizes.max_rule_ids)

/* Up to one event per microsecond per interface, hook and CPU (the limiter's interval is whole
 * nanoseconds). */
#define PALD_EVENT_RATE_LIMIT 1000000u

static int set_event_rate(struct pald_config *c, const char *v, char *err, size_t errlen)
{
	return set_count(&c->dp_sizes.event_rate, "event rate", PALD_EVENT_RATE_LIMIT, v, err, errlen);
}

SET_BOOL(set_once, once)
SET_BOOL(set_uninstall, uninstall)
SET_BOOL(set_help, help)
SET_BOOL(set_version, version)

static const struct opt opts[] = {
	{ "config", NULL, "FILE", false, false, set_config,
	  "read settings from a YAML or JSON file (keys below); flags override it" },
	{ "policy-dir", "policyDirs", "DIR", true, false, set_policy_dir,
	  "policy directory, read recursively and watched (repeatable)" },
	{ "datastore", "datastore", "KIND", false, false, set_datastore,
	  "files|kubernetes: policy from --policy-dir (default) or from the Kubernetes API" },
	{ "kubeconfig", "kubeconfig", "FILE", false, false, set_kubeconfig,
	  "with --datastore kubernetes: the API server and credentials (default: in-cluster)" },
	{ "kubernetes-interface-naming", "kubernetesInterfaceNaming", "HOW", false, false,
	  set_k8s_iface,
	  "calico|route: a local pod's interface is cali+hash (default) or the route to its address" },
	{ "kubernetes-discovery-interval", "kubernetesDiscoveryInterval", "SECONDS", false, false,
	  set_k8s_discovery,
	  "with --datastore kubernetes: run API discovery again this often (default 300; also "
	  "after a 404)" },
	{ "kubernetes-relist-interval", "kubernetesRelistInterval", "SECONDS", false, false,
	  set_k8s_relist,
	  "with --datastore kubernetes: list every resource again about this often (+-15% at "
	  "random) while its watch works; default 0: never" },
	{ "workload-interface-prefix", "workloadInterfacePrefix", "PREFIX", false, false,
	  set_workload_prefix,
	  "with route naming: the CNI's veth name prefix; such a link is denied until a pod's "
	  "route names it (calico naming: always cali)" },
	{ "auto-host-endpoints", "autoHostEndpoints", NULL, false, false, set_auto_hep,
	  "with --datastore kubernetes: each Node becomes <node>-auto-hep, as Calico's "
	  "kube-controllers creates it (config key: true|false)" },
	{ "node", "node", "NAME", false, false, set_node,
	  "this node's name in HostEndpoints/WorkloadEndpoints (default: hostname)" },
	{ "bpffs", "bpffs", "DIR", false, false, set_bpffs,
	  "pin directory, created if missing (default " PALD_DEFAULT_BPFFS ")" },
	{ "interfaces", "interfaces", "GLOB", true, false, set_interfaces,
	  "also police forwarded traffic on matching interfaces (repeatable or comma list)" },
	{ "xdp-mode", "xdpMode", "MODE", false, false, set_xdp_mode,
	  "auto|native|generic|off (default auto)" },
	{ "failsafe-in", "failsafeIn", "LIST", false, false, set_failsafe_in,
	  "inbound failsafe ports, proto:port or proto:CIDR:port, comma list, or none" },
	{ "failsafe-out", "failsafeOut", "LIST", false, false, set_failsafe_out,
	  "outbound failsafe ports, same syntax" },
	{ "health", "health", "ADDR:PORT", false, false, set_health,
	  "serve GET /livez and /readyz (default: off)" },
	{ "metrics", "metrics", "ADDR:PORT", false, false, set_metrics,
	  "serve Prometheus GET /metrics (default: off)" },
	{ "events-socket", "eventsSocket", "PATH", false, false, set_events_socket,
	  "unix socket streaming deny/log events to polctl monitor, or none (default "
	  PALD_DEFAULT_EVENTS_SOCKET ")" },
	{ "events-socket-group", "eventsSocketGroup", "GROUP", false, false,
	  set_events_socket_group,
	  "members of GROUP (a name or a GID) may run polctl monitor: the socket becomes 0660, owned by GROUP "
	  "(default: root only, 0600)" },
	{ "iptables-backend", "iptablesBackend", "MODE", false, false, set_iptables_backend,
	  "auto|legacy|nft: iptables variant for palisade's rules (default auto: the one holding "
	  "rules)" },
	{ "endpoint-to-host-action", "endpointToHostAction", "ACTION", false, false, set_ep_to_host,
	  "drop|accept: workload to its own host after egress policy (default drop)" },
	{ "max-endpoints", "maxEndpoints", "N", false, false, set_max_endpoints,
	  "endpoints the datapath can program; sizes its maps (default 1024; more are denied)" },
	{ "max-classes", "maxClasses", "N", false, false, set_max_classes,
	  "pal_classes LPM entries, the rule lists' address and port classes (default 4194304; "
	  "allocated on use)" },
	{ "max-words", "maxWords", "N", false, false, set_max_words,
	  "pal_words bitmap words (default 2097152; preallocated, 8 bytes each)" },
	{ "max-entries", "maxEntries", "N", false, false, set_max_entries,
	  "pal_entries rule entries (default 524288; preallocated, 16 bytes each)" },
	{ "max-lists", "maxLists", "N", false, false, set_max_lists,
	  "rule lists in pal_lists (default 14 per endpoint; preallocated); pal_small's "
	  "linear forms take 2 per endpoint, at most this many" },
	{ "max-flows", "maxFlows", "N", false, false, set_max_flows,
	  "pal_flows tracked flows (default 262144; preallocated)" },
	{ "max-rule-ids", "maxRuleIds", "N", false, false, set_max_rule_ids,
	  "pal_rule_ctrs rule counters (default 262144; preallocated per CPU)" },
	{ "event-rate", "eventRate", "N", false, false, set_event_rate,
	  "deny/log events per second per interface, hook and CPU; the rest are only counted "
	  "(default 1000)" },
	{ "reevaluate-flows-on-policy-change", "reevaluateFlowsOnPolicyChange", "BOOL", false, false,
	  set_reevaluate,
	  "true|false: a policy change re-judges established flows (default true; false keeps "
	  "Calico's behaviour)" },
	{ "flow-timeout-tcp-syn-sent", "flowTimeoutTcpSynSent", "DURATION", false, false,
	  set_tmo_syn_sent, "idle timeout of a TCP flow after its SYN (default 120s)" },
	{ "flow-timeout-tcp-syn-recv", "flowTimeoutTcpSynRecv", "DURATION", false, false,
	  set_tmo_syn_recv, "... after the SYN-ACK (default 60s)" },
	{ "flow-timeout-tcp-established", "flowTimeoutTcpEstablished", "DURATION", false, false,
	  set_tmo_established, "... established (default 5d)" },
	{ "flow-timeout-tcp-fin-wait", "flowTimeoutTcpFinWait", "DURATION", false, false,
	  set_tmo_fin_wait, "... after one side's FIN (default 120s)" },
	{ "flow-timeout-tcp-time-wait", "flowTimeoutTcpTimeWait", "DURATION", false, false,
	  set_tmo_time_wait, "... after both sides' FIN (default 120s)" },
	{ "flow-timeout-tcp-close", "flowTimeoutTcpClose", "DURATION", false, false, set_tmo_close,
	  "... after a RST (default 10s)" },
	{ "flow-timeout-udp", "flowTimeoutUdp", "DURATION", false, false, set_tmo_udp,
	  "idle timeout of a UDP flow not yet replied to (default 30s)" },
	{ "flow-timeout-udp-replied", "flowTimeoutUdpReplied", "DURATION", false, false,
	  set_tmo_udp_replied, "... once replied to (default 120s)" },
	{ "flow-timeout-icmp", "flowTimeoutIcmp", "DURATION", false, false, set_tmo_icmp,
	  "idle timeout of an ICMP echo flow (default 30s)" },
	{ "flow-timeout-other", "flowTimeoutOther", "DURATION", false, false, set_tmo_other,
	  "idle timeout of other flows with ports, e.g. SCTP (default 600s)" },
	{ "log-format", "logFormat", "FORMAT", false, false, set_log_format,
	  "text|json (default text)" },
	{ "log-level", "logLevel", "LEVEL", false, false, set_log_level,
	  "debug|info|warn|error (default info)" },
	{ "once", NULL, NULL, false, false, set_once,
	  "validate, compile, program the datapath and exit (1 on policy errors, nothing changed)" },
	{ "uninstall", NULL, NULL, false, false, set_uninstall,
	  "detach everything palisade attached, remove its pins and rules, exit" },
	{ "help", NULL, NULL, false, false, set_help, "this text" },
	{ "version", NULL, NULL, false, false, set_version, "print the version" },
	{ "backend", NULL, "NAME", false, true, set_backend,
	  "TEST ONLY: datapath backend, bpf (default) or null (records, programs nothing); "
	  "also env PALISADED_BACKEND" },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

/* The synopsis's argument of an option: the choices its help starts with ("auto|legacy|nft: ..."),
 * else its argument name. */
static void synopsis_arg(const struct opt *o, char *buf, size_t len)
{
	size_t n = strspn(o->help, "abcdefghijklmnopqrstuvwxyz|");

	if (n > 0 && memchr(o->help, '|', n) && n < len)
		snprintf(buf, len, "%.*s", (int)n, o->help);
	else
		snprintf(buf, len, "%s", o->argname);
}

/* Generated from the table, so that no option is missing from it (tests/daemon/test_usage.sh
 * also checks docs/operations.md against it). */
static void print_synopsis(FILE *f)
{
	static const char lead[] = "usage: palisaded";
	const int width = 80, indent = (int)sizeof(lead);
	int col = fprintf(f, "%s", lead);

	for (size_t i = 0; i < N_OPTS; i++) {
		char item[96], arg[48] = "";

		if (opts[i].hidden)
			continue;
		if (opts[i].argname)
			synopsis_arg(&opts[i], arg, sizeof(arg));
		snprintf(item, sizeof(item), "[--%s%s%s%s]", opts[i].flag, *arg ? " " : "", arg,
			 opts[i].list ? " ..." : "");
		if (col + 1 + (int)strlen(item) > width)
			col = fprintf(f, "\n%*s", indent - 1, "") - 1;
		col += fprintf(f, " %s", item);
	}
	fputc('\n', f);
}

void pald_config_usage(FILE *f)
{
	print_synopsis(f);
	fputs("\nThe palisade node agent: compiles Calico-style policy into the eBPF datapath.\n\n"
	      "options (config-file key in brackets):\n",
	      f);
	for (size_t i = 0; i < N_OPTS; i++) {
		char left[64];

		if (opts[i].hidden)
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", opts[i].flag, opts[i].argname ? " " : "",
			 opts[i].argname ? opts[i].argname : "");
		fprintf(f, "  %-32s %s", left, opts[i].help);
		if (opts[i].key)
			fprintf(f, " [%s]", opts[i].key);
		fputc('\n', f);
	}
	fputs("\nThe config file is a YAML or JSON mapping of the keys above; list keys take a\n"
	      "sequence or a comma string. Flags override the file; a list given by flags\n"
	      "replaces the file's list. Exit codes: 0 ok, 1 policy errors (--once), 2 usage or\n"
	      "system error, including another palisaded holding the bpffs directory.\n"
	      "\ntest-only:\n",
	      f);
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].hidden)
			fprintf(f, "  --%s=%s  %s\n", opts[i].flag, opts[i].argname, opts[i].help);
}

int pald_listen_addr_parse(const char *text, struct pald_listen_addr *out)
{
	char host[64];
	const char *colon, *port_s;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (!text || strlen(text) >= sizeof(out->text))
		return -EINVAL;
	if (text[0] == '[') { /* [v6]:port */
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = '\0';
		port_s = rb + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host) || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL; /* a bare IPv6 address needs brackets */
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port_s = colon + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 1 || port > 65535)
		return -EINVAL;

	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;

		if (host[0] == '\0' || strcmp(host, "*") == 0)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
	}
	strcpy(out->text, text);
	out->set = true;
	return 0;
}

const char *pald_xdp_mode_name(enum pald_xdp_mode m)
{
	switch (m) {
	case PALD_XDP_AUTO: return "auto";
	case PALD_XDP_NATIVE: return "native";
	case PALD_XDP_GENERIC: return "generic";
	case PALD_XDP_OFF: return "off";
	}
	return "?";
}

static const struct opt *opt_by_key(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (opts[i].key && strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

/* Config file: a mapping of keys; scalars go through the same setters as the flags. */

static int apply_file_value(struct pald_config *c, const struct opt *o, const struct yt_node *v,
			    char *msg, size_t msglen)
{
	if (v->kind == YT_SCALAR)
		return o->set(c, v->text, msg, msglen);
	if (v->kind != YT_SEQ) {
		snprintf(msg, msglen, "%s must be a %s", o->key, o->list ? "list or a string" : "string");
		return -EINVAL;
	}
	bool failsafe = o->set == set_failsafe_in || o->set == set_failsafe_out;
	if (!o->list && !failsafe) {
		snprintf(msg, msglen, "%s must be a string, not a list", o->key);
		return -EINVAL;
	}
	if (failsafe) { /* a sequence of items is the same as their comma list */
		size_t len = 1;
		char *joined;
		int rc;

		for (size_t i = 0; i < v->n_items; i++)
			len += (v->items[i]->kind == YT_SCALAR ? strlen(v->items[i]->text) : 0) + 1;
		joined = calloc(1, len);
		if (!joined)
			return -ENOMEM;
		for (size_t i = 0; i < v->n_items; i++) {
			if (v->items[i]->kind != YT_SCALAR) {
				free(joined);
				snprintf(msg, msglen, "%s items must be strings", o->key);
				return -EINVAL;
			}
			if (i)
				strcat(joined, ",");
			strcat(joined, v->items[i]->text);
		}
		rc = o->set(c, joined[0] ? joined : "none", msg, msglen);
		free(joined);
		return rc;
	}
	for (size_t i = 0; i < v->n_items; i++) {
		int rc;

		if (v->items[i]->kind != YT_SCALAR) {
			snprintf(msg, msglen, "%s items must be strings", o->key);
			return -EINVAL;
		}
		if ((rc = o->set(c, v->items[i]->text, msg, msglen)))
			return rc;
	}
	return 0;
}

int pald_config_apply_file_text(struct pald_config *c, const char *name, const char *text,
				size_t len, char *err, size_t errlen)
{
	struct yt_stream s = { 0 };
	const struct yt_node *root;
	char msg[384];
	int rc = yt_parse(text, len, &s);

	if (rc) {
		snprintf(err, errlen, "%s: %s", name, strerror(-rc));
		goto out;
	}
	if (s.has_error) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, s.err_line, s.err_col, s.err_msg);
		rc = -EINVAL;
		goto out;
	}
	if (s.n_docs != 1 || !s.docs[0]) {
		root = NULL;
		if (s.n_docs == 0 || (s.n_docs == 1 && !s.docs[0]))
			goto out; /* an empty file sets nothing */
		snprintf(err, errlen, "%s: expected one document, found %zu", name, s.n_docs);
		rc = -EINVAL;
		goto out;
	}
	root = s.docs[0];
	if (root->kind != YT_MAP) {
		snprintf(err, errlen, "%s:%d:%d: expected a mapping of settings, found a %s", name,
			 root->line, root->col, yt_kind_name(root));
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < root->n_pairs; i++) {
		const struct yt_pair *p = &root->pairs[i];
		const struct opt *o = opt_by_key(p->key->text);

		if (!o) {
			snprintf(err, errlen,
				 "%s:%d:%d: unknown key \"%s\" (keys: policyDirs, node, bpffs, interfaces, "
				 "xdpMode, failsafeIn, failsafeOut, health, metrics, eventsSocket, "
				 "iptablesBackend, endpointToHostAction, eventRate, logFormat, logLevel)",
				 name, p->key->line, p->key->col, p->key->text);
			rc = -EINVAL;
			goto out;
		}
		if (yt_is_null(p->value))
			continue; /* `key:` with no value keeps the default */
		msg[0] = '\0';
		if ((rc = apply_file_value(c, o, p->value, msg, sizeof(msg)))) {
			snprintf(err, errlen, "%s:%d:%d: %s", name, p->value->line, p->value->col, msg);
			goto out;
		}
	}
out:
	yt_stream_free(&s);
	return rc;
}

/* The config file's limit: far above any real one, so a wrong path (a log, a device) fails. */
#define CONFIG_FILE_MAX (1u << 20)

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-r));
		return r;
	}
	r = pal_read_all(f, CONFIG_FILE_MAX, buf, len);
	fclose(f);
	if (r == -EFBIG)
		snprintf(err, errlen, "config file %s is too large (more than %u bytes)", path,
			 CONFIG_FILE_MAX);
	else if (r)
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-r));
	return r;
}

static void set_defaults(struct pald_config *c)
{
	memset(c, 0, sizeof(*c));
	c->xdp_mode = PALD_XDP_AUTO;
	c->endpoint_to_host = PAL_EP_TO_HOST_DROP;
	c->reevaluate_flows = true;
	c->events_socket_gid = -1;
	c->log_format = PALD_LOG_TEXT;
	c->log_level = PALD_LOG_INFO;
}

/* The default node name: the hostname as Calico's names.Hostname() and the kubelet make it a node
 * name, without surrounding whitespace and in lower case (a host named "Worker-1" registers as
 * Node "worker-1"; matched as given, no pod's spec.nodeName and no HostEndpoint's node would be
 * this node's). Writes "localhost" for an empty one. */
static void default_node_name(const char *hostname, char *out, size_t outlen)
{
	size_t n = 0;

	hostname = hostname ? hostname : "";
	while (isspace((unsigned char)*hostname))
		hostname++;
	for (; hostname[n] && n + 1 < outlen; n++)
		out[n] = (char)tolower((unsigned char)hostname[n]);
	while (n && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	if (!n)
		snprintf(out, outlen, "localhost");
}

static int finish(struct pald_config *c, const char *hostname, char *err, size_t errlen)
{
	char msg[256], host[256];

	default_node_name(hostname, host, sizeof(host));
	if (!c->node && set_str(&c->node, host, err, errlen, "node"))
		return -ENOMEM;
	if (!c->bpffs && set_str(&c->bpffs, PALD_DEFAULT_BPFFS, err, errlen, "bpffs"))
		return -ENOMEM;
	if (!c->events_socket &&
	    set_str(&c->events_socket, PALD_DEFAULT_EVENTS_SOCKET, err, errlen, "events socket"))
		return -ENOMEM;
	if (strcmp(c->events_socket, "none") == 0) {
		free(c->events_socket);
		c->events_socket = NULL;
	}
	if (!c->iptables_backend &&
	    set_str(&c->iptables_backend, "auto", err, errlen, "iptables backend"))
		return -ENOMEM;
	if (!c->backend) {
		const char *env = getenv("PALISADED_BACKEND");

		if (set_str(&c->backend, env && *env ? env : "bpf", err, errlen, "backend"))
			return -ENOMEM;
	}
	if (pal_failsafe_parse(c->failsafe_in_text ? c->failsafe_in_text : PAL_FAILSAFE_IN_DEFAULT,
			       &c->failsafe_in, &c->n_failsafe_in, msg, sizeof(msg))) {
		snprintf(err, errlen, "failsafe-in: %s", msg);
		return -EINVAL;
	}
	if (pal_failsafe_parse(c->failsafe_out_text ? c->failsafe_out_text : PAL_FAILSAFE_OUT_DEFAULT,
			       &c->failsafe_out, &c->n_failsafe_out, msg, sizeof(msg))) {
		snprintf(err, errlen, "failsafe-out: %s", msg);
		return -EINVAL;
	}
	if (c->help || c->version)
		return 0;
	if (c->once && c->uninstall) {
		snprintf(err, errlen, "--once and --uninstall cannot be combined");
		return -EINVAL;
	}
	if (c->once && c->datastore == PALD_DATASTORE_KUBERNETES) {
		snprintf(err, errlen, "--once reads policy directories; --datastore kubernetes needs the daemon");
		return -EINVAL;
	}
	if (!c->uninstall && c->datastore == PALD_DATASTORE_KUBERNETES && c->k8s_iface_by_route &&
	    !c->workload_prefix) {
		snprintf(err, errlen, "--kubernetes-interface-naming route needs --workload-interface-prefix "
				      "(the CNI's veth name prefix): a pod's veth that appears before its "
				      "route would be open until then");
		return -EINVAL;
	}
	if (!c->uninstall && c->datastore == PALD_DATASTORE_FILES && c->policy_dirs.n == 0) {
		snprintf(err, errlen, "no policy directory: give --policy-dir DIR or policyDirs in the config file, or --datastore kubernetes");
		return -EINVAL;
	}
	return 0;
}

int pald_config_parse(struct pald_config *c, int argc, char **argv, const char *hostname,
		      char *err, size_t errlen)
{
	struct option lopts[N_OPTS + 1];
	bool replaced[N_OPTS] = { false };
	int ch, rc;

	set_defaults(c);
	err[0] = '\0';
	for (size_t i = 0; i < N_OPTS; i++)
		lopts[i] = (struct option){ opts[i].flag, opts[i].argname ? required_argument : no_argument,
					    NULL, (int)(256 + i) };
	lopts[N_OPTS] = (struct option){ 0 };

	/* Pass 1: only --config, --help and --version, so the file is read before flags apply. */
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		if (ch < 256)
			continue; /* reported in pass 2 */
		const struct opt *o = &opts[ch - 256];

		if (o->set == set_config || o->set == set_help || o->set == set_version)
			if ((rc = o->set(c, optarg, err, errlen)))
				return rc;
	}
	if (c->help || c->version)
		return finish(c, hostname, err, errlen);
	if (c->config_file) {
		char *text = NULL;
		size_t len = 0;

		if ((rc = read_file(c->config_file, &text, &len, err, errlen)))
			return rc;
		rc = pald_config_apply_file_text(c, c->config_file, text, len, err, errlen);
		free(text);
		if (rc)
			return rc;
	}

	/* Pass 2: every flag, overriding the file. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		if (ch == '?') {
			snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
		if (ch == ':') {
			snprintf(err, errlen, "option %s needs an argument", argv[optind - 1]);
			return -EINVAL;
		}
		if (ch < 256) {
			snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
		size_t idx = (size_t)(ch - 256);
		const struct opt *o = &opts[idx];

		if (o->set == set_config)
			continue;
		if (o->list && !replaced[idx]) {
			strv_free(o->set == set_policy_dir ? &c->policy_dirs : &c->iface_globs);
			replaced[idx] = true;
		}
		char msg[256] = "";
		if ((rc = o->set(c, optarg ? optarg : "", msg, sizeof(msg)))) {
			snprintf(err, errlen, "--%s: %s", o->flag, msg);
			return rc;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (directories go after --policy-dir)",
			 argv[optind]);
		return -EINVAL;
	}
	return finish(c, hostname, err, errlen);
}

void pald_config_free(struct pald_config *c)
{
	free(c->config_file);
	strv_free(&c->policy_dirs);
	free(c->node);
	free(c->bpffs);
	free(c->events_socket);
	free(c->events_socket_group);
	free(c->iptables_backend);
	strv_free(&c->iface_globs);
	free(c->failsafe_in_text);
	free(c->failsafe_out_text);
	free(c->failsafe_in);
	free(c->failsafe_out);
	free(c->backend);
	free(c->kubeconfig);
	free(c->workload_prefix);
	memset(c, 0, sizeof(*c));
}
