/* Loading, pinning and adopting the datapath (see datapath.h for the pin layout). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "datapath_internal.h"
#include "ir.h"
#include "kernel.h"
#include "map_read.h"
#include "mkdir_p.h"
#include "palisade.skel.h"
#include "sf_out.skel.h"
#include "wl_guard.skel.h"

static const char *const prog_names[PAL_PROG_COUNT] = {
	[PAL_PROG_XDP_HEP_INGRESS] = "xdp_hep_ingress",
	[PAL_PROG_TC_INGRESS] = "tc_ingress",
	[PAL_PROG_TC_EGRESS] = "tc_egress",
	[PAL_PROG_SF_INPUT_DENY] = "sf_input_deny",
};

const char *pal_dp_prog_name(enum pal_dp_prog p)
{
	return p < PAL_PROG_COUNT ? prog_names[p] : "?";
}

int pal_dp_ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

/* libbpf's own messages only when PALISADE_LIBBPF_DEBUG is set: the loader reports its errors
 * itself, with context. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!getenv("PALISADE_LIBBPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* bpffs at /sys/fs/bpf when the pin dir is under it and it is not mounted yet. */
static int ensure_bpffs(struct pal_datapath *dp)
{
	if (strncmp(dp->dir, "/sys/fs/bpf/", 12) == 0 && !is_bpffs("/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			int e = -errno;

			pal_dp_set_error(dp, "cannot mount bpffs at /sys/fs/bpf: %s", strerror(-e));
			return e;
		}
	}
	return 0;
}

static bool map_is_shared(const struct bpf_map *m)
{
	const char *n = bpf_map__name(m);

	/* per-object scratch and the object's own global data (".rodata" maps, named after the
	 * object) are not shared */
	return strncmp(n, "pal_", 4) == 0 && strcmp(n, "pal_scratch") != 0 && !strchr(n, '.');
}

/* The kernel check (kernel.h), and the conntrack kfuncs' options size for the programs: the
 * kernel's, or the caller's override (tests). Before load: it is read-only data the verifier
 * sees as a constant. */
static int set_ct_opts_size(struct pal_datapath *dp, uint32_t override)
{
	struct pal_kernel k;
	char msg[sizeof(dp->err)];
	int err = pal_kernel_check(&k, msg, sizeof(msg));

	if (err) {
		pal_dp_set_error(dp, "%s", msg);
		return err;
	}
	if (override > PAL_CT_OPTS_SIZE_ZONE) { /* the struct on the programs' stack */
		pal_dp_set_error(dp, "conntrack options size %u: at most %u", override,
				 PAL_CT_OPTS_SIZE_ZONE);
		return -EINVAL;
	}
	dp->skel->rodata->pal_ct_opts_size = override ? override : k.ct_opts_size;
	return 0;
}

/* Checks the pinned layout (pins.c); 0 when it matches, -ENOENT when there is none. */
static int check_version(struct pal_datapath *dp)
{
	char msg[sizeof(dp->err) - 128];
	int err = pal_pins_check_layout(dp->dir, msg, sizeof(msg));

	if (err == -EPROTO)
		pal_dp_set_error(dp, "%s: refusing to adopt it. Remove it with `palisaded --uninstall "
				     "--bpffs %s` first", msg, dp->dir);
	else if (err && err != -ENOENT)
		pal_dp_set_error(dp, "%s", msg);
	return err;
}

/* The size a new map gets from the options (0: the object's default). */
static uint32_t wanted_size(const struct pal_dp_sizes *o, const char *n)
{
	uint32_t ep = o->max_endpoints ? o->max_endpoints : PAL_DEF_MAX_ENDPOINTS;

	if (!strcmp(n, "pal_words")) return o->max_words;
	if (!strcmp(n, "pal_classes")) return o->max_classes;
	if (!strcmp(n, "pal_entries")) return o->max_entries;
	if (!strcmp(n, "pal_lists")) return o->max_lists ? o->max_lists : PAL_LISTS_FOR(ep);
	if (!strcmp(n, "pal_long")) /* a slot for every list pal_lists can hold (abi.h) */
		return o->max_lists ? o->max_lists : PAL_LONG_SLOTS_FOR(ep);
	if (!strcmp(n, "pal_small")) /* an array: its slots are reserved (abi.h) */
		return o->max_lists && o->max_lists < PAL_SMALL_SLOTS_FOR(ep) ? o->max_lists :
									       PAL_SMALL_SLOTS_FOR(ep);
	if (!strcmp(n, "pal_flows") || !strcmp(n, "pal_flows4")) return o->max_flows; /* per family */
	if (!strcmp(n, "pal_rule_ctrs")) return o->max_rule_ids;
	if (!strcmp(n, "pal_ifaces")) return PAL_IF_KEYS_FOR(ep);
	if (!strcmp(n, "pal_if_live")) return PAL_IF_KEYS_FOR(ep);
	if (!strcmp(n, "pal_if_bank")) return PAL_IF_SLOTS_FOR(ep);
	if (!strcmp(n, "pal_if_cfg")) return 2 * PAL_IF_SLOTS_FOR(ep);
	if (!strcmp(n, "pal_if_ctrs")) return PAL_IF_CTRS_FOR(ep);
	if (!strcmp(n, "pal_slot_ctrs")) return PAL_SLOT_CTRS_FOR(ep);
	return 0;
}

/* Points every shared map of obj at its pin; for a pinned map, takes over its size so libbpf's
 * compatibility check passes (sizes chosen at creation persist). */
static int setup_map_pins(struct pal_datapath *dp, struct bpf_object *obj,
			  const struct pal_dp_opts *o)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		char path[PATH_MAX];
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		const char *n = bpf_map__name(m);
		uint32_t want = 0;
		int fd, err;

		if (!map_is_shared(m))
			continue;
		snprintf(path, sizeof(path), "%s/maps/%s", dp->dir, n);
		err = bpf_map__set_pin_path(m, path);
		if (err) {
			pal_dp_set_error(dp, "map %s: pin path: %s", n, strerror(-err));
			return err;
		}
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			err = bpf_obj_get_info_by_fd(fd, &info, &len);
			close(fd);
			if (err)
				return -errno;
			if (info.type != bpf_map__type(m) ||
			    info.key_size != bpf_map__key_size(m) ||
			    info.value_size != bpf_map__value_size(m)) {
				pal_dp_set_error(dp,
						 "pinned map %s does not match this build (type %u "
						 "key %u value %u, want %u/%u/%u): refusing to adopt",
						 path, info.type, info.key_size, info.value_size,
						 bpf_map__type(m), bpf_map__key_size(m),
						 bpf_map__value_size(m));
				return -EPROTO;
			}
			want = info.max_entries;
			/* the kernel adds BPF_F_RDONLY_PROG to a devmap's flags (pal_if_live):
			 * libbpf compares flags before it reuses a pin */
			if (info.type == BPF_MAP_TYPE_DEVMAP_HASH &&
			    (err = bpf_map__set_map_flags(m, info.map_flags)))
				return err;
		} else if (o) {
			want = wanted_size(&o->sizes, n);
		}
		if (want && bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) {
			err = bpf_map__set_max_entries(m, want);
			if (err)
				return err;
		}
	}
	return 0;
}

static int pin_prog(struct pal_datapath *dp, struct bpf_program *p, const char *name)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/progs/%s", dp->dir, name);
	unlink(path); /* replace: an attached older copy keeps running until re-attached */
	err = bpf_program__pin(p, path);
	if (err)
		pal_dp_set_error(dp, "pin %s: %s", path, strerror(-err));
	return err;
}

/* Restart: when the pinned program has the same instructions as the one just loaded (the tag is
 * a hash of the instructions with map references zeroed, so it does not depend on map fds), keep
 * the pinned one: it is what is attached, re-attaching it is a no-op, and its id and run
 * statistics stay. Another build's program (different tag) is replaced by the fresh copy.
 * Returns 0 and sets dp->adopted_prog_fd[i] when adopted. */
static int adopt_pinned_prog(struct pal_datapath *dp, int i)
{
	struct bpf_prog_info pinned = { 0 }, fresh = { 0 };
	uint32_t l1 = sizeof(pinned), l2 = sizeof(fresh);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/progs/%s", dp->dir, prog_names[i]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &pinned, &l1) ||
	    bpf_obj_get_info_by_fd(bpf_program__fd(dp->prog[i]), &fresh, &l2) ||
	    pinned.type != fresh.type || memcmp(pinned.tag, fresh.tag, sizeof(pinned.tag))) {
		close(fd);
		return -ESTALE;
	}
	dp->adopted_prog_fd[i] = fd;
	return 0;
}

/* ---- the re-judge's tail-call tables ----------------------------------------------------------
 *
 * A stale flow's packet tail-calls its object's re-judge program through a private program array
 * (flow_tc_jmp from tc_ingress and tc_egress, flow_sf_jmp from sf_input_deny; bpf/palisade.bpf.c).
 * The kernel empties a program array when its last user reference (fd or pin) goes, and a
 * program holds none: unpinned, the arrays were emptied when the loading process exited
 * (`palisaded --once`, any restart, which adopts the pinned programs and with them their arrays),
 * every tail call then failed and a stale packet met policy as a new packet at its hook. A flow
 * the new policy denies went on when the server spoke first and its own direction was allowed
 * (admitted as a new flow with the server as opener, the client riding it as replies), and an
 * allowed flow whose reply direction is not allowed was cut by any policy change
 * (tests/bpf/test_restart_rejudge.c). So each program's array is pinned beside it
 * (progs/<program>_jmp), and pinned programs one of whose arrays is already empty (left by a build
 * without these pins) are not adopted: the fresh copies replace them. */
static const struct {
	enum pal_dp_prog prog;
	const char *map;
} jmp_tables[] = {
	{ PAL_PROG_TC_INGRESS, "flow_tc_jmp" },
	{ PAL_PROG_TC_EGRESS, "flow_tc_jmp" },
	{ PAL_PROG_SF_INPUT_DENY, "flow_sf_jmp" },
};

/* The map named `name` among program prog_fd's maps, as a new fd; -ENOENT when it has none. */
static int prog_map_by_name(int prog_fd, const char *name)
{
	struct bpf_prog_info pi = { 0 };
	uint32_t ids[64], len = sizeof(pi);

	pi.nr_map_ids = 64;
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -errno;
	for (uint32_t i = 0; i < pi.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* Every pinned program that tail-calls still has its re-judge program in its array. */
static bool pinned_jmps_live(const struct pal_datapath *dp)
{
	for (size_t j = 0; j < sizeof(jmp_tables) / sizeof(jmp_tables[0]); j++) {
		char path[PATH_MAX];
		uint32_t key = 0, id = 0;
		int pfd, mfd;
		bool live;

		snprintf(path, sizeof(path), "%s/progs/%s", dp->dir, prog_names[jmp_tables[j].prog]);
		pfd = bpf_obj_get(path);
		if (pfd < 0)
			return false;
		mfd = prog_map_by_name(pfd, jmp_tables[j].map);
		close(pfd);
		if (mfd < 0)
			return false;
		live = bpf_map_lookup_elem(mfd, &key, &id) == 0;
		close(mfd);
		if (!live)
			return false;
	}
	return true;
}

/* Pins the tail-call table of each program in use (adopted or fresh) as progs/<program>_jmp. */
static int pin_jmps(struct pal_datapath *dp)
{
	for (size_t j = 0; j < sizeof(jmp_tables) / sizeof(jmp_tables[0]); j++) {
		const char *prog = prog_names[jmp_tables[j].prog];
		char path[PATH_MAX];
		int mfd = prog_map_by_name(pal_dp_prog_fd(dp, jmp_tables[j].prog), jmp_tables[j].map);
		int err = 0;

		if (mfd < 0) {
			pal_dp_set_error(dp, "%s: no %s: %s", prog, jmp_tables[j].map, strerror(-mfd));
			return mfd;
		}
		snprintf(path, sizeof(path), "%s/progs/%s_jmp", dp->dir, prog);
		unlink(path);
		if (bpf_obj_pin(mfd, path)) {
			err = -errno;
			pal_dp_set_error(dp, "pin %s: %s", path, strerror(errno));
		}
		close(mfd);
		if (err)
			return err;
	}
	return 0;
}

/* Read-only: the pinned maps only, no program is loaded. */
static int open_read_only(struct pal_datapath *dp)
{
	char msg[sizeof(dp->err) - 64];
	int err = pal_pins_open(dp->dir, dp->map_fd, PAL_M_COUNT, msg, sizeof(msg));

	if (err == -ENOENT) {
		pal_dp_set_error(dp, "%s (is palisaded running?)", msg);
		return err;
	}
	if (err) {
		pal_dp_set_error(dp, "%s", msg);
		return err;
	}
	return pal_dp_regions_load(dp);
}

bool pal_dp_xdp_meta(const struct pal_datapath *dp)
{
	return dp->skel && dp->skel->rodata->pal_xdp_meta_ok;
}

uint32_t pal_dp_xdp_meta_cookie(const struct pal_datapath *dp)
{
	return dp->skel ? dp->skel->rodata->pal_xdp_meta_cookie : 0;
}

/* A map or program the object must have (found: what the lookup by name returned): 0, or
 * -ENOENT with the error naming it. */
static int require_in_object(struct pal_datapath *dp, const void *found, const char *kind,
			     const char *name)
{
	if (found)
		return 0;
	pal_dp_set_error(dp, "%s %s missing from the object", kind, name);
	return -ENOENT;
}

/* Whether XDP programs may call bpf_xdp_adjust_meta on this kernel. Some kernels refuse it
 * ("program of this type cannot use helper"), a message libbpf_probe_bpf_helper() does not
 * recognise as "unsupported", so the probe loads the call itself: r2 = -4; call; return XDP_PASS. */
static bool kernel_has_xdp_meta(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = -4 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pal_probe_meta", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* This load's seal for XDP's metadata word (abi.h "XDP -> tc"): random and never 0, so no other
 * program and no other load of palisade's writes a word tc ingress believes. */
static int xdp_meta_cookie(struct pal_datapath *dp, uint32_t *out)
{
	do {
		if (getrandom(out, sizeof(*out), 0) != (ssize_t)sizeof(*out)) {
			int err = errno ? -errno : -EIO;

			pal_dp_set_error(dp, "getrandom for the XDP metadata cookie: %s",
					 strerror(-err));
			return err;
		}
	} while (*out == 0);
	return 0;
}

int pal_dp_open(const struct pal_dp_opts *opts, struct pal_datapath **out, bool *adopted,
		char *errbuf, size_t errlen)
{
	struct pal_datapath *dp;
	char path[PATH_MAX];
	bool have_pins = true; /* until known: never clean up what we did not create */
	bool jmps_live; /* the pinned programs can still re-judge (pinned_jmps_live) */
	int err;

	*out = NULL;
	if (adopted)
		*adopted = false;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	libbpf_set_print(libbpf_print);
	snprintf(dp->dir, sizeof(dp->dir), "%s",
		 opts && opts->pin_dir ? opts->pin_dir : PAL_PIN_DIR_DEFAULT);
	for (int i = 0; i < PAL_M_COUNT; i++)
		dp->map_fd[i] = -1;
	for (int i = 0; i < PAL_PROG_COUNT; i++)
		dp->adopted_prog_fd[i] = -1;
	if (opts && opts->read_only) {
		dp->read_only = true;
		err = open_read_only(dp);
		if (err)
			goto fail;
		if (adopted)
			*adopted = true;
		*out = dp;
		return 0;
	}

	err = ensure_bpffs(dp);
	if (err)
		goto fail;
	snprintf(path, sizeof(path), "%s/maps", dp->dir);
	err = pal_mkdir_p(path);
	if (!err) {
		snprintf(path, sizeof(path), "%s/progs", dp->dir);
		err = pal_mkdir_p(path);
	}
	if (err) {
		pal_dp_set_error(dp, "cannot create %s: %s", path, strerror(-err));
		goto fail;
	}
	if (!is_bpffs(dp->dir)) {
		err = -EINVAL;
		pal_dp_set_error(dp, "%s is not on a bpf filesystem", dp->dir);
		goto fail;
	}

	err = check_version(dp);
	have_pins = err == 0;
	if (err && err != -ENOENT)
		goto fail;
	if (have_pins && opts && opts->no_adopt) {
		err = -EEXIST;
		pal_dp_set_error(dp, "a datapath is already pinned in %s", dp->dir);
		goto fail;
	}

	dp->skel = pal_palisade__open();
	if (!dp->skel) {
		err = -errno ? -errno : -EINVAL;
		pal_dp_set_error(dp, "cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	dp->event_rate = opts ? opts->sizes.event_rate : 0;
	err = set_ct_opts_size(dp, opts ? opts->ct_opts_size : 0);
	if (err)
		goto fail;
	err = setup_map_pins(dp, dp->skel->obj, opts);
	if (err)
		goto fail;
	/* XDP metadata carries XDP's verdict to tc; without it tc evaluates again (same answer). */
	dp->skel->rodata->pal_xdp_meta_ok = kernel_has_xdp_meta();
	err = xdp_meta_cookie(dp, (uint32_t *)&dp->skel->rodata->pal_xdp_meta_cookie);
	if (err)
		goto fail;
	err = pal_palisade__load(dp->skel);
	if (err) {
		pal_dp_set_error(dp, "cannot load the BPF programs: %s (set PALISADE_LIBBPF_DEBUG=1 "
				 "for the verifier log)", strerror(-err));
		goto fail;
	}
	for (int i = 0; i < PAL_M_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, pal_map_names[i]);

		if ((err = require_in_object(dp, m, "map", pal_map_names[i])))
			goto fail;
		dp->map_fd[i] = bpf_map__fd(m);
	}
	if (!have_pins) {
		struct pal_version v = { .magic = PAL_VERSION_MAGIC,
					 .layout = PAL_LAYOUT_VERSION,
					 .summary_words = PAL_SUMMARY_WORDS };
		uint32_t key = 0;

		err = bpf_map_update_elem(MFD(dp, pal_version), &key, &v, 0);
		if (err) {
			err = -errno;
			pal_dp_set_error(dp, "cannot write the layout version: %s", strerror(-err));
			goto fail;
		}
	}
	jmps_live = have_pins && pinned_jmps_live(dp);
	for (int i = 0; i < PAL_PROG_COUNT; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(dp->skel->obj, prog_names[i]);

		if ((err = require_in_object(dp, p, "program", prog_names[i])))
			goto fail;
		dp->prog[i] = p;
		if (jmps_live && adopt_pinned_prog(dp, i) == 0)
			continue;
		err = pin_prog(dp, p, prog_names[i]);
		if (err)
			goto fail;
	}
	err = pin_jmps(dp);
	if (err)
		goto fail;
	err = pal_dp_regions_load(dp);
	if (err)
		goto fail;
	if (adopted)
		*adopted = have_pins;
	*out = dp;
	return 0;
fail:
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", dp->err[0] ? dp->err : strerror(-err));
	if (!dp->read_only && !have_pins) {
		/* leave no empty directories behind (rmdir removes only empty ones; libbpf already
		 * unpinned the maps it created) */
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/progs", dp->dir);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/maps", dp->dir);
		rmdir(p);
		rmdir(dp->dir);
	}
	pal_dp_close(dp);
	return err;
}

uint32_t pal_dp_max_endpoints(const struct pal_datapath *dp)
{
	return dp->n_slots > PAL_IFSLOT_FIRST + PAL_LINK_SLOTS ?
		       dp->n_slots - PAL_IFSLOT_FIRST - PAL_LINK_SLOTS : 0;
}

void pal_dp_close(struct pal_datapath *dp)
{
	if (!dp)
		return;
	pal_dp_regions_free(dp);
	for (int i = 0; i < PAL_PROG_COUNT; i++)
		if (dp->adopted_prog_fd[i] >= 0)
			close(dp->adopted_prog_fd[i]);
	if (dp->read_only)
		for (int i = 0; i < PAL_M_COUNT; i++)
			if (dp->map_fd[i] >= 0)
				close(dp->map_fd[i]);
	if (dp->skel)
		pal_palisade__destroy(dp->skel);
	free(dp);
}


int pal_dp_prog_fd(const struct pal_datapath *dp, enum pal_dp_prog p)
{
	if (dp->read_only || p >= PAL_PROG_COUNT || !dp->prog[p])
		return -ENOENT;
	if (dp->adopted_prog_fd[p] >= 0)
		return dp->adopted_prog_fd[p];
	return bpf_program__fd(dp->prog[p]);
}

int pal_dp_map_fd(const struct pal_datapath *dp, const char *name)
{
	for (int i = 0; i < PAL_M_COUNT; i++)
		if (!strcmp(pal_map_names[i], name))
			return dp->map_fd[i];
	return -ENOENT;
}

int pal_dp_prog_pin_path(const struct pal_datapath *dp, const char *prog, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/progs/%s", dp->dir, prog);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A skeleton's __open() returned NULL: -errno (or -EINVAL), with the error naming the object. */
static int skeleton_open_error(struct pal_datapath *dp, const char *what)
{
	int err = errno ? -errno : -EINVAL;

	pal_dp_set_error(dp, "cannot open the %s object: %s", what, strerror(-err));
	return err;
}

/* Points every shared map of obj (a second object: sf_out, wl_guard) at the datapath's, before
 * load. `what` names the object in the error. */
static int share_maps(struct pal_datapath *dp, struct bpf_object *obj, const char *what)
{
	struct bpf_map *m;
	int err = 0;

	bpf_object__for_each_map(m, obj) {
		int fd;

		if (!map_is_shared(m))
			continue;
		fd = pal_dp_map_fd(dp, bpf_map__name(m));
		if (fd < 0 || (err = bpf_map__reuse_fd(m, fd))) {
			pal_dp_set_error(dp, "%s: cannot share map %s", what, bpf_map__name(m));
			return err ? err : fd;
		}
	}
	return 0;
}

/* Pins one raw OUTPUT filter of ifindex as "<kind>_<ifindex>"; its pin path into path (PATH_MAX
 * bytes) when path is not NULL. */
static int pin_sf_out_prog(struct pal_datapath *dp, struct bpf_program *p, const char *kind,
			   uint32_t ifindex, char *path)
{
	char name[64];
	int err;

	snprintf(name, sizeof(name), "%s_%u", kind, ifindex);
	err = pin_prog(dp, p, name);
	if (!err && path)
		pal_dp_prog_pin_path(dp, name, path, PATH_MAX);
	return err;
}

int pal_dp_load_sf_out(struct pal_datapath *dp, uint32_t ifindex, char *deny_path,
		       char *failsafe_path, char *allow_path)
{
	struct pal_sf_out *s;
	int err = 0;

	if (dp->read_only)
		return -EPERM;
	s = pal_sf_out__open();
	if (!s)
		return skeleton_open_error(dp, "raw OUTPUT filter");
	s->rodata->pal_out_ifindex = ifindex;
	/* raw OUTPUT never reads or writes a verdict-cache line (bpf/classify.h pal_vcache_get):
	 * this object's own cls_vcache would be PAL_HOOK_COUNT * PAL_VCACHE_LINES lines a CPU, per
	 * host endpoint interface, for nothing */
	err = bpf_map__set_max_entries(s->maps.cls_vcache, 1);
	if (!err)
		err = share_maps(dp, s->obj, "raw OUTPUT filter");
	if (err)
		goto out;
	err = pal_sf_out__load(s);
	if (err) {
		pal_dp_set_error(dp, "cannot load the raw OUTPUT filters for ifindex %u: %s", ifindex,
				 strerror(-err));
		goto out;
	}
	err = pin_sf_out_prog(dp, s->progs.sf_untracked_out_deny, "sf_out_deny", ifindex, deny_path);
	if (!err)
		err = pin_sf_out_prog(dp, s->progs.sf_failsafe_out, "sf_out_failsafe", ifindex,
				      failsafe_path);
	if (!err)
		err = pin_sf_out_prog(dp, s->progs.sf_untracked_out_allow, "sf_out_allow", ifindex,
				      allow_path);
out:
	pal_sf_out__destroy(s);
	return err;
}

int pal_dp_unpin_sf_out(struct pal_datapath *dp, uint32_t ifindex)
{
	static const char *const kinds[] = { "sf_out_deny", "sf_out_allow", "sf_out_failsafe" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(path, sizeof(path), "%s/progs/%s_%u", dp->dir, kinds[i], ifindex);
		unlink(path);
	}
	return 0;
}

int pal_dp_load_wl_guard(struct pal_datapath *dp, char *path, size_t len)
{
	struct pal_wl_guard *g;
	int err;

	if (dp->read_only)
		return -EPERM;
	g = pal_wl_guard__open();
	if (!g)
		return skeleton_open_error(dp, "workload guard");
	err = share_maps(dp, g->obj, "workload guard");
	if (!err && (err = pal_wl_guard__load(g)))
		pal_dp_set_error(dp, "cannot load the workload guard: %s", strerror(-err));
	if (!err)
		err = pin_prog(dp, g->progs.sf_wl_guard, PAL_WL_GUARD_PIN);
	if (!err && path)
		err = pal_dp_prog_pin_path(dp, PAL_WL_GUARD_PIN, path, len);
	pal_wl_guard__destroy(g);
	return err;
}

int pal_dp_unpin_wl_guard(struct pal_datapath *dp)
{
	char path[PATH_MAX];

	pal_dp_prog_pin_path(dp, PAL_WL_GUARD_PIN, path, sizeof(path));
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

static int unlink_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return 0;
}

int pal_dp_unpin_all(const char *dir)
{
	char path[PATH_MAX];

	if (!dir)
		dir = PAL_PIN_DIR_DEFAULT;
	snprintf(path, sizeof(path), "%s/progs", dir);
	unlink_dir_entries(path);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/maps", dir);
	unlink_dir_entries(path);
	rmdir(path);
	if (rmdir(dir) && errno != ENOENT)
		return -errno;
	return 0;
}

void pal_dp_unpin_orphans(const char *prefix)
{
	size_t len = strlen(prefix);
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(e->d_name, prefix, len) != 0)
			continue;
		/* the pid is the name's last "-" field (palbench-TAG-PID, paltest-PID) */
		end = strrchr(e->d_name, '-');
		pid = end ? strtol(end + 1, &end, 10) : 0;
		if (pid <= 0 || *end || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its owner runs (or cannot be told apart): not an orphan */
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", e->d_name);
		pal_dp_unpin_all(path);
	}
	closedir(d);
}

int pal_dp_rule_counter(const struct pal_datapath *dp, uint32_t rule_id, struct pal_rule_ctr *out)
{
	return pal_map_rule_counter(MFD(dp, pal_rule_ctrs), rule_id, out);
}

int pal_dp_if_counter(const struct pal_datapath *dp, uint32_t ifindex, enum pal_hook hook,
		      struct pal_if_ctr *out)
{
	struct pal_ifctr_key key = { .ifindex = ifindex, .hook = hook };
	struct pal_ifctr_maps maps = PAL_DP_IFCTR_MAPS(dp);
	int err = pal_map_if_counter(&maps, &key, out);

	return err == -ENOENT ? 0 : err; /* never counted: zeros */
}
