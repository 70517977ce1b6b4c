/* The workload guard's netfilter rules (netfilter.h): pods' traffic on an interface palisade has
 * not taken over is dropped, with or without a running agent. Why mangle: its PREROUTING sees
 * every packet from a pod (forwarded or to the host) and its POSTROUTING every packet to a pod
 * (forwarded or from the host) with the output device known; raw has no output device yet and
 * filter FORWARD/INPUT/OUTPUT would need three hooks for the same job. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "netfilter.h"
#include "netfilter_internal.h"

static const struct {
	const char *from, *chain, *dir;
} guard_hooks[] = {
	{ "PREROUTING", PAL_NF_CH_WL_PRE, "-i" },   /* from a pod */
	{ "POSTROUTING", PAL_NF_CH_WL_POST, "-o" }, /* to a pod */
};
#define N_GUARD_HOOKS (sizeof(guard_hooks) / sizeof(guard_hooks[0]))

/* The guard's jumps as the shared jump check and removal take them (netfilter_internal.h). */
static void guard_jumps(struct pal_nf_chain_ref out[N_GUARD_HOOKS])
{
	for (size_t i = 0; i < N_GUARD_HOOKS; i++)
		out[i] = (struct pal_nf_chain_ref){ "mangle", guard_hooks[i].from,
						    guard_hooks[i].chain };
}

/* Characters that go into an iptables-restore line as they are: no space, quote or newline
 * could end the word and start another option. */
static bool rule_word_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("_.-", *s) && !strchr(extra, *s))
			return false;
	return true;
}

int pal_nf_guard_render(const char *prefix, const char *guard_path, struct pal_strbuf *b,
			char *err, size_t errlen)
{
	/* an interface name has at most 15 characters: the prefix and at least one more */
	if (!prefix || strlen(prefix) > 14 || !rule_word_ok(prefix, "")) {
		snprintf(err, errlen, "workload interface prefix \"%s\": want 1 to 14 of "
			 "[A-Za-z0-9_.-] (--workload-interface-prefix)", prefix ? prefix : "");
		return -EINVAL;
	}
	if (!rule_word_ok(guard_path, "/")) {
		snprintf(err, errlen, "workload guard pin \"%s\": the --bpffs path must be made "
			 "of [A-Za-z0-9_./-] to go into an iptables rule", guard_path);
		return -EINVAL;
	}
	pal_strbuf_printf(b, "*mangle\n");
	for (size_t i = 0; i < N_GUARD_HOOKS; i++)
		pal_strbuf_printf(b, ":%s - [0:0]\n", guard_hooks[i].chain);
	for (size_t i = 0; i < N_GUARD_HOOKS; i++)
		pal_strbuf_printf(b, "-A %s %s %s+ -m bpf --object-pinned %s -j DROP\n",
				  guard_hooks[i].chain, guard_hooks[i].dir, prefix, guard_path);
	pal_strbuf_printf(b, "COMMIT\n");
	return b->oom ? -ENOMEM : 0;
}

int pal_nf_guard_check_jumps(char *err, size_t errlen)
{
	struct pal_nf_chain_ref jumps[N_GUARD_HOOKS];

	guard_jumps(jumps);
	return pal_nf_check_jump_list(jumps, N_GUARD_HOOKS, true, err, errlen);
}

int pal_nf_guard_install(const char *prefix, const char *guard_path, char *err, size_t errlen)
{
	int rc = 0;

	for (int f = 0; f < 2 && !rc; f++) {
		const char *restore = pal_nf_bin(f, "-restore");
		char *argv[] = { (char *)restore, "-w", "--noflush", NULL };
		struct pal_strbuf rules = { 0 };

		rc = pal_nf_guard_render(prefix, guard_path, &rules, err, errlen);
		if (!rc && (rc = pal_nf_run(argv, rules.p)))
			snprintf(err, errlen, "%s failed installing the workload guard (is xt_bpf "
				 "available?)", restore);
		pal_strbuf_free(&rules);
	}
	if (!rc)
		rc = pal_nf_guard_check_jumps(err, errlen);
	return rc < 0 ? rc : 0;
}

void pal_nf_guard_remove(void)
{
	struct pal_nf_chain_ref jumps[N_GUARD_HOOKS];

	guard_jumps(jumps);
	pal_nf_remove_chains(jumps, N_GUARD_HOOKS);
}
