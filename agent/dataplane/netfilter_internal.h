/* What netfilter.c shares with netfilter_guard.c; not for other callers. */
#ifndef PALISADE_NETFILTER_INTERNAL_H
#define PALISADE_NETFILTER_INTERNAL_H

#include <stddef.h>

/* Runs argv (no shell) with `input` on stdin (may be NULL); 0 when it exited 0. */
int pal_nf_run(char *const argv[], const char *input);
/* "iptables", "ip6tables-nft-restore", ...: family 0 (IPv4) or 1 (IPv6), suffix "" or
 * "-restore", in the variant in use. The result stays valid for the next three calls. */
const char *pal_nf_bin(int family, const char *suffix);
/* The jump "-A from -j to" is the first rule of built-in chain `from` and its only copy
 * (inserted or repaired). 1 when it repaired, 0 when it was in place, -errno. */
int pal_nf_jump_first(const char *bin, const char *table, const char *from, const char *to);

/* A palisade chain and the built-in chain that jumps to it (NULL: none). */
struct pal_nf_chain_ref {
	const char *table, *from, *chain;
};
/* Deletes the jumps (every copy), flushes and deletes the chains, in both families of the
 * variant in use; missing ones are not an error. */
void pal_nf_remove_chains(const struct pal_nf_chain_ref *list, size_t n);

#endif
