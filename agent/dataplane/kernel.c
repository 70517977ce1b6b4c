/* The kernel check before load (kernel.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kernel.h"

#define PAL_KERNEL_MIN "Linux 6.1 with BTF (CONFIG_DEBUG_INFO_BTF)"

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "this kernel lacks %s; palisade needs " PAL_KERNEL_MIN, what);
	return rc;
}

static bool has_func(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/* struct bpf_ct_opts' size in btf, or 0 when btf does not have it. */
static uint32_t ct_opts_size(const struct btf *btf)
{
	__s32 id = btf ? btf__find_by_name_kind(btf, "bpf_ct_opts", BTF_KIND_STRUCT) : -1;
	__s64 sz;

	if (id <= 0)
		return 0;
	sz = btf__resolve_size(btf, id);
	return sz > 0 ? (uint32_t)sz : 0;
}

/* The conntrack kfuncs and their options struct, from vmlinux (nf_conntrack built in) or the
 * nf_conntrack module's split BTF. */
static int check_conntrack(struct pal_kernel *k, const struct btf *vmlinux, const struct btf *mod,
			   char *err, size_t errlen)
{
	const struct btf *btf = vmlinux;

	snprintf(k->ct_btf, sizeof(k->ct_btf), "vmlinux");
	if (!has_func(vmlinux, "bpf_skb_ct_lookup") && has_func(mod, "bpf_skb_ct_lookup")) {
		btf = mod;
		snprintf(k->ct_btf, sizeof(k->ct_btf), "nf_conntrack");
	}
	/* bpf_ct_change_timeout (6.0): a re-judge that denies a flow expires its conntrack entry */
	if (!has_func(btf, "bpf_skb_ct_lookup") || !has_func(btf, "bpf_ct_release") ||
	    !has_func(btf, "bpf_ct_change_timeout"))
		return fail(err, errlen, -ENOTSUP,
			    "the conntrack kfuncs bpf_skb_ct_lookup, bpf_ct_release and "
			    "bpf_ct_change_timeout in its BTF "
			    "(load the nf_conntrack module: modprobe nf_conntrack; the kernel needs "
			    "CONFIG_NF_CONNTRACK and CONFIG_DEBUG_INFO_BTF_MODULES when it is a module)");
	k->ct_opts_size = ct_opts_size(btf);
	if (k->ct_opts_size != PAL_CT_OPTS_SIZE_6_1 && k->ct_opts_size != PAL_CT_OPTS_SIZE_ZONE) {
		snprintf(err, errlen,
			 "this kernel's struct bpf_ct_opts is %u bytes (in %s's BTF); palisade knows "
			 "the layouts of %u (Linux 6.1) and %u bytes only",
			 k->ct_opts_size, k->ct_btf, PAL_CT_OPTS_SIZE_6_1, PAL_CT_OPTS_SIZE_ZONE);
		return -ENOTSUP;
	}
	return 0;
}

/* Helpers and map types the programs use that 6.1 has and older kernels may not. */
static int check_features(char *err, size_t errlen)
{
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_loop, NULL) != 1)
		return fail(err, errlen, -ENOTSUP, "the bpf_loop helper (Linux 5.17)");
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes, NULL) != 1)
		return fail(err, errlen, -ENOTSUP, "the bpf_xdp_load_bytes helper (Linux 5.18)");
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		return fail(err, errlen, -ENOTSUP, "BPF ring buffer maps (Linux 5.8)");
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) != 1)
		return fail(err, errlen, -ENOTSUP, "BPF LPM trie maps");
	return 0;
}

static int check(struct pal_kernel *k, struct btf *vmlinux, struct btf *mod, char *err,
		 size_t errlen)
{
	int rc;

	memset(k, 0, sizeof(*k));
	if (!vmlinux)
		return fail(err, errlen, -ENOTSUP, "BTF (/sys/kernel/btf/vmlinux)");
	rc = check_conntrack(k, vmlinux, mod, err, errlen);
	if (!rc)
		rc = check_features(err, errlen);
	return rc;
}

int pal_kernel_check(struct pal_kernel *k, char *err, size_t errlen)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;
	int rc;

	/* libbpf 1.x returns NULL on errors */
	if (vmlinux && !has_func(vmlinux, "bpf_skb_ct_lookup"))
		mod = btf__load_module_btf("nf_conntrack", vmlinux);
	rc = check(k, vmlinux, mod, err, errlen);
	btf__free(mod);
	btf__free(vmlinux);
	return rc;
}

int pal_kernel_check_btf(struct pal_kernel *k, const char *vmlinux_path, const char *module_path,
			 char *err, size_t errlen)
{
	struct btf *vmlinux = btf__parse(vmlinux_path, NULL), *mod = NULL;
	int rc;

	if (vmlinux && module_path)
		mod = btf__parse_split(module_path, vmlinux);
	rc = check(k, vmlinux, mod, err, errlen);
	btf__free(mod);
	btf__free(vmlinux);
	return rc;
}
