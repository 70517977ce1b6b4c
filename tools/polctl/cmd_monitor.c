/* polctl monitor: streams the datapath's deny and log events (the pal_events ring buffer), one
 * line per event (one JSON object per line with -o json), until SIGINT/SIGTERM, --count N events
 * or --timeout SEC seconds. Exit 0; 1 when --count was given and the timeout came first.
 *
 * A BPF ring buffer has one consumer position: every reader of the pinned pal_events (another
 * polctl monitor, an agent that drains it) takes events away from the others. */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "live.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct mon {
	const struct polctl_globals *g;
	const struct polctl_live *lv;
	long seen, count;
	int64_t wall_minus_mono; /* ns: events carry bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
};

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "2026-11-29T00:12:03.123Z" for an event's monotonic timestamp. */
static const char *wall_time(const struct mon *m, uint64_t mono_ns, char *buf, size_t len)
{
	int64_t ns = (int64_t)mono_ns + m->wall_minus_mono;
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;

	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ns / 1000000LL % 1000));
	return buf;
}

static const char *proto_name(uint8_t p, char *buf)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	default: sprintf(buf, "%u", p); return buf;
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct mon *m = ctx;
	const struct pal_event *e = data;
	char s[INET6_ADDRSTRLEN] = "?", d[INET6_ADDRSTRLEN] = "?", pb[8], ifn[IF_NAMESIZE + 8];
	char when[40];
	json_t *rule, *o;
	int af;

	if (len < sizeof(*e) || (m->count && m->seen >= m->count))
		return 0;
	m->seen++;
	af = e->family == 6 ? AF_INET6 : AF_INET;
	inet_ntop(af, e->src, s, sizeof(s));
	inet_ntop(af, e->dst, d, sizeof(d));
	rule = live_meta_rule(m->lv, e->rule_id);
	wall_time(m, e->ts_ns, when, sizeof(when));
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:i, "
		      "s:o, s:O?, s:O?, s:O?}",
		      "time", when, "ts_ns", (json_int_t)e->ts_ns, "type", e->type == PAL_EVENT_LOG ? "log" : "deny",
		      "interface", live_ifname(e->ifindex, ifn), "hook",
		      e->hook < PAL_HOOK_COUNT ? pal_hook_names[e->hook] : "?", "stage",
		      e->stage < PAL_STAGE_COUNT ? json_string(pal_stage_name((enum pal_stage)e->stage)) :
						   json_null(),
		      "reason", e->reason < PAL_DROP_COUNT ? pal_drop_reason_names[e->reason] : "?",
		      "proto", proto_name(e->proto, pb), "src", s, "sport", e->sport, "dst", d,
		      "dport", e->dport, "icmp_type", e->icmp_type, "icmp_code", e->icmp_code, "len",
		      (int)e->len, "rule_id",
		      e->rule_id == PAL_RULE_ID_NONE ? json_null() : json_integer(e->rule_id), "tier",
		      json_object_get(rule, "tier"), "policy", json_object_get(rule, "policy"), "rule",
		      json_object_get(rule, "index"));
	if (m->g->output == POLCTL_OUT_JSON) {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		const char *pol = json_string_value(json_object_get(rule, "policy"));
		const char *stage = json_string_value(json_object_get(o, "stage"));

		printf("%s %-5s %-12s %-10s %-10s %-22s %-6s %s:%u -> %s:%u", when + 11,
		       e->type == PAL_EVENT_LOG ? "LOG" : "DENY", ifn, pal_hook_names[e->hook < PAL_HOOK_COUNT ? e->hook : 0],
		       stage ? stage : "-", json_string_value(json_object_get(o, "reason")),
		       json_string_value(json_object_get(o, "proto")), s, e->sport, d, e->dport);
		if (e->proto == 1 || e->proto == 58)
			printf(" type %u code %u", e->icmp_type, e->icmp_code);
		if (pol)
			printf(" rule %lld of %s", json_integer_value(json_object_get(rule, "index")), pol);
		printf("\n");
	}
	fflush(stdout);
	json_decref(o);
	return 0;
}

static int parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -EINVAL : 0;
}

int cmd_monitor(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	struct mon m = { .g = g };
	double timeout = 0, count = 0;
	struct polctl_live lv;
	struct ring_buffer *rb;
	struct timespec t0, t;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c' && parse_num(optarg, &count) == 0 && count >= 1 && count == (long)count)
			continue;
		if (c == 't' && parse_num(optarg, &timeout) == 0)
			continue;
		if (c == 'c' || c == 't')
			return polctl_fail(g, "monitor: %s \"%s\" is not a valid %s", argv[optind - 2],
					   optarg, c == 'c' ? "count (1 or more)" : "number of seconds");
		return polctl_fail(g, "monitor: unknown option or missing value: %s", argv[optind - 1]);
	}
	if (optind < argc)
		return polctl_fail(g, "monitor: unexpected argument \"%s\"", argv[optind]);
	m.count = (long)count;
	if ((rc = polctl_live_open(g, &lv)))
		return rc;
	live_warn_meta(&lv);
	m.lv = &lv;
	m.wall_minus_mono = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	/* libbpf's ring buffer on the pinned map (the library's pal_dp_events_open wraps the same
	 * call but needs a struct pal_datapath, which polctl does not open: see live.h) */
	rb = ring_buffer__new(lv.fd[LM_EVENTS], on_event, &m, NULL);
	if (!rb) {
		rc = polctl_fail(g, "monitor: cannot read the event ring buffer at %s/maps/%s: %s",
				 lv.dir, live_map_names[LM_EVENTS], strerror(errno));
		polctl_live_close(&lv);
		return rc;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = POLCTL_OK;
	while (!stop && !(m.count && m.seen >= m.count)) {
		int err = ring_buffer__poll(rb, 200);

		if (err < 0 && err != -EINTR) {
			rc = polctl_fail(g, "monitor: reading events: %s", strerror(-err));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timeout > 0 && (double)(t.tv_sec - t0.tv_sec) +
					   (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= timeout) {
			if (m.count && m.seen < m.count)
				rc = POLCTL_NEGATIVE;
			break;
		}
	}
	ring_buffer__free(rb);
	polctl_live_close(&lv);
	return rc;
}
