/* Differential test: random IRs (tests/unit/ir_random.c: host endpoint hep0 on eth0, workload
 * wep0 on cali0) programmed into the maps, random packets through the BPF programs for every
 * traffic direction and interface pair, and the verdict (allow/deny, untracked) compared with the
 * reference evaluator. At least 10,000 cases. On a mismatch it prints the seed and packet;
 * replay one IR with PAL_BPF_DIFF_SEED=<seed>. PAL_BPF_DIFF_IRS sets how many IRs (default 240). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "ir_random.h"

BT_BARE_SUITE(bpf_differential);

struct route {
	enum pal_trace_dir dir;
	const char *in, *out;
};

static const struct route routes[] = {
	{ PAL_TRACE_INGRESS, "eth0", NULL },  { PAL_TRACE_INGRESS, "cali0", NULL },
	{ PAL_TRACE_INGRESS, "eth1", NULL },  { PAL_TRACE_EGRESS, "eth0", NULL },
	{ PAL_TRACE_EGRESS, "cali0", NULL },  { PAL_TRACE_FORWARD, "eth0", "cali0" },
	{ PAL_TRACE_FORWARD, "cali0", "eth0" }, { PAL_TRACE_FORWARD, "eth0", "eth1" },
	{ PAL_TRACE_FORWARD, "eth1", "eth0" }, { PAL_TRACE_FORWARD, "eth1", "cali0" },
};

static uint64_t env_u64(const char *name, uint64_t def, bool *set)
{
	const char *v = getenv(name);

	if (set)
		*set = v && *v;
	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* A random endpoint-to-host action, and a few failsafe ports when the generator made none. */
static void add_failsafes(struct pal_ir *ir, struct pal_rand *r)
{
	ir->endpoint_to_host = pal_rand_chance(r, 50) ? PAL_EP_TO_HOST_ACCEPT : PAL_EP_TO_HOST_DROP;
	if (ir->n_failsafe_in || ir->n_failsafe_out)
		return; /* the generator made its own */
	ir->failsafe_in = calloc(2, sizeof(*ir->failsafe_in));
	ir->failsafe_out = calloc(1, sizeof(*ir->failsafe_out));
	cr_assert(ir->failsafe_in && ir->failsafe_out);
	ir->failsafe_in[0] = (struct pal_failsafe){ .protocol = PAL_PROTO_TCP,
						    .port = (uint16_t)pal_rand_below(r, 100) };
	ir->failsafe_in[1] = (struct pal_failsafe){ .protocol = PAL_PROTO_UDP, .port = 68 };
	ir->n_failsafe_in = 2;
	ir->failsafe_out[0] = (struct pal_failsafe){ .protocol = PAL_PROTO_UDP,
						     .port = (uint16_t)pal_rand_below(r, 100) };
	ir->n_failsafe_out = 1;
}

/* Keys (__u32) in map name of T's datapath. */
static size_t map_keys(const char *name)
{
	int fd = pal_dp_map_fd(T.dp, name);
	uint32_t key, next, *prev = NULL;
	size_t n = 0;

	cr_assert_geq(fd, 0, "no map %s", name);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

/* How many programmed lists (pal_lists) read an address field through a host table. */
static size_t host_tables(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	struct pal_list l;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, &l), 0);
		n += (l.direct & (1u << PAL_FIELD_SRC_ADDR | 1u << PAL_FIELD_DST_ADDR)) != 0;
	}
	return n;
}

/* One phase: n_irs random IRs of the given shape, n_pkts packets each, round-robin over the
 * routes. Returns the number of mismatches (printed with their seeds). */
static size_t run_phase(const char *name, uint64_t base, uint64_t n_irs, int n_pkts,
			const struct pal_ir_random_opts *opts, bool want_both_forms, bool replay,
			uint64_t one, size_t *n_cases)
{
	size_t cases = 0, mismatches = 0, allowed = 0, untracked = 0, spoofed = 0;
	size_t lists = 0, linear = 0; /* lists programmed, of them with a linear form (pal_small) */
	size_t hosts = 0;             /* of them with a host table */

	for (uint64_t i = 0; i < n_irs && mismatches < 10; i++) {
		uint64_t seed = replay ? one : base + i;
		struct pal_rand r = { seed ^ 0x5eed5eed5eed5eedull };
		struct pal_ir ir = { 0 };

		cr_assert_eq(pal_ir_random(seed, opts, &ir), 0);
		add_failsafes(&ir, &r);
		bt_apply(&T, &ir, (uint32_t)i + 1);
		lists += map_keys("pal_lists");
		linear += bt_linear_forms(&T);
		hosts += host_tables();
		for (int p = 0; p < n_pkts; p++) {
			const struct route *rt = &routes[(size_t)p % (sizeof(routes) / sizeof(routes[0]))];
			struct pal_packet pkt;
			struct pal_verdict v;
			struct bt_result res;
			char desc[256];

			pal_ir_random_packet(&r, &ir, &pkt);
			/* replies of failsafe connections: exempt from untracked policy as the host's
			 * only (issue 7, defect 8) */
			if (pal_rand_chance(&r, 15))
				pal_ir_random_failsafe_reply(&r, &ir, &pkt);
			/* IPv6 "protocols" that are extension headers (AH...) are walked by the
			 * parser, as ip6tables does; the evaluator has no such notion */
			/* what the pod sends: its own sources mostly, spoofed ones too */
			if (strcmp(rt->in, "cali0") == 0)
				pal_ir_random_source(&r, &ir.endpoints[1], &pkt);
			if (pkt.src.family == PAL_AF_INET6 &&
			    (pkt.protocol == 0 || pkt.protocol == 43 || pkt.protocol == 44 ||
			     pkt.protocol == 51 || pkt.protocol == 60))
				pkt.protocol = 59;
			cr_assert_eq(pal_evaluate(&ir, rt->dir, rt->in, rt->out, &pkt, &v), 0);
			bt_flush_flows(&T);
			res = bt_path(&T, rt->dir, rt->in, rt->out, &pkt, NULL);
			cases++;
			spoofed += v.stage == PAL_STAGE_SOURCE;
			allowed += res.allow;
			untracked += res.untracked;
			/* a spoofed source is the tc ingress check's to drop, nobody else's */
			if (res.allow == v.allow && res.untracked == v.untracked &&
			    (v.stage != PAL_STAGE_SOURCE || res.dropped_at == PAL_HOOK_TC_INGRESS))
				continue;
			mismatches++;
			fprintf(stderr,
				"MISMATCH phase %s seed 0x%" PRIx64 " packet %d: %s %s%s%s: %s\n"
				"  evaluator: %s%s, stage %s: %s\n"
				"  datapath:  %s%s (dropped at hook %d)\n",
				name, seed, p, rt->dir == PAL_TRACE_INGRESS ? "ingress" :
					 rt->dir == PAL_TRACE_EGRESS ? "egress" : "forward",
				rt->in, rt->out ? " -> " : "", rt->out ? rt->out : "",
				pal_packet_str(&pkt, desc, sizeof(desc)), v.allow ? "allow" : "deny",
				v.untracked ? " untracked" : "", pal_stage_name(v.stage), v.reason,
				res.allow ? "allow" : "deny", res.untracked ? " untracked" : "",
				res.dropped_at);
		}
		pal_ir_free(&ir);
	}
	fprintf(stderr, "bpf_differential %s: seed base 0x%" PRIx64 ", %zu cases (%zu allowed, "
			"%zu untracked, %zu spoofed), %zu mismatches; lists %zu, linear form %zu, "
			"host tables %zu\n",
		name, replay ? one : base, cases, allowed, untracked, spoofed, mismatches, lists,
		linear, hosts);
	if (!replay && n_irs > 1)
		cr_expect_gt(spoofed, 0, "phase %s generated no spoofed source", name);
	/* the short lists' linear form and the bitmap form must both have been compared */
	if (!replay && n_irs > 1 && want_both_forms)
		cr_expect(linear > 0 && linear < lists, "phase %s: %zu of %zu lists in linear form",
			  name, linear, lists);
	if (!replay && n_irs > 1 && opts->hosts_only)
		cr_expect_gt(hosts, 0, "phase %s: no list with a host table", name);
	*n_cases += cases;
	return mismatches;
}

/* Small lists find semantic bugs fast; medium and large ones (hundreds to thousands of entries,
 * several words and summary words) exercise the two-level bitmap walk. PAL_BPF_DIFF_SEED with
 * PAL_BPF_DIFF_PHASE replays one IR. */
Test(bpf_differential, datapath_matches_reference, .timeout = 900)
{
	static const struct {
		const char *name;
		uint64_t n_irs;
		int n_pkts;
		struct pal_ir_random_opts o;
		bool both_forms; /* expect lists in linear and in bitmap form */
	} phases[] = {
		{ "small", 240, 48, { .max_tiers = 3, .max_policies = 3, .max_rules = 5, .n_profiles = 3 }, true },
		{ "medium", 12, 200, { .max_tiers = 4, .max_policies = 5, .max_rules = 25, .n_profiles = 3 } },
		{ "large", 2, 400, { .max_tiers = 4, .max_policies = 60, .max_rules = 100, .n_profiles = 2 } },
		/* lists around PAL_SMALL_ENTRIES entries: either side of the linear form's limit */
		{ "threshold", 40, 48, { .max_tiers = 2, .max_policies = 4, .max_rules = 7, .n_profiles = 2 }, true },
		/* lists over 4,096 entries: several summary words, classes with override words in
		 * more than one of them (the override rank words) */
		{ "wide", 2, 400, { .max_tiers = 1, .max_policies = 3, .max_rules = 3000, .n_profiles = 1 } },
		/* every net a host or a /0: long lists with host tables and their filters (an
		 * address whose filter bit is clear skips the pal_hosts lookup) */
		{ "hosts", 16, 200, { .max_tiers = 3, .max_policies = 5, .max_rules = 20, .n_profiles = 2, .hosts_only = true } },
	};
	bool replay;
	uint64_t one = env_u64("PAL_BPF_DIFF_SEED", 0, &replay);
	uint64_t base = env_u64("PAL_BPF_DIFF_BASE", 0xb9f0000, NULL);
	const char *only = getenv("PAL_BPF_DIFF_PHASE");
	size_t cases = 0, mismatches = 0;

	for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		uint64_t n = replay ? 1 : env_u64("PAL_BPF_DIFF_IRS", phases[k].n_irs, NULL);

		if (only && strcmp(only, phases[k].name) != 0)
			continue;
		mismatches += run_phase(phases[k].name, base + k * 1000000, n, phases[k].n_pkts,
					&phases[k].o, phases[k].both_forms, replay, one, &cases);
	}
	cr_assert_eq(mismatches, 0, "%zu mismatches (seeds above; replay with PAL_BPF_DIFF_SEED "
				    "and PAL_BPF_DIFF_PHASE)", mismatches);
	if (!replay && !only)
		cr_assert_geq(cases, 10000, "too few cases: %zu", cases);
}
