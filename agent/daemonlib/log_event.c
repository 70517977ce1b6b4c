/* Datapath events as JSON, their log lines, the deny rate limit (see log_event.h). */
#include "log_event.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ir.h"
#include "net.h"

const char *pald_event_time(int64_t wall_ns, char *buf, size_t size)
{
	time_t sec = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03dZ", (int)(wall_ns / 1000000LL % 1000));
	return buf;
}

/* endpoint "workload/NS/NAME" or "host//NAME" -> kind and "NS/NAME" or "NAME". */
static int set_endpoint(json_t *o, const char *key)
{
	const char *a = key ? strchr(key, '/') : NULL;
	const char *b = a ? strchr(a + 1, '/') : NULL;
	char kind[16], name[512];

	if (!b || (size_t)(a - key) >= sizeof(kind))
		return 0;
	snprintf(kind, sizeof(kind), "%.*s", (int)(a - key), key);
	if (b == a + 1)
		snprintf(name, sizeof(name), "%s", b + 1);
	else
		snprintf(name, sizeof(name), "%.*s/%s", (int)(b - a - 1), a + 1, b + 1);
	return json_object_set_new(o, "endpoint", json_string(name)) ||
	       json_object_set_new(o, "endpoint_kind", json_string(kind));
}

static int set_rule(json_t *o, uint32_t rule_id, json_t *rule)
{
	static const char *const keys[][2] = { { "kind", "policy_kind" }, { "tier", "tier" },
					       { "namespace", "namespace" }, { "policy", "policy" },
					       { "dir", "direction" }, { "index", "rule" },
					       { "action", "action" } };
	int err = 0;

	if (rule_id == PAL_RULE_ID_NONE)
		return 0;
	err |= json_object_set_new(o, "rule_id", json_integer(rule_id));
	for (size_t i = 0; rule && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(rule, keys[i][0]);

		if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)))
			err |= json_object_set(o, keys[i][1], v);
	}
	return err;
}

json_t *pald_event_json(const struct pal_event *e, const char *ifname, const char *endpoint,
			json_t *rule, int64_t wall_ns)
{
	char s[INET6_ADDRSTRLEN] = "?", d[INET6_ADDRSTRLEN] = "?", pb[8], when[40], ifn[24];
	int af = e->family == 6 ? AF_INET6 : AF_INET;
	json_t *o;

	inet_ntop(af, e->src, s, sizeof(s));
	inet_ntop(af, e->dst, d, sizeof(d));
	if (!ifname) {
		snprintf(ifn, sizeof(ifn), "if%u", e->ifindex);
		ifname = ifn;
	}
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s?, s:s, s:s, s:s, s:i, s:s, s:i, s:i}", "time",
		      pald_event_time(wall_ns, when, sizeof(when)), "type",
		      e->type == PAL_EVENT_LOG ? "log" : "deny", "interface", ifname, "ifindex",
		      (json_int_t)e->ifindex, "hook",
		      e->hook < PAL_HOOK_COUNT ? pal_hook_names[e->hook] : "?", "stage",
		      e->stage < PAL_STAGE_COUNT ? pal_stage_name((enum pal_stage)e->stage) : NULL,
		      "reason", e->reason < PAL_DROP_COUNT ? pal_drop_reason_names[e->reason] : "?",
		      "proto", pal_proto_name(e->proto, pb, sizeof(pb)), "src", s, "sport", e->sport,
		      "dst", d, "dport", e->dport, "len", (int)e->len);
	if (!o)
		return NULL;
	if (((e->proto == 1 || e->proto == 58) &&
	     (json_object_set_new(o, "icmp_type", json_integer(e->icmp_type)) ||
	      json_object_set_new(o, "icmp_code", json_integer(e->icmp_code)))) ||
	    set_endpoint(o, endpoint) || set_rule(o, e->rule_id, rule)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void pald_log_event(enum pald_log_level lvl, const char *msg, json_t *o)
{
	struct pald_kv kv[32];
	const char *key;
	json_t *v;
	size_t n = 0;

	if (!pald_log_enabled(lvl))
		return;
	json_object_foreach(o, key, v) {
		if (n == sizeof(kv) / sizeof(kv[0]))
			break;
		if (json_is_string(v))
			kv[n++] = PALD_S(key, json_string_value(v));
		else if (json_is_integer(v))
			kv[n++] = PALD_I(key, json_integer_value(v));
		else if (json_is_real(v))
			kv[n++] = PALD_F(key, json_real_value(v));
	}
	pald_log_kv(lvl, msg, kv, n);
}

void pald_rate_init(struct pald_rate *r, double rate, double burst, uint64_t now_ns)
{
	r->rate = rate;
	r->burst = burst;
	r->tokens = burst;
	r->last_ns = now_ns;
}

bool pald_rate_take(struct pald_rate *r, uint64_t now_ns)
{
	if (now_ns > r->last_ns) {
		r->tokens += (double)(now_ns - r->last_ns) / 1e9 * r->rate;
		if (r->tokens > r->burst)
			r->tokens = r->burst;
		r->last_ns = now_ns;
	}
	if (r->tokens < 1)
		return false;
	r->tokens -= 1;
	return true;
}
