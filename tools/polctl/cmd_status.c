/* polctl status: the agent (is one holding the pin directory's lock?), the datapath's generation,
 * every interface palisade polices or has programs on (XDP mode, tc hooks), and map fill. */
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_info.h"
#include "attach.h" /* PAL_TC_HANDLE, PAL_TC_PRIORITY */
#include "live.h"
#include "map_read.h"
#include "meta.h"
#include "palisade/version.h"
#include "status_datastore.h"

static uint32_t pinned_prog_id(const char *dir, const char *prog)
{
	char path[PATH_MAX];
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	uint32_t id = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/progs/%s", dir, prog);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		id = info.id;
	close(fd);
	return id;
}

static uint32_t tc_prog_id(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PAL_TC_HANDLE, .priority = PAL_TC_PRIORITY);
	/* an interface without a clsact qdisc is an answer (none), not a warning to print */
	libbpf_print_fn_t was = libbpf_set_print(NULL);
	int err = bpf_tc_query(&hook, &opts);

	libbpf_set_print(was);
	return err ? 0 : opts.prog_id;
}

static const char *xdp_mode(int ifindex, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	*prog_id = 0;
	if (bpf_xdp_query(ifindex, 0, &q))
		return "unknown";
	*prog_id = q.prog_id;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV: return "native";
	case XDP_ATTACHED_SKB: return "generic";
	case XDP_ATTACHED_HW: return "offload";
	case XDP_ATTACHED_MULTI: return "multi";
	default: return "none";
	}
}

static json_t *iface_json(const struct polctl_live *lv, uint32_t ifindex, const uint32_t prog[3])
{
	struct pal_iface v;
	bool policed = live_iface_read(lv, ifindex, &v) == 0;
	char name[IF_NAMESIZE + 8];
	uint32_t xdp_id, in_id = tc_prog_id((int)ifindex, BPF_TC_INGRESS),
			 out_id = tc_prog_id((int)ifindex, BPF_TC_EGRESS);
	const char *mode = xdp_mode((int)ifindex, &xdp_id);
	bool unprogrammed = policed && (v.flags & PAL_IF_UNPROGRAMMED);
	json_t *ep = policed && !unprogrammed ? live_meta_endpoint(lv, v.endpoint_id) : NULL;
	json_t *epname = json_object_get(ep, "name");

	if (!policed && !in_id && !out_id && !(xdp_id && xdp_id == prog[0]))
		return NULL; /* nothing of palisade's here */
	return json_pack(
		"{s:s, s:I, s:s, s:O?, s:b, s:o, s:{s:s, s:b, s:I}, s:{s:b, s:b, s:b}}", "name",
		live_ifname(ifindex, name), "ifindex", (json_int_t)ifindex, "kind",
		!policed ? "forward-only" : (v.flags & PAL_IF_WORKLOAD) ? "workload" : "host",
		"endpoint", epname, "unprogrammed", unprogrammed,
		"generation", policed && !unprogrammed ? json_integer(v.generation) : json_null(),
		"xdp", "mode", mode, "palisade", xdp_id && xdp_id == prog[0], "prog_id",
		(json_int_t)xdp_id, "tc", "ingress", in_id != 0, "egress", out_id != 0, "current",
		(!in_id || in_id == prog[1]) && (!out_id || out_id == prog[2]));
}

static json_t *interfaces_json(const struct polctl_live *lv)
{
	uint32_t prog[3] = { pinned_prog_id(lv->dir, "xdp_hep_ingress"),
			     pinned_prog_id(lv->dir, "tc_ingress"),
			     pinned_prog_id(lv->dir, "tc_egress") };
	struct if_nameindex *ifs = if_nameindex(); /* netlink, not /sys */
	json_t *a = json_array();

	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		json_t *o = iface_json(lv, i->if_index, prog);

		if (o)
			json_array_append_new(a, o);
	}
	if (ifs)
		if_freenameindex(ifs);
	/* pal_ifaces entries of interfaces that are gone (not in this namespace) */
	uint32_t key, *prev = NULL;

	while (bpf_map_get_next_key(lv->fd[LM_IFACES], prev, &key) == 0) {
		char name[IF_NAMESIZE];

		prev = &key;
		if (!if_indextoname(key, name)) {
			json_t *o = iface_json(lv, key, prog);

			if (o)
				json_array_append_new(a, o);
		}
	}
	return a;
}

/* Entries used per map: keys for hash-like maps, allocated regions for the arrays. */
static json_t *maps_json(const struct polctl_live *lv)
{
	uint64_t entries = 0, words = 0;
	uint32_t key, *prev = NULL;
	struct pal_list l;
	json_t *a = json_array();

	while (bpf_map_get_next_key(lv->fd[LM_LISTS], prev, &key) == 0) {
		prev = &key;
		if (bpf_map_lookup_elem(lv->fd[LM_LISTS], &key, &l) == 0) {
			entries += l.entry_count;
			words += l.word_count;
		}
	}
	/* interface slots in use: the reserved ones and one per programmed interface */
	long slots = PAL_IFSLOT_FIRST;
	struct pal_if_slot ref;

	for (prev = NULL; bpf_map_get_next_key(lv->fd[LM_IFACES], prev, &key) == 0; prev = &key)
		if (bpf_map_lookup_elem(lv->fd[LM_IFACES], &key, &ref) == 0 &&
		    ref.slot >= PAL_IFSLOT_FIRST)
			slots++;
	for (int m = 0; m < LM_COUNT; m++) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		json_t *used;

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(lv->fd[m], &info, &len))
			continue;
		switch (m) {
		case LM_VERSION: used = json_integer(1); break;
		case LM_ENTRIES: used = json_integer((json_int_t)entries); break;
		case LM_WORDS: used = json_integer((json_int_t)words); break;
		case LM_RULE_CTRS:
			used = lv->meta ? json_integer((json_int_t)json_array_size(
						  json_object_get(lv->meta, "rules"))) :
					  json_null();
			break;
		case LM_EVENTS: used = json_null(); break; /* a ring: fill is transient */
		case LM_IF_BANK: used = json_integer(slots); break;
		case LM_IF_CFG: used = json_integer(2 * slots); break;
		case LM_SLOT_CTRS: used = json_integer(slots * PAL_HOOK_COUNT); break;
		case LM_TRACE: used = json_null(); break;    /* per-CPU scratch */
		case LM_IF_INDEX: used = json_null(); break; /* an array by ifindex */
		default: {
			long n = live_map_count(lv->fd[m]);

			used = n >= 0 ? json_integer(n) : json_null();
		}
		}
		json_array_append_new(a, json_pack("{s:s, s:o, s:I}", "name", pal_map_names[m],
						   "used", used, "max", (json_int_t)info.max_entries));
	}
	return a;
}

/* Flow table pressure (pal_flow_stats; its pin is opened here: older pins may lack it). */
static json_t *flows_json(const struct polctl_live *lv)
{
	char path[PATH_MAX];
	struct pal_flow_stats fs;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/maps/pal_flow_stats", lv->dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return json_null();
	rc = pal_map_flow_stats(fd, &fs);
	close(fd);
	if (rc)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "inserted", (json_int_t)fs.inserted,
			 "insert_failed", (json_int_t)fs.insert_failed, "expired",
			 (json_int_t)fs.expired, "rejudged", (json_int_t)fs.rejudged,
			 "rejudge_denied", (json_int_t)fs.rejudge_denied, "syn_new",
			 (json_int_t)fs.syn_new, "rst_ignored", (json_int_t)fs.rst_ignored);
}

static void print_flows(json_t *f)
{
	if (!json_is_object(f)) {
		printf("\nflows        no statistics (datapath predates them)\n");
		return;
	}
	printf("\nflows        %lld inserted, %lld inserts failed, %lld expired, %lld re-judged "
	       "(%lld denied), %lld SYNs on an existing entry, %lld RSTs out of window\n",
	       json_integer_value(json_object_get(f, "inserted")),
	       json_integer_value(json_object_get(f, "insert_failed")),
	       json_integer_value(json_object_get(f, "expired")),
	       json_integer_value(json_object_get(f, "rejudged")),
	       json_integer_value(json_object_get(f, "rejudge_denied")),
	       json_integer_value(json_object_get(f, "syn_new")),
	       json_integer_value(json_object_get(f, "rst_ignored")));
}

static void print_table(json_t *st)
{
	json_t *agent = json_object_get(st, "agent"), *meta = json_object_get(st, "metadata"), *v;
	size_t i;

	printf("datapath     %s (layout %lld)\n", json_string_value(json_object_get(st, "bpffs")),
	       json_integer_value(json_object_get(st, "layout_version")));
	if (json_is_true(json_object_get(agent, "running")))
		printf("agent        running (pid %lld, version %s)\n",
		       json_integer_value(json_object_get(agent, "pid")),
		       json_is_string(json_object_get(agent, "version")) ?
			       json_string_value(json_object_get(agent, "version")) : "unknown");
	else
		printf("agent        not running (the pinned datapath keeps enforcing)\n");
	printf("polctl       version %s\n", json_string_value(json_object_get(st, "version")));
	printf("generation   %lld\n", json_integer_value(json_object_get(st, "generation")));
	if (json_is_object(meta))
		printf("metadata     generation %lld\n",
		       json_integer_value(json_object_get(meta, "generation")));
	else
		printf("metadata     none (names unknown)\n");
	v = json_object_get(st, "iptables");
	if (json_is_object(v))
		printf("iptables     %s (%s)\n", json_string_value(json_object_get(v, "backend")),
		       json_string_value(json_object_get(v, "reason")));
	polctl_datastore_print(json_object_get(st, "datastore"));
	printf("ep-to-host   %s\n", json_string_value(json_object_get(st, "endpoint_to_host")));
	printf("unprogrammed %lld%s\n\n", json_integer_value(json_object_get(st, "unprogrammed")),
	       json_integer_value(json_object_get(st, "unprogrammed")) ?
		       " interfaces deny everything: their endpoint could not be programmed (map "
		       "capacity, --max-endpoints; see palisaded's log and /readyz)" : "");

	printf("%-16s %-7s %-12s %-24s %-8s %-10s %-10s %s\n", "INTERFACE", "IFINDEX", "KIND",
	       "ENDPOINT", "XDP", "TC-IN", "TC-OUT", "GEN");
	json_array_foreach(json_object_get(st, "interfaces"), i, v) {
		json_t *xdp = json_object_get(v, "xdp"), *tc = json_object_get(v, "tc");
		const char *ep = json_string_value(json_object_get(v, "endpoint"));
		char gen[24] = "-";
		char xmode[24];

		if (json_is_integer(json_object_get(v, "generation")))
			snprintf(gen, sizeof(gen), "%lld",
				 json_integer_value(json_object_get(v, "generation")));
		snprintf(xmode, sizeof(xmode), "%s%s",
			 json_string_value(json_object_get(xdp, "mode")),
			 json_is_true(json_object_get(xdp, "palisade")) ||
					 !json_integer_value(json_object_get(xdp, "prog_id")) ?
				 "" : "*");
		printf("%-16s %-7lld %-12s %-24s %-8s %-10s %-10s %s\n",
		       json_string_value(json_object_get(v, "name")),
		       json_integer_value(json_object_get(v, "ifindex")),
		       json_string_value(json_object_get(v, "kind")),
		       json_is_true(json_object_get(v, "unprogrammed")) ? "UNPROGRAMMED (deny)" :
		       ep ? ep : "-", xmode,
		       json_is_true(json_object_get(tc, "ingress")) ? "attached" : "-",
		       json_is_true(json_object_get(tc, "egress")) ? "attached" : "-", gen);
	}
	printf("(XDP mode with * : a program that is not palisade's; none on a host endpoint: no "
	       "untracked ingress rules, tc ingress decides, or --xdp-mode off)\n\n");
	printf("%-16s %10s %10s %6s\n", "MAP", "USED", "MAX", "FILL");
	json_array_foreach(json_object_get(st, "maps"), i, v) {
		json_t *u = json_object_get(v, "used");
		long long max = json_integer_value(json_object_get(v, "max"));
		char used[24] = "-", fill[16] = "-";

		if (json_is_integer(u)) {
			snprintf(used, sizeof(used), "%lld", json_integer_value(u));
			if (max > 0)
				snprintf(fill, sizeof(fill), "%.1f%%",
					 100.0 * (double)json_integer_value(u) / (double)max);
		}
		printf("%-16s %10s %10lld %6s\n", json_string_value(json_object_get(v, "name")),
		       used, max, fill);
	}
	print_flows(json_object_get(st, "flows"));
}

int cmd_status(const struct polctl_globals *g, int argc, char **argv)
{
	struct polctl_live lv;
	json_t *st;
	int rc;

	(void)argv;
	if ((rc = polctl_live_open_noargs(g, "status", argc, &lv)))
		return rc;
	/* layout_version: polctl_live_open checked that the pinned layout is the one polctl reads. */
	st = json_pack("{s:s, s:s, s:o, s:i, s:I, s:o, s:s}", "bpffs", lv.dir, "version",
		       PALISADE_VERSION, "agent", polctl_agent_json(lv.dir), "layout_version",
		       (int)PAL_LAYOUT_VERSION, "generation", (json_int_t)lv.cfg.generation, "metadata",
		       lv.meta ? json_pack("{s:O, s:O}", "generation",
					   json_object_get(lv.meta, "generation"), "written_at",
					   json_object_get(lv.meta, "written_at")) :
				 json_null(),
		       "endpoint_to_host",
		       (lv.cfg.flags & PAL_CFG_EP_TO_HOST_ACCEPT) ? "accept" : "drop");
	/* which iptables variant the agent put palisade's rules in, and why (its metadata) */
	json_object_set(st, "iptables", lv.meta && json_object_get(lv.meta, "iptables") ?
						json_object_get(lv.meta, "iptables") : json_null());
	json_object_set_new(st, "interfaces", interfaces_json(&lv));
	{
		size_t i, n = 0;
		json_t *v;

		json_array_foreach(json_object_get(st, "interfaces"), i, v)
			n += json_is_true(json_object_get(v, "unprogrammed"));
		json_object_set_new(st, "unprogrammed", json_integer((json_int_t)n));
	}
	json_object_set_new(st, "maps", maps_json(&lv));
	json_object_set_new(st, "flows", flows_json(&lv));
	json_object_set_new(st, "datastore", polctl_datastore_json(lv.dir));
	polctl_print_output(g, st, print_table);
	polctl_live_close(&lv);
	return POLCTL_OK;
}
