/* What netfilter.c shares with netfilter_guard.c; not for other callers. */
#ifndef PALISADE_NETFILTER_INTERNAL_H
#define PALISADE_NETFILTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Runs argv (no shell) with `input` on stdin (may be NULL); 0 when it exited 0. */
int pal_nf_run(char *const argv[], const char *input);
/* "iptables", "ip6tables-nft-restore", ...: family 0 (IPv4) or 1 (IPv6), suffix "" or
 * "-restore", in the variant in use. The result stays valid for the next three calls. */
const char *pal_nf_bin(int family, const char *suffix);

/* A palisade chain and the built-in chain that jumps to it (NULL: none). `optional`: the jump is
 * kept only while the caller wants it (pal_nf_check_jump_list), removed otherwise. */
struct pal_nf_chain_ref {
	const char *table, *from, *chain;
	bool optional;
};
/* Each jump of `jumps` is the first rule of its built-in chain and its only copy (inserted or
 * repaired), or absent when it is optional and !optional_wanted; iptables and ip6tables. One chain
 * that cannot be listed or rewritten (a rule iptables cannot parse, added by another tool) does
 * not keep the others from repair: all are checked. Returns how many it repaired, or the first
 * failure's -errno with its message in err (may be NULL). */
int pal_nf_check_jump_list(const struct pal_nf_chain_ref *jumps, size_t n, bool optional_wanted,
			   char *err, size_t errlen);
/* Deletes the jumps (every copy), flushes and deletes the chains, in both families of the
 * variant in use; missing ones are not an error. */
void pal_nf_remove_chains(const struct pal_nf_chain_ref *list, size_t n);

#endif
