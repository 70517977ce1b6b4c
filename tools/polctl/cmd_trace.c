/* polctl trace: the verdict for one packet, the stage and rule that decided, and the way there.
 * With --policy-dir it runs the reference evaluator on the compiler's output (offline); without,
 * the pinned programs under --bpffs, run in trace mode with BPF_PROG_TEST_RUN (live_trace.c).
 * Both answers have the same shape; the live one adds "source": "live" and the generation it read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "live.h"
#include "net.h"
#include "polctl.h"
#include "trace_pods.h"

struct trace_args {
	char **dirs;
	size_t n_dirs;
	const char *iface, *out_iface;
	enum pal_trace_dir dir;
	bool have_dir;
	struct pal_packet pkt;
	bool have_proto, have_src, have_dst, have_sport, have_dport, have_type, have_code;
	const char *from_pod, *to_pod; /* NAMESPACE/NAME: resolved in the model (resolve_pods) */
	const char *dnat;
};

static int parse_u16(const char *s, uint16_t *out, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* A protocol name (any case) or a number 1-255. */
static int parse_proto(const char *s, uint8_t *out)
{
	int num = pal_proto_parse(s);

	if (num <= 0)
		return -EINVAL;
	*out = (uint8_t)num;
	return 0;
}

/* "198.18.0.1", "198.18.0.1:8080", "[2001:db8::1]:8080" or "2001:db8::1". */
static int parse_dnat(const char *s, struct pal_packet *pkt)
{
	char buf[128];
	char *port = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return -EINVAL;
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -EINVAL;
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		port = strchr(buf, ':'); /* exactly one colon: IPv4 with a port */
		*port++ = '\0';
	}
	if (!pal_addr_parse(buf, &pkt->dnat_dst))
		return -EINVAL;
	pkt->dnat_dport = pkt->dport;
	if (port && parse_u16(port, &pkt->dnat_dport, 65535))
		return -EINVAL;
	pkt->has_dnat = true;
	return 0;
}

static int parse_args(const struct polctl_globals *g, int argc, char **argv, struct trace_args *a)
{
	enum { O_POLICY = 256, O_IFACE, O_DIR, O_OUT, O_PROTO, O_SRC, O_SPORT, O_DST, O_DPORT,
	       O_TYPE, O_CODE, O_DNAT, O_FROM_POD, O_TO_POD };
	static const struct option opts[] = {
		{ "policy-dir", required_argument, NULL, O_POLICY },
		{ "iface", required_argument, NULL, O_IFACE },
		{ "dir", required_argument, NULL, O_DIR },
		{ "out-iface", required_argument, NULL, O_OUT },
		{ "proto", required_argument, NULL, O_PROTO },
		{ "src", required_argument, NULL, O_SRC },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "dst", required_argument, NULL, O_DST },
		{ "dport", required_argument, NULL, O_DPORT },
		{ "icmp-type", required_argument, NULL, O_TYPE },
		{ "icmp-code", required_argument, NULL, O_CODE },
		{ "dnat", required_argument, NULL, O_DNAT },
		{ "from-pod", required_argument, NULL, O_FROM_POD },
		{ "to-pod", required_argument, NULL, O_TO_POD },
		{ 0 },
	};
	uint16_t v;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_POLICY: a->dirs[a->n_dirs++] = optarg; break;
		case O_IFACE: a->iface = optarg; break;
		case O_OUT: a->out_iface = optarg; break;
		case O_DIR:
			a->have_dir = true;
			if (strcmp(optarg, "ingress") == 0)
				a->dir = PAL_TRACE_INGRESS;
			else if (strcmp(optarg, "egress") == 0)
				a->dir = PAL_TRACE_EGRESS;
			else if (strcmp(optarg, "forward") == 0)
				a->dir = PAL_TRACE_FORWARD;
			else
				return polctl_fail(g, "trace: --dir takes ingress, egress or forward, not \"%s\"", optarg);
			break;
		case O_PROTO:
			if (parse_proto(optarg, &a->pkt.protocol))
				return polctl_fail(g, "trace: --proto \"%s\" is not tcp, udp, icmp, icmpv6, sctp, udplite or 1-255", optarg);
			a->have_proto = true;
			break;
		case O_SRC:
			if (!pal_addr_parse(optarg, &a->pkt.src))
				return polctl_fail(g, "trace: --src \"%s\" is not an IP address", optarg);
			a->have_src = true;
			break;
		case O_DST:
			if (!pal_addr_parse(optarg, &a->pkt.dst))
				return polctl_fail(g, "trace: --dst \"%s\" is not an IP address", optarg);
			a->have_dst = true;
			break;
		case O_SPORT:
		case O_DPORT:
			if (parse_u16(optarg, c == O_SPORT ? &a->pkt.sport : &a->pkt.dport, 65535))
				return polctl_fail(g, "trace: %s \"%s\" is not a port (0-65535)", argv[optind - 2], optarg);
			*(c == O_SPORT ? &a->have_sport : &a->have_dport) = true;
			break;
		case O_TYPE:
		case O_CODE:
			if (parse_u16(optarg, &v, 255))
				return polctl_fail(g, "trace: %s \"%s\" is not 0-255", argv[optind - 2], optarg);
			if (c == O_TYPE) {
				a->pkt.icmp_type = (uint8_t)v;
				a->have_type = true;
			} else {
				a->pkt.icmp_code = (uint8_t)v;
				a->have_code = true;
			}
			break;
		case O_DNAT: a->dnat = optarg; break;
		case O_FROM_POD: a->from_pod = optarg; break;
		case O_TO_POD: a->to_pod = optarg; break;
		default:
			return polctl_fail(g, "trace: unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return polctl_fail(g, "trace: unexpected argument \"%s\"", argv[optind]);
	if ((a->from_pod || a->to_pod) && !a->n_dirs)
		return polctl_fail(g, "trace: --from-pod and --to-pod need --policy-dir (the pods' "
				      "WorkloadEndpoints come from the policy files)");
	if ((a->from_pod && (a->have_src || a->iface)) || (a->to_pod && a->have_dst))
		return polctl_fail(g, "trace: --from-pod sets --src and --iface, --to-pod sets --dst: "
				      "give one or the other");
	if (a->to_pod && a->out_iface)
		return polctl_fail(g, "trace: --to-pod sets --out-iface: give one or the other");
	return 0;
}

/* --from-pod/--to-pod: the pods' addresses and interfaces, and the direction they imply (from
 * a pod to the host: ingress; from the host to a pod: egress; between two interfaces: forward). */
static int resolve_pods(const struct polctl_globals *g, const struct pal_model *m,
			struct trace_args *a)
{
	const struct pal_workload_endpoint *from = NULL, *to = NULL;
	char err[256];
	int fam = a->have_src ? a->pkt.src.family : a->have_dst ? a->pkt.dst.family : 0;

	if (a->from_pod) {
		if (!(from = trace_pod_find(m, a->from_pod, fam, &a->pkt.src, err, sizeof(err))))
			return polctl_fail(g, "trace: --from-pod: %s", err);
		a->have_src = true;
		a->iface = from->interface_name;
		fam = a->pkt.src.family;
	}
	if (a->to_pod) {
		if (!(to = trace_pod_find(m, a->to_pod, fam, &a->pkt.dst, err, sizeof(err))))
			return polctl_fail(g, "trace: --to-pod: %s", err);
		a->have_dst = true;
		if (a->iface)
			a->out_iface = to->interface_name;
		else
			a->iface = to->interface_name;
	}
	if (!a->have_dir && a->iface) {
		a->have_dir = true;
		a->dir = a->out_iface ? PAL_TRACE_FORWARD : from ? PAL_TRACE_INGRESS : PAL_TRACE_EGRESS;
	}
	return 0;
}

/* What the packet description still needs once the pods are resolved. */
static int check_args(const struct polctl_globals *g, struct trace_args *a)
{
	if (!a->iface || !a->have_dir || !a->have_proto || !a->have_src || !a->have_dst)
		return polctl_fail(g, "trace: needs --iface, --dir, --proto, --src and --dst");
	if (a->dir == PAL_TRACE_FORWARD && !a->out_iface)
		return polctl_fail(g, "trace: --dir forward needs --out-iface");
	if (a->pkt.src.family != a->pkt.dst.family)
		return polctl_fail(g, "trace: --src and --dst are of different IP versions");
	bool ported = a->pkt.protocol == PAL_PROTO_TCP || a->pkt.protocol == PAL_PROTO_UDP ||
		      a->pkt.protocol == PAL_PROTO_SCTP || a->pkt.protocol == PAL_PROTO_UDPLITE;
	bool icmp = a->pkt.protocol == PAL_PROTO_ICMP || a->pkt.protocol == PAL_PROTO_ICMPV6;
	if ((a->have_sport || a->have_dport) && !ported)
		return polctl_fail(g, "trace: ports need --proto tcp, udp, sctp or udplite");
	if ((a->have_type || a->have_code) && !icmp)
		return polctl_fail(g, "trace: --icmp-type/--icmp-code need --proto icmp or icmpv6");
	if (a->have_code && !a->have_type)
		return polctl_fail(g, "trace: --icmp-code needs --icmp-type");
	if ((a->pkt.protocol == PAL_PROTO_ICMP && a->pkt.src.family != PAL_AF_INET4) ||
	    (a->pkt.protocol == PAL_PROTO_ICMPV6 && a->pkt.src.family != PAL_AF_INET6))
		return polctl_fail(g, "trace: icmp goes with IPv4 addresses, icmpv6 with IPv6");
	if (a->dnat) {
		if (parse_dnat(a->dnat, &a->pkt))
			return polctl_fail(g, "trace: --dnat \"%s\" is not IP or IP:PORT", a->dnat);
		if (a->pkt.dnat_dst.family != a->pkt.dst.family)
			return polctl_fail(g, "trace: --dnat address is of another IP version than --dst");
	}
	return 0;
}

static const char *outcome_name(enum pal_action a)
{
	switch (a) {
	case PAL_ACTION_ALLOW: return "allow";
	case PAL_ACTION_DENY: return "deny";
	default: return "continue";
	}
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* extra: more keys for the top-level object (taken over), may be NULL. */
static void print_json(const struct pal_verdict *v, json_t *extra)
{
	json_t *stages = json_array(), *logged = json_array();

	for (size_t i = 0; i < v->n_steps; i++) {
		const struct pal_trace_step *s = &v->steps[i];

		json_array_append_new(stages, json_pack(
			"{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s}", "stage", pal_stage_name(s->stage),
			"endpoint", str_or_null(s->endpoint), "direction", pal_dir_name(s->dir),
			"outcome", outcome_name(s->outcome), "tier", str_or_null(s->tier), "policy",
			str_or_null(s->policy), "rule", s->rule >= 0 ? json_integer(s->rule) : json_null(),
			"note", s->note));
	}
	for (size_t i = 0; i < v->n_logged; i++)
		json_array_append_new(logged, json_integer(v->logged_rule_ids[i]));
	json_t *o = json_pack(
		"{s:s, s:s, s:o, s:o, s:o, s:s, s:b, s:s, s:o, s:o}", "verdict",
		v->allow ? "allow" : "deny", "stage", pal_stage_name(v->stage), "tier",
		str_or_null(v->tier), "policy", str_or_null(v->policy), "rule",
		v->rule >= 0 ? json_integer(v->rule) : json_null(), "action",
		pal_action_name(v->action), "untracked", v->untracked, "reason", v->reason,
		"stages", stages, "logged_rule_ids", logged);

	if (extra) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	polctl_print_json(o);
}

static void print_table(const struct pal_verdict *v)
{
	char rule[16] = "-";

	if (v->rule >= 0)
		snprintf(rule, sizeof(rule), "%d", v->rule);
	printf("verdict    %s%s\n", v->allow ? "allow" : "deny", v->untracked ? " (untracked)" : "");
	printf("stage      %s\n", pal_stage_name(v->stage));
	printf("tier       %s\n", v->tier ? v->tier : "-");
	printf("policy     %s\n", v->policy ? v->policy : "-");
	printf("rule       %s\n", rule);
	printf("action     %s\n", pal_action_name(v->action));
	printf("reason     %s\n\n", v->reason);
	printf("%-10s %-24s %-8s %-9s %-12s %-28s %-5s %s\n", "STAGE", "ENDPOINT", "DIR", "OUTCOME",
	       "TIER", "POLICY", "RULE", "NOTE");
	for (size_t i = 0; i < v->n_steps; i++) {
		const struct pal_trace_step *s = &v->steps[i];

		snprintf(rule, sizeof(rule), "%d", s->rule);
		printf("%-10s %-24s %-8s %-9s %-12s %-28s %-5s %s\n", pal_stage_name(s->stage),
		       s->endpoint ? s->endpoint : "-", pal_dir_name(s->dir), outcome_name(s->outcome),
		       s->tier ? s->tier : "-", s->policy ? s->policy : "-", s->rule >= 0 ? rule : "-",
		       s->note);
	}
}

/* The pinned programs the live trace ran, in order, with their return codes. */
static json_t *programs_json(const struct live_ran *ran)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ran->n_progs; i++)
		json_array_append_new(a, json_pack("{s:s, s:i}", "program", ran->progs[i].name,
						   "return", ran->progs[i].retval));
	return a;
}

/* The live answer: same printers, plus where it came from and the programs that ran. */
static int trace_live(const struct polctl_globals *g, const struct trace_args *a)
{
	struct polctl_live lv;
	struct pal_verdict v;
	struct live_ran ran;
	json_t *warnings;
	int rc = polctl_live_open(g, &lv);

	if (rc)
		return rc;
	live_warn_meta(&lv);
	rc = live_trace(g, &lv, a->dir, a->iface, a->out_iface, &a->pkt, &v, &ran);
	if (rc)
		goto out;
	warnings = trace_warnings(g, NULL, &v, a->iface, a->out_iface);
	trace_warnings_print(warnings);
	if (g->output == POLCTL_OUT_JSON) {
		print_json(&v, json_pack("{s:s, s:I, s:o, s:o, s:o}", "source", "live", "generation",
					 (json_int_t)lv.cfg.generation, "rule_id",
					 v.rule_id == UINT32_MAX ? json_null() :
								   json_integer(v.rule_id),
					 "warnings", warnings, "programs", programs_json(&ran)));
	} else {
		json_decref(warnings);
		printf("source     live datapath at %s, generation %u\n", lv.dir, lv.cfg.generation);
		printf("programs  ");
		for (size_t i = 0; i < ran.n_progs; i++)
			printf(" %s=%d", ran.progs[i].name, ran.progs[i].retval);
		printf("\n");
		print_table(&v);
	}
out:
	polctl_live_close(&lv);
	return rc;
}

int cmd_trace(const struct polctl_globals *g, int argc, char **argv)
{
	struct trace_args a = { 0 };
	struct polctl_offline o;
	struct pal_verdict v;
	json_t *warnings;
	int rc;

	a.dirs = calloc((size_t)argc, sizeof(char *));
	if (!a.dirs)
		return POLCTL_USAGE;
	rc = parse_args(g, argc, argv, &a);
	if (rc)
		goto out_args;
	if (a.n_dirs == 0) {
		rc = check_args(g, &a) ? POLCTL_USAGE : trace_live(g, &a);
		goto out_args;
	}
	if (polctl_offline_load(g, a.dirs, a.n_dirs, &o) != 0) {
		pal_diags_print(stderr, &o.diags);
		rc = polctl_fail(g, "trace: the policy has errors (polctl validate shows them)");
		goto out;
	}
	if (resolve_pods(g, &o.model, &a) || check_args(g, &a)) {
		rc = POLCTL_USAGE;
		goto out;
	}
	if (pal_evaluate(&o.ir, a.dir, a.iface, a.out_iface, &a.pkt, &v) != 0) {
		rc = polctl_fail(g, "trace: the evaluator rejected this packet description");
		goto out;
	}
	warnings = trace_warnings(g, &o.model, &v, a.iface, a.out_iface);
	trace_warnings_print(warnings);
	if (g->output == POLCTL_OUT_JSON)
		print_json(&v, json_pack("{s:o}", "warnings", warnings));
	else {
		json_decref(warnings);
		print_table(&v);
	}
	rc = POLCTL_OK;
out:
	polctl_offline_free(&o);
out_args:
	free(a.dirs);
	return rc;
}
