/* Failsafe port lists (--failsafe-in / --failsafe-out), Calico's FailsafeInboundHostPorts format:
 *   "tcp:22,udp:68"            protocol:port
 *   "tcp:198.18.0.0/15:22"     protocol:CIDR:port (inbound: source inside; outbound: destination)
 *   "tcp:[2001:db8::/32]:22"   an IPv6 CIDR in brackets
 *   "none" or ""               no failsafe ports
 * Protocols are tcp and udp (case-insensitive); ports 1..65535; spaces around items are allowed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "compiler.h"
#include "vec.h"

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* One item, already trimmed: s[0..len). */
static int parse_item(const char *s, size_t len, struct pal_failsafe *fs, char *err, size_t errlen)
{
	char item[128], net[128];
	const char *colon, *last;
	int proto;

	if (len >= sizeof(item))
		return fail(err, errlen, "failsafe item \"%.40s...\" is too long", s);
	memcpy(item, s, len);
	item[len] = '\0';
	memset(fs, 0, sizeof(*fs));

	colon = strchr(item, ':');
	if (!colon)
		return fail(err, errlen, "failsafe item \"%s\": expected proto:port or proto:CIDR:port",
			    item);
	item[colon - item] = '\0'; /* the protocol's name alone, for the one name table (net.h) */
	proto = pal_proto_by_name(item);
	item[colon - item] = ':';
	if (proto != PAL_PROTO_TCP && proto != PAL_PROTO_UDP)
		return fail(err, errlen, "failsafe item \"%s\": protocol must be tcp or udp", item);
	fs->protocol = (uint8_t)proto;

	last = strrchr(item, ':');
	if (!parse_port(last + 1, strlen(last + 1), &fs->port))
		return fail(err, errlen, "failsafe item \"%s\": port must be a number 1-65535", item);
	if (last == colon)
		return 0;

	/* A CIDR between the first and the last colon; IPv6 ones are bracketed. */
	size_t nlen = (size_t)(last - colon - 1);
	const char *n = colon + 1;
	if (nlen >= 2 && n[0] == '[') {
		if (n[nlen - 1] != ']')
			return fail(err, errlen, "failsafe item \"%s\": unbalanced '[' around the CIDR",
				    item);
		n++;
		nlen -= 2;
	} else if (memchr(n, ':', nlen)) {
		return fail(err, errlen,
			    "failsafe item \"%s\": put an IPv6 CIDR in brackets, e.g. "
			    "tcp:[2001:db8::/32]:22", item);
	}
	if (nlen == 0 || nlen >= sizeof(net))
		return fail(err, errlen, "failsafe item \"%s\": empty or too long CIDR", item);
	memcpy(net, n, nlen);
	net[nlen] = '\0';
	if (!pal_cidr_parse(net, &fs->net, NULL))
		return fail(err, errlen, "failsafe item \"%s\": \"%s\" is not a CIDR", item, net);
	fs->has_net = true;
	return 0;
}

int pal_failsafe_parse(const char *text, struct pal_failsafe **out, size_t *n, char *err,
		       size_t errlen)
{
	struct pal_failsafe *v = NULL;
	size_t count = 0, cap = 0;
	const char *p = text ? text : "";
	int rc;

	*out = NULL;
	*n = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || strncasecmp(p, "none", 4) == 0) {
		const char *q = *p ? p + 4 : p;

		while (isspace((unsigned char)*q))
			q++;
		if (*q == '\0')
			return 0;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;

		while (len && isspace((unsigned char)*s))
			s++, len--;
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (!len) {
			rc = fail(err, errlen, "empty item in failsafe list \"%s\"", text);
			goto fail;
		}
		if (vec_grow((void **)&v, &cap, count + 1, sizeof(*v))) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = parse_item(s, len, &v[count], err, errlen);
		if (rc)
			goto fail;
		count++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = v;
	*n = count;
	return 0;
fail:
	free(v);
	return rc;
}
