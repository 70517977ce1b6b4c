/* The kernel check before load (agent/dataplane/kernel.c) against BTF files the test writes: the
 * conntrack kfuncs present or missing, struct bpf_ct_opts in Linux 6.1's 12-byte layout, the later
 * 16-byte one, or a size palisade does not know, in vmlinux or in nf_conntrack's module BTF. Each
 * failure is one message naming what is missing. Plus the running kernel, which must pass. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/btf.h>
#include "kernel.h"

TestSuite(bpf_kernel);

/* A BTF with struct bpf_ct_opts of opts_size bytes (0 = none) and, when kfuncs, the two
 * conntrack kfuncs, written raw to path. base: split BTF on top of it (a module's). */
static void write_btf(const char *path, struct btf *base, uint32_t opts_size, bool kfuncs)
{
	struct btf *b = base ? btf__new_empty_split(base) : btf__new_empty();
	const void *raw;
	uint32_t len;
	FILE *f;
	int u8, proto;

	cr_assert_not_null(b);
	u8 = btf__add_int(b, "u8", 1, 0);
	cr_assert_gt(u8, 0);
	if (opts_size) {
		cr_assert_gt(btf__add_struct(b, "bpf_ct_opts", opts_size), 0);
		cr_assert_eq(btf__add_field(b, "l4proto", u8, 64, 0), 0);
	}
	if (kfuncs) {
		proto = btf__add_func_proto(b, 0);
		cr_assert_gt(proto, 0);
		cr_assert_gt(btf__add_func(b, "bpf_skb_ct_lookup", BTF_FUNC_GLOBAL, proto), 0);
		cr_assert_gt(btf__add_func(b, "bpf_ct_release", BTF_FUNC_GLOBAL, proto), 0);
		cr_assert_gt(btf__add_func(b, "bpf_ct_change_timeout", BTF_FUNC_GLOBAL, proto), 0);
	}
	raw = btf__raw_data(b, &len);
	cr_assert_not_null(raw);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(raw, 1, len, f), len);
	fclose(f);
	btf__free(b);
}

static char vmlinux_path[64], module_path[64];

static void paths(void)
{
	snprintf(vmlinux_path, sizeof(vmlinux_path), "/tmp/paltest-btf-%d-vmlinux", (int)getpid());
	snprintf(module_path, sizeof(module_path), "/tmp/paltest-btf-%d-module", (int)getpid());
}

static void cleanup(void)
{
	unlink(vmlinux_path);
	unlink(module_path);
}

static int check(struct pal_kernel *k, bool with_module, char *err, size_t len)
{
	int rc = pal_kernel_check_btf(k, vmlinux_path, with_module ? module_path : NULL, err, len);

	cleanup();
	return rc;
}

Test(bpf_kernel, linux61_layout_in_vmlinux)
{
	struct pal_kernel k;
	char err[512] = "";

	paths();
	write_btf(vmlinux_path, NULL, 12, true);
	cr_assert_eq(check(&k, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(k.ct_opts_size, 12);
	cr_assert_str_eq(k.ct_btf, "vmlinux");
}

Test(bpf_kernel, zone_layout_in_the_nf_conntrack_module)
{
	struct pal_kernel k;
	struct btf *base;
	char err[512] = "";

	paths();
	write_btf(vmlinux_path, NULL, 0, false);
	base = btf__parse(vmlinux_path, NULL);
	cr_assert_not_null(base);
	write_btf(module_path, base, 16, true);
	btf__free(base);
	cr_assert_eq(check(&k, true, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(k.ct_opts_size, 16);
	cr_assert_str_eq(k.ct_btf, "nf_conntrack");
}

/* A vmlinux BTF the check refuses, and what its one message must name. */
static const struct refusal {
	const char *what;
	bool write;	    /* false: no BTF file at all */
	uint32_t opts_size; /* struct bpf_ct_opts's size in it (0 = none) */
	bool kfuncs;
	const char *names[4]; /* each in the message */
} refusals[] = {
	{ "missing kfuncs name them and the minimum", true, 12, false,
	  { "bpf_skb_ct_lookup", "bpf_ct_change_timeout", "nf_conntrack", "Linux 6.1" } },
	{ "an unknown options layout is refused", true, 20, true, { "bpf_ct_opts is 20 bytes" } },
	{ "no BTF at all", false, 0, false, { "BTF", "Linux 6.1" } },
};

Test(bpf_kernel, refusals_name_what_is_missing)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *c = &refusals[i];
		struct pal_kernel k;
		char err[512] = "";

		paths();
		if (c->write)
			write_btf(vmlinux_path, NULL, c->opts_size, c->kfuncs);
		cr_assert_neq(check(&k, false, err, sizeof(err)), 0, "%s: accepted", c->what);
		for (size_t j = 0; j < 4 && c->names[j]; j++)
			cr_assert(strstr(err, c->names[j]), "%s: no \"%s\" in: %s", c->what,
				  c->names[j], err);
	}
}

Test(bpf_kernel, this_kernel_has_what_the_programs_need)
{
	struct pal_kernel k;
	char err[512] = "";

	cr_assert_eq(pal_kernel_check(&k, err, sizeof(err)), 0, "%s", err);
	cr_assert(k.ct_opts_size == 12 || k.ct_opts_size == 16);
}
