/* Addresses and prefixes (net.h): parsing, formatting, containment, ordering. */
#include <criterion/criterion.h>
#include <string.h>
#include "net.h"

static struct pal_cidr cidr(const char *s)
{
	struct pal_cidr c;

	cr_assert(pal_cidr_parse(s, &c, NULL), "parse %s", s);
	return c;
}

static struct pal_addr addr(const char *s)
{
	struct pal_addr a;

	cr_assert(pal_addr_parse(s, &a), "parse %s", s);
	return a;
}

Test(net, parse_and_format_v4)
{
	char buf[PAL_CIDR_STRLEN];
	struct pal_cidr c = cidr("198.18.0.0/15");

	cr_assert_eq(c.addr.family, PAL_AF_INET4);
	cr_assert_eq(c.prefix_len, 15);
	cr_assert_eq(c.addr.bytes[0], 198);
	cr_assert_eq(c.addr.bytes[4], 0, "bytes after an IPv4 address are zero");
	cr_assert_str_eq(pal_cidr_str(&c, buf), "198.18.0.0/15");
	c = cidr("10.1.2.3");
	cr_assert_eq(c.prefix_len, 32);
	cr_assert_str_eq(pal_cidr_str(&c, buf), "10.1.2.3/32");
}

Test(net, parse_and_format_v6)
{
	char buf[PAL_CIDR_STRLEN];
	struct pal_cidr c = cidr("2001:DB8::/32");

	cr_assert_eq(c.addr.family, PAL_AF_INET6);
	cr_assert_str_eq(pal_cidr_str(&c, buf), "2001:db8::/32");
	c = cidr("::1");
	cr_assert_eq(c.prefix_len, 128);
	cr_assert_str_eq(pal_cidr_str(&c, buf), "::1/128");
	c = cidr("::/0");
	cr_assert_eq(c.prefix_len, 0);
	cr_assert_str_eq(pal_addr_str(&c.addr, buf), "::");
}

Test(net, host_bits_cleared)
{
	char buf[PAL_CIDR_STRLEN];
	struct pal_cidr c;
	bool had = false;

	cr_assert(pal_cidr_parse("10.1.2.3/8", &c, &had));
	cr_assert(had);
	cr_assert_str_eq(pal_cidr_str(&c, buf), "10.0.0.0/8");
	cr_assert(pal_cidr_parse("10.0.0.0/8", &c, &had));
	cr_assert(!had);
	cr_assert(pal_cidr_parse("2001:db8::ffff/120", &c, &had));
	cr_assert(had);
	cr_assert_str_eq(pal_cidr_str(&c, buf), "2001:db8::ff00/120");
	cr_assert(pal_cidr_parse("10.255.255.255/13", &c, &had));
	cr_assert_str_eq(pal_cidr_str(&c, buf), "10.248.0.0/13");
}

/* An IPv4-mapped CIDR is the IPv4 CIDR it maps, as Calico reads it: libcalico-go parses nets with
 * Go's net.ParseCIDR, whose IPNet for ::ffff:a.b.c.d/96+n has IP.To4() != nil, so Calico's
 * validator counts it as IPv4 and felix renders its String(), "a.b.c.d/n". Only where the
 * network (host bits cleared) still lies in ::ffff:0:0/96. */
Test(net, ipv4_mapped_cidrs_are_ipv4)
{
	static const struct {
		const char *in, *out;
		int family;
	} cases[] = {
		{ "::ffff:198.18.0.0/111", "198.18.0.0/15", PAL_AF_INET4 },
		{ "::ffff:c612:6400/120", "198.18.100.0/24", PAL_AF_INET4 },
		{ "::ffff:198.18.1.2", "198.18.1.2/32", PAL_AF_INET4 },
		{ "::ffff:198.18.1.2/128", "198.18.1.2/32", PAL_AF_INET4 },
		{ "::ffff:0:0/96", "0.0.0.0/0", PAL_AF_INET4 },
		{ "::ffff:0:0/95", "::fffe:0:0/95", PAL_AF_INET6 },
		{ "::198.18.0.0/111", "::198.18.0.0/111", PAL_AF_INET6 },
		{ "64:ff9b::198.18.0.0/111", "64:ff9b::c612:0/111", PAL_AF_INET6 },
	};
	char buf[PAL_CIDR_STRLEN];
	struct pal_cidr c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(pal_cidr_parse(cases[i].in, &c, NULL), "%s", cases[i].in);
		cr_assert_eq(c.addr.family, cases[i].family, "%s", cases[i].in);
		cr_assert_str_eq(pal_cidr_str(&c, buf), cases[i].out, "%s", cases[i].in);
	}
}

Test(net, rejects_bad_syntax)
{
	static const char *const bad[] = {
		"", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "/8", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/8/8", "256.0.0.1", "010.0.0.1", "10.0.0.1 ", " 10.0.0.1", "::/129",
		"2001:db8::g", "10.0.0.0/1000", "fe80::1%eth0", "1.2.3.4/08x", "abc",
	};
	struct pal_cidr c;
	struct pal_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!pal_cidr_parse(bad[i], &c, NULL), "accepted \"%s\"", bad[i]);
	cr_assert(!pal_addr_parse("10.0.0.0/8", &a));
	cr_assert(!pal_addr_parse(NULL, &a));
}

Test(net, contains_and_covers)
{
	struct pal_cidr net = cidr("10.0.0.0/8"), all4 = cidr("0.0.0.0/0"), v6 = cidr("::/0");
	struct pal_addr in = addr("10.200.1.1"), out = addr("11.0.0.1"), six = addr("::a00:1");
	struct pal_cidr sub = cidr("10.1.0.0/16"), odd = cidr("10.0.0.0/7");

	cr_assert(pal_cidr_contains(&net, &in));
	cr_assert(!pal_cidr_contains(&net, &out));
	cr_assert(pal_cidr_contains(&all4, &out));
	cr_assert(!pal_cidr_contains(&v6, &in), "families never mix");
	cr_assert(pal_cidr_contains(&v6, &six));
	cr_assert(!pal_cidr_contains(&all4, &six));
	cr_assert(pal_cidr_covers(&net, &sub));
	cr_assert(!pal_cidr_covers(&sub, &net));
	cr_assert(pal_cidr_covers(&odd, &net));
	cr_assert(pal_cidr_covers(&net, &net));
	cr_assert(!pal_cidr_covers(&v6, &net));
	cr_assert(pal_cidr_contains(&(struct pal_cidr){ .addr = in, .prefix_len = 32 }, &in));
}

Test(net, equality_and_order)
{
	struct pal_addr a = addr("10.0.0.1"), b = addr("10.0.0.1"), c = addr("10.0.0.2");
	struct pal_cidr x = cidr("10.0.0.0/8"), y = cidr("10.0.0.0/16"), z = cidr("::/0");
	struct pal_cidr w = cidr("9.0.0.0/8");

	cr_assert(pal_addr_equal(&a, &b));
	cr_assert(!pal_addr_equal(&a, &c));
	cr_assert_eq(pal_cidr_cmp(&x, &x), 0);
	cr_assert_lt(pal_cidr_cmp(&x, &y), 0, "shorter prefix first");
	cr_assert_gt(pal_cidr_cmp(&y, &x), 0);
	cr_assert_lt(pal_cidr_cmp(&x, &z), 0, "IPv4 before IPv6");
	cr_assert_lt(pal_cidr_cmp(&w, &x), 0, "by address");
}

Test(net, protocol_names_both_ways)
{
	char buf[8];

	cr_expect_str_eq(pal_proto_name(6, buf, sizeof(buf)), "tcp");
	cr_expect_str_eq(pal_proto_name(58, buf, sizeof(buf)), "icmpv6");
	cr_expect_str_eq(pal_proto_name(47, buf, sizeof(buf)), "47");
	cr_expect_eq(pal_proto_parse("UDP"), 17);
	cr_expect_eq(pal_proto_parse("sctp"), 132);
	cr_expect_eq(pal_proto_parse("47"), 47);
	cr_expect_eq(pal_proto_parse("256"), -1);
	cr_expect_eq(pal_proto_parse("gre"), -1);
	cr_expect_eq(pal_proto_parse(""), -1);
}

/* One table serves polctl (udplite, any case) and Calico's resources (exact spelling). */
Test(net, protocol_table_has_udplite_and_calico_spellings)
{
	char buf[8];

	cr_expect_str_eq(pal_proto_name(136, buf, sizeof(buf)), "udplite");
	cr_expect_eq(pal_proto_parse("UDPLite"), 136);
	cr_expect_eq(pal_proto_by_name("ICMPV6"), 58);
	cr_expect_eq(pal_proto_by_name("6"), -1, "numbers are not names");
	cr_expect_str_eq(pal_proto_calico_name(58), "ICMPv6");
	cr_expect_str_eq(pal_proto_calico_name(136), "UDPLite");
	cr_expect_null(pal_proto_calico_name(47));
}
