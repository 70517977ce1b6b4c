/* IPv4/IPv6 addresses and prefixes in one representation (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool pal_addr_parse(const char *s, struct pal_addr *out)
{
	struct pal_addr a;

	memset(&a, 0, sizeof(a));
	if (!s)
		return false;
	/* inet_pton is strict: no leading zeros in IPv4 octets, no zone ids, no spaces. */
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.bytes) != 1)
			return false;
		a.family = PAL_AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, a.bytes) != 1)
			return false;
		a.family = PAL_AF_INET4;
	}
	*out = a;
	return true;
}

static unsigned family_bits(uint8_t family)
{
	return family == PAL_AF_INET4 ? 32 : 128;
}

/* Clears every bit after the first len bits; returns true when any bit was set. */
static bool clear_host_bits(uint8_t *bytes, unsigned len, unsigned total_bits)
{
	bool had = false;

	for (unsigned bit = len; bit < total_bits; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));

		if (bytes[bit / 8] & mask) {
			had = true;
			bytes[bit / 8] &= (uint8_t)~mask;
		}
	}
	return had;
}

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool pal_cidr_parse(const char *s, struct pal_cidr *out, bool *had_host_bits)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	struct pal_cidr c;
	unsigned len, max;
	bool had;

	if (!s)
		return false;
	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	if (slash) {
		size_t alen = (size_t)(slash - s);
		const char *p = slash + 1;

		if (alen == 0 || alen >= sizeof(addr))
			return false;
		memcpy(addr, s, alen);
		addr[alen] = '\0';
		if (!pal_addr_parse(addr, &c.addr))
			return false;
		max = family_bits(c.addr.family);
		/* 1-3 decimal digits, nothing else (no sign, no spaces). */
		if (*p == '\0' || strlen(p) > 3)
			return false;
		len = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > max)
			return false;
	} else {
		if (!pal_addr_parse(s, &c.addr))
			return false;
		len = family_bits(c.addr.family);
	}
	c.prefix_len = (uint8_t)len;
	had = clear_host_bits(c.addr.bytes, len, family_bits(c.addr.family));
	/* An IPv4-mapped network (::ffff:a.b.c.d/96+n, still inside ::ffff:0:0/96 once its host
	 * bits are cleared) is the IPv4 network a.b.c.d/n, as Calico reads it: Go's net.ParseCIDR
	 * gives it an IP whose To4() is non-nil, so Calico's validator counts it as IPv4 and felix
	 * renders "a.b.c.d/n" (and IPv6 packets with mapped addresses never reach policy here). */
	if (c.addr.family == PAL_AF_INET6 && c.prefix_len >= 96 &&
	    memcmp(c.addr.bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(c.addr.bytes, c.addr.bytes + 12, 4);
		memset(c.addr.bytes + 4, 0, sizeof(c.addr.bytes) - 4);
		c.addr.family = PAL_AF_INET4;
		c.prefix_len = (uint8_t)(c.prefix_len - 96);
	}
	if (had_host_bits)
		*had_host_bits = had;
	*out = c;
	return true;
}

/* True when the first len bits of a and b are equal. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		if ((a[full] & mask) != (b[full] & mask))
			return false;
	}
	return true;
}

bool pal_cidr_contains(const struct pal_cidr *c, const struct pal_addr *a)
{
	if (c->addr.family != a->family)
		return false;
	return prefix_equal(c->addr.bytes, a->bytes, c->prefix_len);
}

bool pal_cidr_covers(const struct pal_cidr *outer, const struct pal_cidr *inner)
{
	if (outer->addr.family != inner->addr.family || outer->prefix_len > inner->prefix_len)
		return false;
	return prefix_equal(outer->addr.bytes, inner->addr.bytes, outer->prefix_len);
}

bool pal_addr_equal(const struct pal_addr *a, const struct pal_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

const char *pal_addr_str(const struct pal_addr *a, char *buf)
{
	int af = a->family == PAL_AF_INET4 ? AF_INET : AF_INET6;

	if (!inet_ntop(af, a->bytes, buf, PAL_CIDR_STRLEN))
		snprintf(buf, PAL_CIDR_STRLEN, "<invalid>");
	return buf;
}

const char *pal_cidr_str(const struct pal_cidr *c, char *buf)
{
	size_t n;

	pal_addr_str(&c->addr, buf);
	n = strlen(buf);
	snprintf(buf + n, PAL_CIDR_STRLEN - n, "/%u", c->prefix_len);
	return buf;
}

int pal_cidr_cmp(const struct pal_cidr *a, const struct pal_cidr *b)
{
	int r;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	r = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->prefix_len != b->prefix_len)
		return a->prefix_len < b->prefix_len ? -1 : 1;
	return 0;
}

/* The one protocol-name table: the lower-case name polctl and the agent print and accept (any
 * case), and the spelling Calico's resources require (exact case). */
static const struct {
	const char *name;
	const char *calico;
	uint8_t num;
} proto_names[] = {
	{ "icmp", "ICMP", 1 },	    { "tcp", "TCP", 6 },   { "udp", "UDP", 17 },
	{ "icmpv6", "ICMPv6", 58 }, { "sctp", "SCTP", 132 }, { "udplite", "UDPLite", 136 },
};

#define PROTO_NAMES_LEN (sizeof(proto_names) / sizeof(proto_names[0]))

const char *pal_proto_name(uint8_t proto, char *buf, size_t len)
{
	for (size_t i = 0; i < PROTO_NAMES_LEN; i++)
		if (proto_names[i].num == proto)
			return proto_names[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

int pal_proto_by_name(const char *s)
{
	for (size_t i = 0; i < PROTO_NAMES_LEN; i++)
		if (strcasecmp(s, proto_names[i].name) == 0)
			return proto_names[i].num;
	return -1;
}

const char *pal_proto_calico_name(uint8_t proto)
{
	for (size_t i = 0; i < PROTO_NAMES_LEN; i++)
		if (proto_names[i].num == proto)
			return proto_names[i].calico;
	return NULL;
}

int pal_proto_parse(const char *s)
{
	int num = pal_proto_by_name(s);
	char *end;
	long v;

	if (num >= 0)
		return num;
	v = strtol(s, &end, 10);
	return end == s || *end || v < 0 || v > 255 ? -1 : (int)v;
}
