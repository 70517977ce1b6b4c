/* The differential test's packets in pairs that a verdict cache or a skipped field could confuse:
 * a packet, then at once (same CPU, cache lines warm, flows flushed) variants that differ from it
 * in one field only: a port by one, ports against none, another protocol with the same ports, an
 * ICMP type or code by one, an address by one bit, the other family with the same protocol and
 * ports, source and destination swapped. Every packet's verdict through the programs must be the
 * reference evaluator's. Then the next IR is applied (a new generation, list ids and words
 * reused) and the last packets are sent again, before anything else: an answer of the old lists
 * must not come back. Random IRs of tests/unit/ir_random.c, shapes as bpf_differential's.
 * PAL_BPF_VCD_IRS scales the number of IRs per phase; PAL_BPF_VCD_SEED replays one. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "ir_random.h"
#include "palisade.skel.h"
#include "../../agent/dataplane/datapath_internal.h"

static struct bpft T;
static int cpu;

/* On one CPU: the cache lines are per CPU, a packet and its variants must meet the same ones. */
static void setup(void)
{
	cpu_set_t set;

	cpu = sched_getcpu();
	cr_assert_geq(cpu, 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	bt_setup(&T);
}

static void teardown(void)
{
	bt_teardown(&T);
}

TestSuite(bpf_vcache_diff, .init = setup, .fini = teardown);

/* Lines of this CPU that hold a key (any stamp): proof that the phase went through the cache. */
static int lines_used(void)
{
	int fd = bpf_map__fd(T.dp->skel->maps.cls_vcache), n = libbpf_num_possible_cpus(), used = 0;
	struct pal_vcache_line *v = calloc((size_t)n, sizeof(*v));

	cr_assert_not_null(v);
	for (uint32_t k = 0; k < PAL_HOOK_COUNT * PAL_VCACHE_LINES; k++) {
		cr_assert_eq(bpf_map_lookup_elem(fd, &k, v), 0);
		used += v[cpu].stamp != 0;
	}
	free(v);
	return used;
}

struct route {
	enum pal_trace_dir dir;
	const char *in, *out;
};

static const struct route routes[] = {
	{ PAL_TRACE_INGRESS, "eth0", NULL },  { PAL_TRACE_INGRESS, "cali0", NULL },
	{ PAL_TRACE_EGRESS, "eth0", NULL },   { PAL_TRACE_EGRESS, "cali0", NULL },
	{ PAL_TRACE_FORWARD, "eth0", "cali0" }, { PAL_TRACE_FORWARD, "cali0", "eth0" },
	{ PAL_TRACE_FORWARD, "eth0", "eth1" },
};

static bool has_ports(uint8_t proto)
{
	return proto == PAL_PROTO_TCP || proto == PAL_PROTO_UDP || proto == PAL_PROTO_SCTP;
}

static bool is_icmp(uint8_t proto)
{
	return proto == PAL_PROTO_ICMP || proto == PAL_PROTO_ICMPV6;
}

static void normalise(struct pal_packet *v);

/* Variant k of base into v: one field changed. */
static void variant(struct pal_rand *r, const struct pal_ir *ir, const struct pal_packet *base,
		    int k, struct pal_packet *v)
{
	static const uint8_t port_protos[] = { PAL_PROTO_TCP, PAL_PROTO_UDP, PAL_PROTO_SCTP };
	struct pal_packet o;

	*v = *base;
	switch (k % 9) {
	case 0: /* a port by one */
		if (has_ports(v->protocol)) {
			if (pal_rand_chance(r, 50))
				v->dport += pal_rand_chance(r, 50) ? 1 : -1;
			else
				v->sport += pal_rand_chance(r, 50) ? 1 : -1;
		}
		break;
	case 1: /* the same ports under another protocol that has ports */
		if (has_ports(v->protocol))
			v->protocol = port_protos[(pal_rand_below(r, 2) + 1 +
						   (v->protocol == PAL_PROTO_UDP ? 1 :
						    v->protocol == PAL_PROTO_SCTP ? 2 : 0)) % 3];
		else
			v->protocol = port_protos[pal_rand_below(r, 3)];
		if (!v->sport && !v->dport) {
			v->sport = (uint16_t)pal_rand_below(r, 65536);
			v->dport = (uint16_t)pal_rand_below(r, 65536);
		}
		v->icmp_type = v->icmp_code = 0;
		break;
	case 2: /* ports against none: a protocol without ports, same addresses */
		if (has_ports(v->protocol)) {
			v->protocol = pal_rand_chance(r, 50) ? 47 :
				      v->src.family == PAL_AF_INET6 ? PAL_PROTO_ICMPV6 : PAL_PROTO_ICMP;
			v->sport = v->dport = 0;
			v->icmp_type = (uint8_t)(base->dport >> 8);
			v->icmp_code = (uint8_t)base->dport;
		}
		break;
	case 3: /* an ICMP type or code by one; or the other ICMP protocol */
		if (is_icmp(v->protocol)) {
			int c = (int)pal_rand_below(r, 3);

			if (c == 0)
				v->icmp_type += pal_rand_chance(r, 50) ? 1 : -1;
			else if (c == 1)
				v->icmp_code += pal_rand_chance(r, 50) ? 1 : -1;
			else
				v->protocol = v->protocol == PAL_PROTO_ICMP ? PAL_PROTO_ICMPV6 :
									   PAL_PROTO_ICMP;
		}
		break;
	case 4: /* the source by one bit */
	case 5: { /* the destination by one bit */
		struct pal_addr *a = k % 9 == 4 ? &v->src : &v->dst;
		size_t n = a->family == PAL_AF_INET6 ? 16 : 4;
		uint32_t bit = pal_rand_chance(r, 60) ? pal_rand_below(r, 8) :
							pal_rand_below(r, (uint32_t)n * 8);

		a->bytes[n - 1 - bit / 8] ^= (uint8_t)(1u << (bit % 8));
		break;
	}
	case 6: /* the other family, the same protocol and ports */
		do
			pal_ir_random_packet(r, ir, &o);
		while (o.src.family == base->src.family && pal_rand_chance(r, 90));
		v->src = o.src;
		v->dst = o.dst;
		v->has_dnat = false;
		if (v->protocol == PAL_PROTO_ICMP && v->src.family == PAL_AF_INET6)
			v->protocol = PAL_PROTO_ICMPV6;
		else if (v->protocol == PAL_PROTO_ICMPV6 && v->src.family == PAL_AF_INET4)
			v->protocol = PAL_PROTO_ICMP;
		break;
	case 7: /* source and destination swapped */
		v->src = base->dst;
		v->dst = base->src;
		v->sport = base->dport;
		v->dport = base->sport;
		v->has_dnat = false;
		break;
	default: /* another random packet of the IR */
		pal_ir_random_packet(r, ir, v);
		break;
	}
	normalise(v);
}

/* What the programs can carry: no IPv6 extension header as the protocol, ports only with a
 * protocol that has them, ICMP fields only with ICMP. */
static void normalise(struct pal_packet *v)
{
	if (v->has_dnat && v->dnat_dst.family != v->dst.family)
		v->has_dnat = false;
	if (v->src.family == PAL_AF_INET6 &&
	    (v->protocol == 0 || v->protocol == 43 || v->protocol == 44 || v->protocol == 51 ||
	     v->protocol == 60))
		v->protocol = 59;
	if (!has_ports(v->protocol))
		v->sport = v->dport = 0;
	if (!is_icmp(v->protocol))
		v->icmp_type = v->icmp_code = 0;
}

/* One packet through the programs and the evaluator: 1 when they disagree (printed). */
static int one(const struct pal_ir *ir, const struct route *rt, const struct pal_packet *pkt,
	       const char *what, uint64_t seed)
{
	struct pal_verdict v;
	struct bt_result res;
	char desc[256];

	cr_assert_eq(pal_evaluate(ir, rt->dir, rt->in, rt->out, pkt, &v), 0);
	bt_flush_flows(&T);
	res = bt_path(&T, rt->dir, rt->in, rt->out, pkt, NULL);
	if (res.allow == v.allow && res.untracked == v.untracked &&
	    (v.stage != PAL_STAGE_SOURCE || res.dropped_at == PAL_HOOK_TC_INGRESS))
		return 0;
	fprintf(stderr,
		"MISMATCH seed 0x%" PRIx64 " (%s) %s %s%s%s: %s\n  evaluator: %s%s, stage %s: %s\n"
		"  datapath:  %s%s (dropped at hook %d)\n",
		seed, what,
		rt->dir == PAL_TRACE_INGRESS ? "ingress" : rt->dir == PAL_TRACE_EGRESS ? "egress" :
											 "forward",
		rt->in, rt->out ? " -> " : "", rt->out ? rt->out : "",
		pal_packet_str(pkt, desc, sizeof(desc)), v.allow ? "allow" : "deny",
		v.untracked ? " untracked" : "", pal_stage_name(v.stage), v.reason,
		res.allow ? "allow" : "deny", res.untracked ? " untracked" : "", res.dropped_at);
	return 1;
}

#define LAST 8

static size_t run_phase(const char *name, uint64_t base_seed, uint64_t n_irs, int n_pkts,
			const struct pal_ir_random_opts *opts, bool replay, uint64_t only,
			size_t *n_cases)
{
	struct pal_packet last[LAST];
	const struct route *last_rt[LAST];
	size_t n_last = 0, mismatches = 0, cases = 0;
	struct pal_ir prev = { 0 };
	bool have_prev = false;

	for (uint64_t i = 0; i < n_irs && mismatches < 10; i++) {
		uint64_t seed = replay ? only : base_seed + i;
		struct pal_rand r = { seed ^ 0xcace5eedcace5eedull };
		struct pal_ir ir = { 0 };

		cr_assert_eq(pal_ir_random(seed, opts, &ir), 0);
		bt_apply(&T, &ir, (uint32_t)i + 1);
		/* most short lists have a linear form, which no cache serves: every other IR runs
		 * its lists in the bitmap form */
		if (i % 2 == 0)
			bt_linear_forms_drop(&T);
		/* the previous IR's last packets, first thing under the new lists */
		for (size_t j = 0; j < n_last; j++) {
			mismatches += one(&ir, last_rt[j], &last[j], "after an apply", seed);
			cases++;
		}
		n_last = 0;
		for (int p = 0; p < n_pkts; p++) {
			const struct route *rt = &routes[pal_rand_below(&r, sizeof(routes) / sizeof(routes[0]))];
			struct pal_packet pkt, v;

			pal_ir_random_packet(&r, &ir, &pkt);
			if (strcmp(rt->in, "cali0") == 0)
				pal_ir_random_source(&r, &ir.endpoints[1], &pkt);
			normalise(&pkt);
			mismatches += one(&ir, rt, &pkt, "base", seed);
			cases++;
			for (int k = 0; k < 8; k++) {
				variant(&r, &ir, &pkt, k, &v);
				if (strcmp(rt->in, "cali0") == 0 && pal_rand_chance(&r, 50))
					pal_ir_random_source(&r, &ir.endpoints[1], &v);
				mismatches += one(&ir, rt, &v, "variant", seed);
				cases++;
				/* and the base again, after its variant took the line */
				if (pal_rand_chance(&r, 25)) {
					mismatches += one(&ir, rt, &pkt, "base again", seed);
					cases++;
				}
			}
			if (p >= n_pkts - LAST && n_last < LAST) {
				last[n_last] = pkt;
				last_rt[n_last++] = rt;
			}
		}
		if (have_prev)
			pal_ir_free(&prev);
		prev = ir;
		have_prev = true;
	}
	if (have_prev)
		pal_ir_free(&prev);
	fprintf(stderr, "bpf_vcache_diff %s: %zu cases, %zu mismatches, %d cache lines in use\n",
		name, cases, mismatches, lines_used());
	*n_cases += cases;
	return mismatches;
}

Test(bpf_vcache_diff, variants_of_a_packet_agree_with_the_reference, .timeout = 900)
{
	static const struct {
		const char *name;
		uint64_t n_irs;
		int n_pkts;
		struct pal_ir_random_opts o;
	} phases[] = {
		{ "small", 60, 24, { .max_tiers = 3, .max_policies = 3, .max_rules = 5, .n_profiles = 3 } },
		{ "medium", 10, 60, { .max_tiers = 4, .max_policies = 5, .max_rules = 25, .n_profiles = 3 } },
		{ "large", 3, 120, { .max_tiers = 4, .max_policies = 60, .max_rules = 100, .n_profiles = 2 } },
		{ "hosts", 12, 60, { .max_tiers = 3, .max_policies = 5, .max_rules = 20, .n_profiles = 2, .hosts_only = true } },
		{ "wide", 2, 80, { .max_tiers = 1, .max_policies = 3, .max_rules = 3000, .n_profiles = 1 } },
	};
	const char *s = getenv("PAL_BPF_VCD_SEED"), *only_phase = getenv("PAL_BPF_VCD_PHASE");
	const char *scale = getenv("PAL_BPF_VCD_IRS");
	bool replay = s && *s;
	uint64_t only = replay ? strtoull(s, NULL, 0) : 0;
	size_t cases = 0, mismatches = 0;

	for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		uint64_t n = replay ? 1 : phases[k].n_irs * (scale ? strtoull(scale, NULL, 0) : 1);

		if (only_phase && strcmp(only_phase, phases[k].name))
			continue;
		mismatches += run_phase(phases[k].name, 0x7ac0000 + k * 1000000, n, phases[k].n_pkts,
					&phases[k].o, replay, only, &cases);
	}
	cr_assert_eq(mismatches, 0, "%zu mismatches (replay with PAL_BPF_VCD_SEED and "
				    "PAL_BPF_VCD_PHASE)", mismatches);
}
