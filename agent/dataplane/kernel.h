/* What the datapath needs from the running kernel, checked before anything is loaded so that a
 * kernel without it fails with one clear error (palisaded exits 2) instead of loading programs
 * that silently do less. The minimum is Linux 6.1 (Debian 12's kernel) with BTF; see
 * docs/operations.md "Kernel requirements". */
#ifndef PALISADE_DP_KERNEL_H
#define PALISADE_DP_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* The sizes of struct bpf_ct_opts that palisade's programs know: Linux 6.1's (netns_id, error,
 * l4proto, dir, reserved[2]) and the later layout with the conntrack zone. */
#define PAL_CT_OPTS_SIZE_6_1 12u
#define PAL_CT_OPTS_SIZE_ZONE 16u

struct pal_kernel {
	uint32_t ct_opts_size; /* struct bpf_ct_opts in the kernel's (or nf_conntrack's) BTF */
	char ct_btf[32];       /* where the conntrack kfuncs were found: "vmlinux" or a module */
};

/* Checks the kernel: BTF, the conntrack kfuncs bpf_skb_ct_lookup and bpf_ct_release with a
 * struct bpf_ct_opts of a known size (in vmlinux or the nf_conntrack module's BTF), the bpf_loop
 * and bpf_xdp_load_bytes helpers, ring buffer and LPM trie maps. 0, or -errno with a message
 * naming what is missing in err. */
int pal_kernel_check(struct pal_kernel *k, char *err, size_t errlen);

/* Same, against the given BTF files instead of /sys/kernel/btf (tests): vmlinux_path, and
 * module_path for nf_conntrack (may be NULL). Helpers and maps are probed on this kernel. */
int pal_kernel_check_btf(struct pal_kernel *k, const char *vmlinux_path, const char *module_path,
			 char *err, size_t errlen);

#endif
