/* Random IR and packets for differential tests (classifier emulation now, BPF programs later).
 *
 * Everything is a pure function of the seed, so a failing case is replayed from the seed that the
 * test prints. The IR is built directly (no model, no compiler) so it can contain the corner cases
 * the compiler would make only with large inputs: overlapping and nested prefixes including /0 in
 * both families, shared sets, named ports on both sides, port ranges touching 0 and 65535, notPorts,
 * protocol / notProtocol, ICMP and ICMPv6 type/code and notICMP, restricted families, LOG, PASS,
 * ALLOW and DENY rules, tiers ending in DENY or PASS, profiles with PASS. Packets are biased to
 * land on and next to the boundaries the rules use (first/last port of a range and one beyond,
 * first/last address of a prefix and one beyond, named-port addresses, the rule's protocol).
 *
 * The IR has two endpoints: host endpoint "hep0" (iface "eth0", every host list filled) and
 * workload endpoint "wep0" (iface "cali0", normal lists), both with profile lists, 0-3 failsafe
 * ports per direction (some limited to a net) and a random --endpoint-to-host-action. It is freed
 * with pal_ir_free.
 */
#ifndef PALISADE_TEST_IR_RANDOM_H
#define PALISADE_TEST_IR_RANDOM_H

#include <stdint.h>
#include "evaluator.h"
#include "ir.h"

/* splitmix64: tiny, good enough, and the same on every platform. */
struct pal_rand {
	uint64_t s;
};

uint64_t pal_rand_u64(struct pal_rand *r);
uint32_t pal_rand_below(struct pal_rand *r, uint32_t n); /* 0 .. n-1; n > 0 */
bool pal_rand_chance(struct pal_rand *r, uint32_t percent);

struct pal_ir_random_opts {
	uint32_t max_tiers;    /* per tier list */
	uint32_t max_policies; /* per tier */
	uint32_t max_rules;    /* per policy / profile direction */
	uint32_t n_profiles;   /* profiles in the IR */
	/* every net of the sets a host address or a /0 (many hosts): a long list's address
	 * fields then take host tables (abi.h "Host tables") and their filters */
	bool hosts_only;
};

/* Defaults: small lists (a few dozen rules), which find bugs faster than big ones. */
void pal_ir_random_default_opts(struct pal_ir_random_opts *o);

/* Builds a random IR from seed. Returns 0 or -ENOMEM. */
int pal_ir_random(uint64_t seed, const struct pal_ir_random_opts *o, struct pal_ir *ir);

/* A random packet for ir, biased towards the boundaries of its rules. Sets has_dnat sometimes
 * (dnat_dst of the same family). */
void pal_ir_random_packet(struct pal_rand *r, const struct pal_ir *ir, struct pal_packet *pkt);

/* Packets a workload sends: mostly from its own address or an allowSpoofedSourcePrefixes one,
 * sometimes from an unconfigured source, else the (often foreign: spoofed) source pkt has. */
void pal_ir_random_source(struct pal_rand *r, const struct pal_ir_endpoint *wep,
			  struct pal_packet *pkt);
/* Sometimes turns pkt into the reply of a failsafe connection of ir: TCP/UDP, the source port
 * a failsafe port of either list, the remote address (destination for failsafe-in, source for
 * failsafe-out) in or next to its net. No-op when ir has no failsafe of the list chosen. */
void pal_ir_random_failsafe_reply(struct pal_rand *r, const struct pal_ir *ir,
				  struct pal_packet *pkt);

/* A one-line description of pkt (buf of at least 200 bytes) for failure messages. */
const char *pal_packet_str(const struct pal_packet *pkt, char *buf, size_t len);

#endif
