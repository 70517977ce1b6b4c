/* Opening the pinned datapath and the helpers every live command shares (see live.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "live.h"
#include "meta.h"
#include "vec.h"

/* libbpf's own messages: warnings only (its info and debug lines are noise for a reader). */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fputs("polctl: ", stderr); /* libbpf's text starts with "libbpf: " */
	return vfprintf(stderr, fmt, ap);
}

int polctl_live_open(const struct polctl_globals *g, struct polctl_live *lv)
{
	char msg[512];
	struct stat st;
	uint32_t zero = 0;
	int err;

	memset(lv, 0, sizeof(*lv));
	libbpf_set_print(libbpf_print);
	lv->dir = g->bpffs;
	if (stat(lv->dir, &st) != 0)
		return polctl_fail(g, "no palisade datapath at %s: %s (is palisaded running? --bpffs "
				      "names its pin directory)", lv->dir, strerror(errno));
	err = pal_pins_open(lv->dir, lv->fd, LM_COUNT, msg, sizeof(msg));
	if (err == -ENOENT)
		return polctl_fail(g, "no palisade datapath is pinned at %s (%s; is palisaded "
				      "running? --bpffs names its pin directory)", g->bpffs, msg);
	if (err == -EPROTO)
		return polctl_fail(g, "%s: this polctl cannot read it (use the polctl of the agent "
				      "that pinned it)", msg);
	if (err)
		return polctl_fail(g, "cannot open the datapath at %s: %s%s", g->bpffs, msg,
				   err == -EPERM || err == -EACCES ? " (polctl needs root)" : "");
	lv->have_cfg = bpf_map_lookup_elem(lv->fd[LM_CONFIG], &zero, &lv->cfg) == 0;
	if (!lv->have_cfg)
		memset(&lv->cfg, 0, sizeof(lv->cfg));
	lv->ncpus = libbpf_num_possible_cpus();
	if (lv->ncpus <= 0) {
		polctl_live_close(lv);
		return polctl_fail(g, "cannot count the possible CPUs");
	}
	lv->meta_err = pal_meta_read(lv->dir, &lv->meta);
	return 0;
}

int polctl_live_open_noargs(const struct polctl_globals *g, const char *cmd, int argc,
			    struct polctl_live *lv)
{
	if (argc > 1)
		return polctl_fail(g, "%s: takes no arguments", cmd);
	return polctl_live_open(g, lv);
}

void polctl_live_close(struct polctl_live *lv)
{
	pal_pins_close(lv->fd, LM_COUNT);
	if (lv->meta) {
		json_decref(lv->meta);
		lv->meta = NULL;
	}
}

int live_iface_read(const struct polctl_live *lv, uint32_t ifindex, struct pal_iface *out)
{
	return pal_map_iface_read(lv->fd[LM_IFACES], lv->fd[LM_IF_BANK], lv->fd[LM_IF_CFG], ifindex,
				  out);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t *live_iface_keys(const struct polctl_live *lv, size_t *n)
{
	uint32_t key, *prev = NULL, *v = NULL;
	size_t cap = 0;

	*n = 0;
	while (bpf_map_get_next_key(lv->fd[LM_IFACES], prev, &key) == 0 &&
	       !vec_grow((void **)&v, &cap, *n + 1, sizeof(*v))) {
		v[(*n)++] = key;
		prev = &v[*n - 1];
	}
	if (v)
		qsort(v, *n, sizeof(*v), cmp_u32);
	return v;
}

void live_warn_meta(const struct polctl_live *lv)
{
	json_int_t mg;

	if (!lv->meta) {
		if (lv->meta_err == -ENOENT)
			fprintf(stderr, "polctl: warning: no metadata pinned at %s: names unknown (the "
					"agent writes %s/maps/%s at every apply)\n",
				lv->dir, lv->dir, PAL_META_MAP_NAME);
		else
			fprintf(stderr, "polctl: warning: the metadata at %s/maps/%s is unreadable: "
					"%s; names unknown\n",
				lv->dir, PAL_META_MAP_NAME, strerror(-lv->meta_err));
		return;
	}
	mg = json_integer_value(json_object_get(lv->meta, "generation"));
	if (lv->have_cfg && mg != (json_int_t)lv->cfg.generation)
		fprintf(stderr, "polctl: warning: the metadata describes generation %lld but the "
				"datapath runs generation %u: names may be wrong\n",
			(long long)mg, lv->cfg.generation);
}

const char *live_ifname(uint32_t ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		sprintf(buf, "if%u", ifindex);
	return buf;
}

json_t *live_meta_rule(const struct polctl_live *lv, uint32_t rule_id)
{
	json_t *r;

	if (!lv->meta || rule_id == PAL_RULE_ID_NONE)
		return NULL;
	r = json_array_get(json_object_get(lv->meta, "rules"), rule_id);
	return json_is_object(r) ? r : NULL;
}

json_t *live_meta_endpoint(const struct polctl_live *lv, uint32_t endpoint_id)
{
	json_t *e;

	if (!lv->meta)
		return NULL;
	e = json_array_get(json_object_get(lv->meta, "endpoints"), endpoint_id);
	return json_is_object(e) ? e : NULL;
}

const char *live_slot_stage(enum pal_slot slot, uint32_t iface_flags)
{
	switch (slot) {
	case PAL_SLOT_UNTRACKED_IN:
	case PAL_SLOT_UNTRACKED_OUT: return "untracked";
	case PAL_SLOT_PREDNAT_IN: return "prednat";
	case PAL_SLOT_FORWARD_IN:
	case PAL_SLOT_FORWARD_OUT: return "forward";
	default: return (iface_flags & PAL_IF_WORKLOAD) ? "workload" : "normal";
	}
}

enum pal_dir live_slot_dir(enum pal_slot slot)
{
	switch (slot) {
	case PAL_SLOT_UNTRACKED_OUT:
	case PAL_SLOT_FORWARD_OUT:
	case PAL_SLOT_NORMAL_OUT: return PAL_DIR_EGRESS;
	default: return PAL_DIR_INGRESS;
	}
}

const char *live_slot_name(enum pal_slot slot)
{
	static const char *const names[PAL_SLOT_COUNT] = {
		"untracked-in", "untracked-out", "prednat-in", "forward-in",
		"forward-out",	"normal-in",	 "normal-out",
	};
	return (unsigned)slot < PAL_SLOT_COUNT ? names[slot] : "?";
}

const char *live_meta_tier(const struct polctl_live *lv, uint32_t endpoint_id, uint32_t iface_flags,
			   enum pal_slot slot, uint32_t tier)
{
	json_t *ep = live_meta_endpoint(lv, endpoint_id), *list, *t;

	if (!ep)
		return NULL;
	list = json_object_get(json_object_get(json_object_get(ep, "stages"),
					       live_slot_stage(slot, iface_flags)),
			       pal_dir_name(live_slot_dir(slot)));
	t = json_array_get(list, tier);
	return json_string_value(json_object_get(t, "tier"));
}

long live_map_count(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *cur = NULL, *next = NULL;
	long n = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	cur = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	if (!cur || !next) {
		n = -ENOMEM;
		goto out;
	}
	/* NULL first key: the first element. */
	for (void *k = NULL; bpf_map_get_next_key(fd, k, next) == 0; k = cur) {
		memcpy(cur, next, info.key_size);
		n++;
	}
	if (errno != ENOENT)
		n = -errno;
out:
	free(cur);
	free(next);
	return n;
}
