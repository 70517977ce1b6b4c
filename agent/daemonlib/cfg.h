/* palisaded's configuration: command-line flags and the --config file (YAML or JSON).
 *
 * Every setting has a flag and a config-file key (table in cfg_options.c, documented in --help and
 * docs/operations.md). Precedence: built-in defaults < config file < flags. A list given by flags
 * (--policy-dir, --interfaces) replaces the file's list rather than extending it, so the command
 * line alone always says what is in force.
 *
 * Pure: libc, yaml_tree.h and pal_failsafe_parse only (linked into the unit tests).
 */
#ifndef PALD_CFG_H
#define PALD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "compiler.h"
#include "dp_sizes.h"
#include "ir.h"
#include "log.h"
#include "palisade/abi.h"

#define PALD_DEFAULT_BPFFS "/sys/fs/bpf/palisade"
#define PALD_BPFFS_ROOT "/sys/fs/bpf"
/* The event socket polctl monitor connects to ("none" turns it off). */
#define PALD_DEFAULT_EVENTS_SOCKET "/run/palisade/events.sock"

/* Where policy comes from: policy files (the default) or the Kubernetes API (docs/kubernetes-datastore.md). */
enum pald_datastore { PALD_DATASTORE_FILES, PALD_DATASTORE_KUBERNETES };

enum pald_xdp_mode { PALD_XDP_AUTO, PALD_XDP_NATIVE, PALD_XDP_GENERIC, PALD_XDP_OFF };

/* A listening address from ADDR:PORT ("127.0.0.1:9090", "[::1]:9090", ":9090" = any). */
struct pald_listen_addr {
	bool set;
	char text[128];
	struct sockaddr_storage sa;
	socklen_t len;
};

struct pald_strv {
	char **v;
	size_t n, cap;
};

struct pald_config {
	char *config_file;
	struct pald_strv policy_dirs;
	enum pald_datastore datastore;
	char *kubeconfig;         /* --kubeconfig; NULL = in-cluster */
	bool k8s_iface_by_route;  /* a pod's interface: the route to its address, not cali<hash> */
	char *workload_prefix;    /* with route naming: the CNI's veth prefix; NULL = none */
	uint32_t k8s_discovery_s; /* API discovery again every so many seconds; 0 = the default */
	uint32_t k8s_relist_s;    /* a safety relist of every resource this often; 0 = never */
	bool auto_host_endpoints; /* kubernetes: every Node becomes "<node>-auto-hep" */
	char *node;  /* default: the hostname */
	char *bpffs; /* default PALD_DEFAULT_BPFFS */
	struct pald_strv iface_globs;
	enum pald_xdp_mode xdp_mode;
	char *failsafe_in_text, *failsafe_out_text; /* as given; parsed below */
	struct pal_failsafe *failsafe_in, *failsafe_out;
	size_t n_failsafe_in, n_failsafe_out;
	struct pald_listen_addr health, metrics;
	enum pal_endpoint_to_host_action endpoint_to_host;
	/* Flow idle timeouts in seconds by enum pal_flow_tmo (0 = the kernel's conntrack default),
	 * and whether a policy change re-judges established flows (docs/datapath.md). */
	uint32_t flow_timeout_s[PAL_FLOW_TMO_COUNT];
	bool reevaluate_flows;
	char *events_socket; /* default PALD_DEFAULT_EVENTS_SOCKET; NULL after "none" */
	/* The group whose members may read the event socket (mode 0660, owned by it): its name as
	 * given and its gid, resolved when parsed; -1 without one (root only, mode 0600). */
	char *events_socket_group;
	long events_socket_gid;
	/* iptables variant for palisade's netfilter rules: "auto" (detect by which variant holds
	 * rules), "legacy" or "nft". */
	char *iptables_backend;
	enum pald_log_format log_format;
	enum pald_log_level log_level;
	bool once, uninstall, help, version;
	/* --max-endpoints, the map capacities (capacity.h) and --event-rate, handed to the
	 * datapath as they are (dp_sizes.h; 0 = the datapath's default). */
	struct pal_dp_sizes dp_sizes;
	/* Test-only: which datapath backend to use ("bpf" by default; "null" records what it is
	 * given, for the process tests). Flag --backend=NAME or env PALISADED_BACKEND. */
	char *backend;
};

/* Pods' host-side interfaces are named PREFIX* (the Kubernetes datastore: "cali" with Calico
 * naming, --workload-interface-prefix with route naming); NULL when not known. */
static inline const char *pald_config_workload_prefix(const struct pald_config *c)
{
	if (c->datastore != PALD_DATASTORE_KUBERNETES)
		return NULL;
	return c->k8s_iface_by_route ? c->workload_prefix : "cali";
}

/* Fills defaults, reads --config (if any) and applies the flags. `hostname` is the default node
 * name (the caller passes gethostname()'s answer so this stays pure). On a usage error returns
 * -EINVAL with a one-line message in err; the caller exits 2. */
int pald_config_parse(struct pald_config *c, int argc, char **argv, const char *hostname,
		      char *err, size_t errlen);
/* Applies a config file's text (YAML or JSON mapping of the keys below) to c; `name` is used in
 * messages. 0 or -EINVAL with "NAME:LINE:COL: message" in err. */
int pald_config_apply_file_text(struct pald_config *c, const char *name, const char *text,
				size_t len, char *err, size_t errlen);
void pald_config_free(struct pald_config *c);

int pald_listen_addr_parse(const char *text, struct pald_listen_addr *out);
const char *pald_xdp_mode_name(enum pald_xdp_mode m);

/* The --help text (lists every flag and its config key). */
void pald_config_usage(FILE *f);

#endif
