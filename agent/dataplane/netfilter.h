/* palisade's netfilter rules, in the network namespace the agent runs in. They live in chains
 * palisade owns; the only rules it adds to the built-in chains are one jump per chain, always
 * the chain's first rule (checked again on every sync and periodically: a rule inserted above
 * it is left alone, the jump is put back above it), and it never touches other rules: copies of a
 * jump are deleted by rule text, never by a number another tool's insert could have moved.
 *
 *   raw PREROUTING  -> PALISADE-RAW-PRE:  -m mark --mark UNTRACKED/UNTRACKED -j CT --notrack
 *                      (tc ingress marked the packet: untracked ingress allowed it; the jump
 *                      only while some host endpoint has untracked ingress rules)
 *   raw OUTPUT      -> PALISADE-RAW-OUT:  -j MARK --and-mark ~PAL_MARK_MASK (every packet: a
 *                                          sender's SO_MARK never carries palisade's bits on)
 *                      then per host endpoint interface IF:
 *                        -o IF -m bpf --object-pinned DIR/progs/sf_out_deny_<ifindex>  -j DROP
 *                        -o IF -m bpf --object-pinned DIR/progs/sf_out_failsafe_<ifindex>
 *                                                  -j MARK --or-mark FAILSAFE
 *                        -o IF -m bpf --object-pinned DIR/progs/sf_out_allow_<ifindex>
 *                                                  -j PALISADE-UNTRACK
 *                      PALISADE-UNTRACK: MARK --or-mark UNTRACKED, CT --notrack
 *   filter INPUT    -> PALISADE-INPUT:    -m bpf --object-pinned DIR/progs/sf_input_deny -j DROP
 *
 *
 * With the Kubernetes datastore, the workload guard too (netfilter_guard.c), left in place when
 * the agent exits:
 *   mangle PREROUTING  -> PALISADE-WL-PRE:  -i PREFIX+ -m bpf --object-pinned DIR/progs/wl_guard
 *                                           -j DROP
 *   mangle POSTROUTING -> PALISADE-WL-POST: -o PREFIX+ (the same filter) -j DROP
 *
 * Both iptables and ip6tables. The chains are rewritten with one `iptables-restore --noflush`
 * transaction per family and table (atomic: no window without rules). The commands are run with
 * fork/exec (no shell), in the variant pal_nf_use chose (iptables-legacy or iptables-nft: the one
 * the node's other rules are in, netfilter_variant.c), by default the `iptables` on PATH.
 */
#ifndef PALISADE_NETFILTER_H
#define PALISADE_NETFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "datapath.h"
#include "strbuf.h"

/* ---- which iptables variant (netfilter_variant.c) ---- */
enum pal_nf_variant { PAL_NF_PATH, PAL_NF_LEGACY, PAL_NF_NFT };
const char *pal_nf_variant_name(enum pal_nf_variant v); /* "path", "legacy", "nft" */

/* What one variant's save commands show, palisade's own chains and jumps left out. */
struct pal_nf_census {
	bool usable;            /* both iptables-V-save and ip6tables-V-save ran */
	unsigned kubelet_hints; /* chains KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY */
	unsigned k8s_chains;    /* other KUBE-* and cali-* chains */
	unsigned rules;         /* -A lines */
	unsigned palisade_chains; /* palisade's own (not counted above) */
};
/* Counts one line of iptables-save output (pure). */
void pal_nf_census_line(struct pal_nf_census *c, const char *line);
/* Runs the variant's save commands (both families) and counts; 0 or -ENOENT (not usable). */
int pal_nf_census_take(enum pal_nf_variant v, struct pal_nf_census *c);
/* The decision from the two censuses, with a one-line reason (pure). */
enum pal_nf_variant pal_nf_choose(const struct pal_nf_census *legacy,
				  const struct pal_nf_census *nft, char *reason, size_t len);
/* Both censuses and the decision; -ENOENT (reason says why) when neither variant runs. */
int pal_nf_detect(char *reason, size_t len, enum pal_nf_variant *out);
/* The variant every function below uses from now on (the process-wide default: PAL_NF_PATH). */
void pal_nf_use(enum pal_nf_variant v);
enum pal_nf_variant pal_nf_in_use(void);

struct pal_nf_hep {
	const char *ifname;
	unsigned int ifindex; /* its raw OUTPUT filters are loaded (pal_dp_load_sf_out) */
	bool untracked_in;    /* its endpoint has an untracked ingress list */
};

/* Installs or rewrites every palisade chain and jump. The jump from raw PREROUTING only when a
 * host endpoint has an untracked ingress list (nothing else marks a packet PAL_MARK_UNTRACKED
 * before raw PREROUTING): without one it is removed, and the chain's base chain with it when it is
 * empty and accepts (iptables-nft then unregisters the hook), so forwarded and received packets
 * do not pay for a rule that cannot match. */
int pal_nf_install(struct pal_datapath *dp, const struct pal_nf_hep *heps, size_t n);
/* Before a policy that gives a host endpoint its untracked ingress rules is applied: the raw
 * PREROUTING jump goes in first (if it is not in place), or the first packets tc ingress marks
 * untracked would be tracked by conntrack until the interface sync after the apply put it back.
 * Returns 0 or -errno with a message in err. */
int pal_nf_want_prerouting(char *err, size_t errlen);
/* Puts each jump from a built-in chain to palisade's back in first place when a rule was
 * inserted above it (or it was deleted or duplicated), for iptables and ip6tables. Returns how
 * many it repaired (0: all in place), or -errno with a message in err for the first chain it
 * could not check (the others are checked and repaired all the same). pal_nf_install runs it;
 * the agent runs it again on every interface sync and periodically. */
int pal_nf_check_jumps(char *err, size_t errlen);
/* Removes the jumps and the chains (missing ones are not an error) from the variant in use. */
int pal_nf_remove(void);
/* The same in every variant holding palisade's chains but `keep` (after a switch of variant:
 * nothing stays behind in the other one); pal_nf_remove_everywhere for --uninstall. */
void pal_nf_remove_except(enum pal_nf_variant keep);
void pal_nf_remove_everywhere(void);

/* ---- the workload guard (netfilter_guard.c) ---- */
#define PAL_NF_CH_WL_PRE "PALISADE-WL-PRE"
#define PAL_NF_CH_WL_POST "PALISADE-WL-POST"
/* The iptables-restore input of the guard chains: pods' interfaces are named PREFIX*, the filter
 * is pinned at guard_path. -EINVAL (message in err) when either could not be written into a rule
 * safely; -ENOMEM. */
int pal_nf_guard_render(const char *prefix, const char *guard_path, struct pal_strbuf *out,
			char *err, size_t errlen);
/* Installs or rewrites the guard chains and their jumps (first in mangle PREROUTING and
 * POSTROUTING), iptables and ip6tables; 0 or -errno with a message in err. */
int pal_nf_guard_install(const char *prefix, const char *guard_path, char *err, size_t errlen);
/* pal_nf_check_jumps for the guard's two jumps. */
int pal_nf_guard_check_jumps(char *err, size_t errlen);
/* Removes the guard's jumps and chains from the variant in use (pal_nf_remove does too). */
void pal_nf_guard_remove(void);

/* The iptables-restore input for one family (4 or 6), appended to out; for tests and debugging.
 * Returns 0, or -ENOMEM. */
int pal_nf_render(struct pal_datapath *dp, int family, const struct pal_nf_hep *heps, size_t n,
		  struct pal_strbuf *out);

#endif
