/* polctl flows: palisade's own flow table (pal_flows, docs/datapath.md "Flow state"): one row per
 * key, i.e. one per allowed flow (and, under NAT, one for its other tuple), its tuple shown in the
 * direction the flow opened (the key is canonical: PAL_FLOW_REVERSED says which way round).
 * --flush deletes every entry: established connections then go through policy again on their
 * next packet (they are re-entered when policy still allows them, or via conntrack). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "live.h"
#include "vec.h"

static const char *addr_str(uint8_t family, const uint8_t *a, char *buf)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Seconds, to the millisecond (JSON readers need no more and the digits stay short). */
static double secs(uint64_t now, uint64_t then)
{
	return now > then ? (double)((now - then) / 1000000ULL) / 1000.0 : 0.0;
}

/* The tuple of entry (k, f) in the direction its flow opened. */
static struct pal_flow_key opened_tuple(const struct pal_flow_key *k, const struct pal_flow *f)
{
	struct pal_flow_key t = *k;

	if (f->flags & PAL_FLOW_REVERSED) {
		memcpy(t.src, k->dst, sizeof(t.src));
		memcpy(t.dst, k->src, sizeof(t.dst));
		t.sport = k->dport;
		t.dport = k->sport;
	}
	return t;
}

/* enum pal_flow_state's names (abi.h), as `conntrack -L` spells the TCP ones, lower case. */
static const char *state_name(uint8_t st)
{
	static const char *const names[PAL_FST_COUNT] = {
		[PAL_FST_OTHER] = "other",
		[PAL_FST_TCP_SYN_SENT] = "syn_sent",
		[PAL_FST_TCP_SYN_RECV] = "syn_recv",
		[PAL_FST_TCP_ESTABLISHED] = "established",
		[PAL_FST_TCP_FIN_WAIT] = "fin_wait",
		[PAL_FST_TCP_TIME_WAIT] = "time_wait",
		[PAL_FST_TCP_CLOSE] = "close",
		[PAL_FST_UDP_UNREPLIED] = "unreplied",
		[PAL_FST_UDP_REPLIED] = "replied",
		[PAL_FST_ICMP] = "icmp",
	};

	return st < PAL_FST_COUNT ? names[st] : "?";
}

static json_t *flow_json(const struct polctl_live *lv, const struct pal_flow_key *key,
			 const struct pal_flow *f, uint64_t now)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], pb[8], ifn[IF_NAMESIZE + 8];
	json_t *rule = live_meta_rule(lv, f->rule_id);
	struct pal_flow_key t = opened_tuple(key, f), *k = &t;

	return json_pack("{s:s, s:i, s:s, s:i, s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:s, s:o, s:o, "
			 "s:O?, s:O?, s:O?, s:f, s:f, s:o, s:o}",
			 "proto", pal_proto_name(k->proto, pb, sizeof(pb)), "family", k->family, "src",
			 addr_str(k->family, k->src, s), "sport", k->sport, "dst",
			 addr_str(k->family, k->dst, d), "dport", k->dport, "direction",
			 "original" /* one entry per flow, shown as it opened */, "nat",
			 (f->flags & PAL_FLOW_NAT) != 0, "verdict", (f->flags & PAL_FLOW_DENIED) ? "deny" : "allow", /* a tombstone: a re-judge denied it */
			 "state", state_name(f->state),
			 "interface",
			 live_ifname(f->ifindex, ifn), "hook",
			 f->hook < PAL_HOOK_COUNT ? pal_hook_names[f->hook] : "?", "stage",
			 f->stage < PAL_STAGE_COUNT ? json_string(pal_stage_name((enum pal_stage)f->stage)) :
						      json_null(),
			 "rule_id", f->rule_id == PAL_RULE_ID_NONE ? json_null() : json_integer(f->rule_id),
			 "tier", json_object_get(rule, "tier"), "policy", json_object_get(rule, "policy"),
			 "rule", json_object_get(rule, "index"), "age_s",
			 secs(now, f->created_ns), "idle_s", secs(now, f->last_ns),
			 /* TCP: each direction's sequence mark (abi.h seq_mark), null before its first
			  * packet */
			 "seq_orig",
			 (f->flags & PAL_FLOW_SEQ_ORIG) ? json_integer(f->seq_mark[0]) : json_null(),
			 "seq_reply",
			 (f->flags & PAL_FLOW_SEQ_REPLY) ? json_integer(f->seq_mark[1]) : json_null());
}

struct flow_rows {
	const struct polctl_live *lv;
	json_t *rows;
	uint64_t now;
};

static int add_row(const struct pal_flow_key *k, const struct pal_flow *f, void *ctx)
{
	struct flow_rows *fr = ctx;

	json_array_append_new(fr->rows, flow_json(fr->lv, k, f, fr->now));
	return 0;
}

/* Deletes every entry of one table (keys first collected: deleting while walking restarts the
 * walk). Not the library's pal_dp_flush_flows, which deletes from the first key until the table
 * is empty: under live traffic that can go on with new flows, and it counts entries that vanished
 * on their own; this deletes the entries that were there and reports how many it deleted. */
static long flush_map(int fd, size_t key_size)
{
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	long done = 0;

	for (;;) {
		if (vec_grow((void **)&keys, &cap, n + 1, key_size)) {
			free(keys);
			return -ENOMEM;
		}
		if (bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
					 keys + n * key_size))
			break;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) == 0)
			done++;
	free(keys);
	return done;
}

/* Both tables: pal_flows4 (IPv4) and pal_flows (IPv6). */
static long flush(const struct polctl_live *lv)
{
	long n4 = flush_map(lv->fd[LM_FLOWS4], sizeof(struct pal_flow_key4)), n6;

	if (n4 < 0)
		return n4;
	n6 = flush_map(lv->fd[LM_FLOWS], sizeof(struct pal_flow_key));
	return n6 < 0 ? n6 : n4 + n6;
}

int cmd_flows(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "flush", no_argument, NULL, 'f' }, { 0 } };
	bool do_flush = false;
	struct flow_rows fr;
	struct polctl_live lv;
	json_t *rows, *r;
	size_t i;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return polctl_fail(g, "flows: unknown option: %s", argv[optind - 1]);
		do_flush = true;
	}
	if (optind < argc)
		return polctl_fail(g, "flows: unexpected argument \"%s\"", argv[optind]);
	if ((rc = polctl_live_open(g, &lv)))
		return rc;
	if (!do_flush)
		live_warn_meta(&lv);
	if (do_flush) {
		long n = flush(&lv);

		if (n < 0) {
			rc = polctl_fail(g, "flows: flush failed: %s", strerror((int)-n));
		} else {
			if (g->output == POLCTL_OUT_JSON)
				polctl_print_json(json_pack("{s:I}", "flushed", (json_int_t)n));
			else
				printf("flushed %ld flow entries\n", n);
			rc = POLCTL_OK;
		}
		polctl_live_close(&lv);
		return rc;
	}
	rows = json_array();
	fr = (struct flow_rows){ .lv = &lv, .rows = rows, .now = now_ns() };
	pal_map_foreach_flow(lv.fd[LM_FLOWS4], lv.fd[LM_FLOWS], add_row, &fr);
	if (g->output == POLCTL_OUT_JSON) {
		polctl_print_json(rows);
	} else {
		printf("%-6s %-40s %-40s %-8s %-4s %-12s %-10s %-24s %8s %8s\n", "PROTO", "SOURCE",
		       "DESTINATION", "DIR", "NAT", "INTERFACE", "STAGE", "POLICY/RULE", "AGE",
		       "IDLE");
		json_array_foreach(rows, i, r) {
			char src[64], dst[64], pr[160] = "-";
			const char *pol = json_string_value(json_object_get(r, "policy"));
			const char *stage = json_string_value(json_object_get(r, "stage"));

			snprintf(src, sizeof(src), "%s:%lld",
				 json_string_value(json_object_get(r, "src")),
				 json_integer_value(json_object_get(r, "sport")));
			snprintf(dst, sizeof(dst), "%s:%lld",
				 json_string_value(json_object_get(r, "dst")),
				 json_integer_value(json_object_get(r, "dport")));
			if (pol)
				snprintf(pr, sizeof(pr), "%s#%lld", pol,
					 json_integer_value(json_object_get(r, "rule")));
			printf("%-6s %-40s %-40s %-8s %-4s %-12s %-10s %-24s %7.1fs %7.1fs\n",
			       json_string_value(json_object_get(r, "proto")), src, dst,
			       json_string_value(json_object_get(r, "direction")),
			       json_is_true(json_object_get(r, "nat")) ? "yes" : "-",
			       json_string_value(json_object_get(r, "interface")), stage ? stage : "-",
			       pr, json_real_value(json_object_get(r, "age_s")),
			       json_real_value(json_object_get(r, "idle_s")));
		}
		printf("%zu flow entries\n", json_array_size(rows));
		json_decref(rows);
	}
	polctl_live_close(&lv);
	return POLCTL_OK;
}
