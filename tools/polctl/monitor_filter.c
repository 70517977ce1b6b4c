/* polctl monitor's filters (see monitor_filter.h). */
#include "monitor_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_uint(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < 0 || v > max ? -1 : (int)v;
}

int monitor_filter_set(struct monitor_filter *f, const char *name, const char *value, char *err,
		       size_t errlen)
{
	bool host_bits;

	if (strcmp(name, "verdict") == 0) {
		if (strcmp(value, "deny") && strcmp(value, "log"))
			goto bad;
		f->verdict = value;
	} else if (strcmp(name, "iface") == 0) {
		f->iface = value;
	} else if (strcmp(name, "policy") == 0) {
		f->policy = value;
	} else if (strcmp(name, "src") == 0 || strcmp(name, "dst") == 0) {
		bool src = name[0] == 's';

		if (!pal_cidr_parse(value, src ? &f->src : &f->dst, &host_bits))
			goto bad;
		*(src ? &f->has_src : &f->has_dst) = true;
	} else if (strcmp(name, "proto") == 0) {
		if ((f->proto = pal_proto_parse(value)) < 0)
			goto bad;
	} else if (strcmp(name, "port") == 0) {
		if ((f->port = parse_uint(value, 65535)) < 0)
			goto bad;
	} else {
		return 1;
	}
	return 0;
bad:
	snprintf(err, errlen, "--%s \"%s\" is not valid (%s)", name, value,
		 strcmp(name, "verdict") == 0 ? "deny or log" :
		 strcmp(name, "proto") == 0  ? "tcp, udp, icmp, icmpv6, sctp, udplite or a number 0-255" :
		 strcmp(name, "port") == 0   ? "a port 0-65535" :
					       "an address or CIDR, e.g. 198.18.0.0/15 or 2001:db8::/32");
	return -EINVAL;
}

static const char *str(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s ? s : "";
}

static bool addr_in(const struct pal_cidr *c, const char *text)
{
	struct pal_addr a;

	return pal_addr_parse(text, &a) && pal_cidr_contains(c, &a);
}

static bool policy_is(json_t *ev, const char *want)
{
	const char *ns = str(ev, "namespace"), *pol = str(ev, "policy");
	size_t n = strlen(ns);

	if (strcmp(pol, want) == 0)
		return true;
	return n && strncmp(want, ns, n) == 0 && want[n] == '/' && strcmp(want + n + 1, pol) == 0;
}

bool monitor_filter_match(const struct monitor_filter *f, json_t *ev)
{
	int proto = pal_proto_parse(str(ev, "proto"));

	if (f->verdict && strcmp(str(ev, "type"), f->verdict))
		return false;
	if (f->iface && strcmp(str(ev, "interface"), f->iface))
		return false;
	if (f->policy && !policy_is(ev, f->policy))
		return false;
	if (f->has_src && !addr_in(&f->src, str(ev, "src")))
		return false;
	if (f->has_dst && !addr_in(&f->dst, str(ev, "dst")))
		return false;
	if (f->proto >= 0 && proto != f->proto)
		return false;
	if (f->port >= 0 && json_integer_value(json_object_get(ev, "sport")) != f->port &&
	    json_integer_value(json_object_get(ev, "dport")) != f->port)
		return false;
	return true;
}
