/* IP addresses and prefixes for both families, in one representation.
 *
 * Addresses are 16 bytes in network order; an IPv4 address lives in the first 4 bytes and the rest
 * are zero, so a prefix comparison never mixes families because the family is compared first.
 */
#ifndef PALISADE_NET_H
#define PALISADE_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define PAL_AF_INET4 4
#define PAL_AF_INET6 6

struct pal_addr {
	uint8_t family; /* PAL_AF_INET4 or PAL_AF_INET6 */
	uint8_t bytes[16];
};

struct pal_cidr {
	struct pal_addr addr; /* host bits are cleared by the parser */
	uint8_t prefix_len;   /* 0..32 or 0..128 */
};

/* Parses "198.18.0.1", "2001:db8::1". Returns false on any syntax error. */
bool pal_addr_parse(const char *s, struct pal_addr *out);
/* Parses "198.18.0.0/15" or a bare address (full-length prefix). When host bits are set they are
 * cleared and *had_host_bits (if not NULL) is set, as Calico accepts and normalises them in network
 * sets and endpoints (rule nets reject them: get_exact_cidr_list in decode.h). An IPv4-mapped
 * network (::ffff:a.b.c.d/96+n) becomes the IPv4 network a.b.c.d/n, as Calico reads it. */
bool pal_cidr_parse(const char *s, struct pal_cidr *out, bool *had_host_bits);
bool pal_cidr_contains(const struct pal_cidr *c, const struct pal_addr *a);
/* True when every address of inner is inside outer. */
bool pal_cidr_covers(const struct pal_cidr *outer, const struct pal_cidr *inner);
bool pal_addr_equal(const struct pal_addr *a, const struct pal_addr *b);
/* Text forms; buf needs PAL_CIDR_STRLEN bytes. */
#define PAL_CIDR_STRLEN 64
const char *pal_addr_str(const struct pal_addr *a, char *buf);
const char *pal_cidr_str(const struct pal_cidr *c, char *buf);
/* Total order (family, address, prefix length), for sorting and dedup. */
int pal_cidr_cmp(const struct pal_cidr *a, const struct pal_cidr *b);

/* IP protocol names as polctl and the agent's events print them: "icmp", "tcp", "udp", "icmpv6",
 * "sctp", "udplite", else the number (written into buf, at least 4 bytes). */
const char *pal_proto_name(uint8_t proto, char *buf, size_t len);
/* One of those names (any case) or a number 0-255; -1 when neither. */
int pal_proto_parse(const char *s);
/* One of those names (any case), never a number; -1 when it is not one. */
int pal_proto_by_name(const char *s);
/* The spelling Calico's resources require ("TCP", "ICMPv6", "UDPLite", ...); NULL if unnamed. */
const char *pal_proto_calico_name(uint8_t proto);

#endif
