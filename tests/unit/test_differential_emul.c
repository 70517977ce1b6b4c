/* Differential test: the classifier emulation over flattened tables against the reference.
 *
 * For many random IRs (ir_random.c) every rule list of every endpoint is flattened, and random
 * packets aimed at the rules' boundaries are classified both ways:
 *   - per list: pal_cls_classify against a reference walk of the same list written with the
 *     evaluator's single-rule oracle pal_ir_rule_matches (the deciding entry's kind, action, rule
 *     id and tier, and the Log rules hit on the way);
 *   - per packet: the stage walk (stage_walk.c, the one pal_evaluate runs) over the flattened
 *     lists (emul_evaluate below) against pal_evaluate over the IR (allow/deny, deciding rule
 *     id, logged rule ids). The stage order itself is the kernel's in bpf/stages.h, checked
 *     against pal_evaluate by the BPF differential test (tests/bpf/test_differential.c).
 * Deterministic: IR i uses seed PAL_DIFF_BASE + i. On a mismatch the seed and the case are printed;
 * PAL_DIFF_SEED=<seed> replays exactly that IR and its packets. PAL_DIFF_IRS=<n> changes the number
 * of IRs (soak runs).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "evaluator.h"
#include "flatten.h"
#include "ir_random.h"
#include "stage_walk.h"

#define DEFAULT_BASE 0x5eed0000ull
#define DEFAULT_IRS 400
#define PACKETS_PER_IR 12

/* ---- reference walk of one list (the evaluator's walk_tiers / walk_profiles, per list) ---- */

struct ref_result {
	bool decided;
	uint8_t action; /* ALLOW or DENY when decided */
	uint8_t kind;   /* enum pal_cls_kind */
	uint32_t rule_id, tier;
	uint32_t logged[PAL_CLS_MAX_LOGS];
	uint32_t n_logged;
};

struct list_spec {
	const char *name;
	const struct pal_ir_tierlist *tl;
	const uint32_t *profiles;
	size_t n_profiles;
	enum pal_dir dir;
	enum pal_cls_list_end end;
	bool pre_dnat; /* the list sees the destination before DNAT */
};

static void ref_log(struct ref_result *r, const struct pal_ir_rule *rule)
{
	if (r->n_logged < PAL_CLS_MAX_LOGS)
		r->logged[r->n_logged++] = rule->id;
}

static void ref_decide(struct ref_result *r, uint8_t action, uint8_t kind, uint32_t rule_id,
		       uint32_t tier)
{
	r->decided = true;
	r->action = action;
	r->kind = kind;
	r->rule_id = rule_id;
	r->tier = tier;
}

static void ref_walk(const struct pal_ir *ir, const struct list_spec *ls,
		     const struct pal_packet *pkt, struct ref_result *r)
{
	const struct pal_addr *dst = ls->pre_dnat || !pkt->has_dnat ? &pkt->dst : &pkt->dnat_dst;
	uint16_t dport = ls->pre_dnat || !pkt->has_dnat ? pkt->dport : pkt->dnat_dport;

	memset(r, 0, sizeof(*r));
	for (size_t t = 0; ls->tl && t < ls->tl->n_tiers; t++) {
		const struct pal_ir_tier *tier = &ls->tl->tiers[t];
		bool passed = false;

		for (size_t p = 0; p < tier->n_policies && !passed; p++) {
			const struct pal_ir_policy *pol = &tier->policies[p];

			for (size_t i = 0; i < pol->n_rules && !passed; i++) {
				const struct pal_ir_rule *rule = &pol->rules[i];

				if (!pal_ir_rule_matches(ir, rule, pkt, dst, dport))
					continue;
				if (rule->action == PAL_ACTION_LOG) {
					ref_log(r, rule);
				} else if (rule->action == PAL_ACTION_PASS) {
					passed = true;
				} else {
					ref_decide(r, (uint8_t)rule->action, PAL_CLS_K_RULE,
						   rule->id, (uint32_t)t);
					return;
				}
			}
		}
		if (!passed && tier->end_action == PAL_ACTION_DENY) {
			ref_decide(r, PAL_CLS_DENY, PAL_CLS_K_END_OF_TIER, PAL_CLS_NO_RULE,
				   (uint32_t)t);
			return;
		}
	}
	for (size_t k = 0; k < ls->n_profiles; k++) {
		const struct pal_ir_profile *pr = &ir->profiles[ls->profiles[k]];

		for (size_t i = 0; i < pr->n_rules[ls->dir]; i++) {
			const struct pal_ir_rule *rule = &pr->rules[ls->dir][i];

			if (!pal_ir_rule_matches(ir, rule, pkt, dst, dport))
				continue;
			if (rule->action == PAL_ACTION_LOG) {
				ref_log(r, rule);
				continue;
			}
			if (rule->action == PAL_ACTION_PASS)
				break;
			ref_decide(r, (uint8_t)rule->action, PAL_CLS_K_PROFILE_RULE, rule->id,
				   (uint32_t)k);
			return;
		}
	}
	if (ls->end == PAL_CLS_END_DENY)
		ref_decide(r, PAL_CLS_DENY, PAL_CLS_K_DEFAULT_DENY, PAL_CLS_NO_RULE,
			   PAL_CLS_NO_RULE);
}

/* ---- the lists of one IR ---- */

#define MAX_LISTS 9

struct flat_list {
	struct list_spec spec;
	struct pal_cls_tables *t;
};

struct flat_ir {
	struct pal_ir ir;
	struct flat_list lists[MAX_LISTS];
	size_t n;
	/* which list is which, for the stage walk; NULL when the tier list is empty */
	struct pal_cls_tables *h_untracked[2], *h_prednat, *h_forward[2], *h_normal[2], *w_normal[2];
};

static struct pal_cls_tables *add_list(struct flat_ir *f, const char *name,
				       const struct pal_ir_tierlist *tl,
				       const struct pal_ir_endpoint *ep, enum pal_dir dir,
				       enum pal_cls_list_end end, bool with_profiles, bool pre_dnat)
{
	struct flat_list *l = &f->lists[f->n];
	struct pal_cls_input in = {
		.ir = &f->ir,
		.tiers = tl,
		.profiles = with_profiles ? ep->profiles : NULL,
		.n_profiles = with_profiles ? ep->n_profiles : 0,
		.dir = dir,
		.end = end,
	};
	int err = pal_cls_flatten(&in, &l->t);

	cr_assert_eq(err, 0, "flatten %s: %d", name, err);
	l->spec = (struct list_spec){ .name = name, .tl = tl, .profiles = in.profiles,
				      .n_profiles = in.n_profiles, .dir = dir, .end = end,
				      .pre_dnat = pre_dnat };
	f->n++;
	return l->t;
}

static void flat_ir_build(struct flat_ir *f, uint64_t seed, const struct pal_ir_random_opts *o)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(pal_ir_random(seed, o, &f->ir), 0);
	const struct pal_ir_endpoint *h = &f->ir.endpoints[0], *w = &f->ir.endpoints[1];
	static const char *const names[2][4] = {
		{ "hep untracked ingress", "hep forward ingress", "hep normal ingress",
		  "wep normal ingress" },
		{ "hep untracked egress", "hep forward egress", "hep normal egress",
		  "wep normal egress" },
	};

	for (int d = 0; d < PAL_DIR_COUNT; d++) {
		f->h_untracked[d] = add_list(f, names[d][0], &h->untracked[d], h, d, PAL_CLS_END_NONE,
					     false, true);
		/* A forward list exists only when forward policy applies ("no list" = allow); when
		 * it does and every tier passes, the packet is denied. */
		if (h->forward[d].n_tiers)
			f->h_forward[d] = add_list(f, names[d][1], &h->forward[d], h, d,
						   PAL_CLS_END_DENY, false, false);
		f->h_normal[d] = add_list(f, names[d][2], &h->normal[d], h, d, PAL_CLS_END_DENY, true,
					  false);
		f->w_normal[d] = add_list(f, names[d][3], &w->normal[d], w, d, PAL_CLS_END_DENY, true,
					  false);
	}
	f->h_prednat = add_list(f, "hep prednat ingress", &h->prednat[PAL_DIR_INGRESS], h,
				PAL_DIR_INGRESS, PAL_CLS_END_NONE, false, true);
}

static void flat_ir_free(struct flat_ir *f)
{
	for (size_t i = 0; i < f->n; i++)
		pal_cls_tables_free(f->lists[i].t);
	pal_ir_free(&f->ir);
}

/* ---- the stage walk over flattened lists (what the datapath does with the lists) ---- */

/* The list op of the stage walk (stage_walk.h): the flattened list the datapath would run for
 * this endpoint, stage and direction, classified by the emulation. */
static void emul_run_list(void *ctx, const struct pal_walk_side *s, enum pal_walk_list list,
			  enum pal_dir dir, const struct pal_packet *pkt, bool pre_dnat,
			  struct pal_verdict *v, struct pal_walk_result *d)
{
	const struct flat_ir *f = ctx;
	bool host = s->ep == &f->ir.endpoints[0];
	const struct pal_cls_tables *t = NULL;
	const struct pal_addr *dst = pre_dnat || !pkt->has_dnat ? &pkt->dst : &pkt->dnat_dst;
	struct pal_cls_keys k;
	struct pal_cls_result res;
	const struct pal_cls_entry *e;

	switch (list) {
	case PAL_WALK_UNTRACKED: t = host ? f->h_untracked[dir] : NULL; break;
	case PAL_WALK_PREDNAT: t = host && dir == PAL_DIR_INGRESS ? f->h_prednat : NULL; break;
	case PAL_WALK_FORWARD: t = host ? f->h_forward[dir] : NULL; break;
	case PAL_WALK_NORMAL: t = host ? f->h_normal[dir] : f->w_normal[dir]; break;
	}
	d->present = t != NULL;
	if (!t)
		return;
	pal_cls_keys_from_packet(pkt, dst, pre_dnat || !pkt->has_dnat ? pkt->dport : pkt->dnat_dport,
				 &k);
	pal_cls_classify(t, &k, &res);
	cr_assert(!res.overflow);
	for (uint32_t i = 0; i < res.n_logged; i++)
		pal_verdict_log(v, t->entries[res.logged[i]].rule_id);
	if (res.entry == PAL_CLS_NO_MATCH)
		return;
	e = &t->entries[res.entry];
	d->outcome = e->action == PAL_CLS_ALLOW ? PAL_ACTION_ALLOW : PAL_ACTION_DENY;
	d->rule_id = e->rule_id;
	d->at = e->kind == PAL_CLS_K_PROFILE_RULE ? PAL_WALK_AT_PROFILE :
		e->kind == PAL_CLS_K_DEFAULT_DENY ? PAL_WALK_AT_DEFAULT :
						    PAL_WALK_AT_TIER;
}

static bool emul_failsafe(void *ctx, enum pal_dir dir, const struct pal_packet *pkt, char *what,
			  size_t len)
{
	const struct flat_ir *f = ctx;
	const struct pal_failsafe *v = dir == PAL_DIR_INGRESS ? f->ir.failsafe_in : f->ir.failsafe_out;
	size_t n = dir == PAL_DIR_INGRESS ? f->ir.n_failsafe_in : f->ir.n_failsafe_out;
	const struct pal_addr *peer = dir == PAL_DIR_INGRESS ? &pkt->src : &pkt->dst;

	for (size_t i = 0; i < n; i++)
		if (v[i].protocol == pkt->protocol && v[i].port == pkt->dport &&
		    (!v[i].has_net || pal_cidr_contains(&v[i].net, peer))) {
			snprintf(what, len, "port %u", pkt->dport);
			return true;
		}
	return false;
}

/* The datapath writes the workload's addresses and allowSpoofedSourcePrefixes into its source
 * trie; the IR's own answer is that set. */
static bool emul_source_ok(void *ctx, const struct pal_walk_side *s, const struct pal_packet *pkt)
{
	(void)ctx;
	return pal_ir_source_allowed(s->ep, &pkt->src);
}

/* The interface paths of the random IR: eth0 is host endpoint hep0, cali0 workload wep0. */
struct path {
	enum pal_trace_dir dir;
	const char *in, *out;
};

static const struct path paths[] = {
	{ PAL_TRACE_INGRESS, "eth0", NULL },	/* to a host process */
	{ PAL_TRACE_EGRESS, "eth0", NULL },	/* from a host process */
	{ PAL_TRACE_FORWARD, "eth0", "cali0" }, /* into the pod */
	{ PAL_TRACE_INGRESS, "cali0", NULL },	/* pod to its host */
	{ PAL_TRACE_EGRESS, "cali0", NULL },	/* host to the pod */
	{ PAL_TRACE_FORWARD, "cali0", "eth0" }, /* out of the pod */
};

static struct pal_walk_side emul_side(const struct flat_ir *f, const char *iface)
{
	const struct pal_ir_endpoint *ep = strcmp(iface, "eth0") == 0 ? &f->ir.endpoints[0] :
									&f->ir.endpoints[1];

	return (struct pal_walk_side){ .ep = ep, .workload = ep->kind == PAL_EP_WORKLOAD,
				       .name = ep->name };
}

/* The stages of docs/semantics.md section 7 (the shared stage walk) over the flattened lists. */
static void emul_evaluate(const struct flat_ir *f, const struct path *pa,
			  const struct pal_packet *pkt, struct pal_verdict *v)
{
	struct pal_walk_ops ops = { .run_list = emul_run_list, .failsafe = emul_failsafe,
				    .source_ok = emul_source_ok,
				    .endpoint_to_host_drop =
					    f->ir.endpoint_to_host == PAL_EP_TO_HOST_DROP };
	struct pal_walk_side in = emul_side(f, pa->in), out = { 0 };

	if (pa->out)
		out = emul_side(f, pa->out);
	pal_walk_stages(&ops, (void *)f, pa->dir, &in, &out, pkt, v);
}

/* ---- the test ---- */

static uint64_t env_u64(const char *name, uint64_t def, bool *set)
{
	const char *s = getenv(name);

	if (set)
		*set = s && *s;
	return s && *s ? strtoull(s, NULL, 0) : def;
}

static const char *kind_name(uint8_t k)
{
	static const char *const n[] = { "rule", "profile rule", "end of tier", "default deny" };

	return k < 4 ? n[k] : "?";
}

/* What the cases exercised, printed so that a generator change that stops covering something
 * shows. */
struct coverage {
	size_t by_kind[4], no_verdict, with_logs, multi_word, entries;
};

static struct coverage cov;

static const char *phase_name = "";

static bool compare_list(const struct flat_ir *f, const struct flat_list *l,
			 const struct pal_packet *pkt, uint64_t seed, size_t pi)
{
	struct ref_result ref;
	struct pal_cls_result res;
	struct pal_cls_keys k;
	const struct pal_addr *dst = l->spec.pre_dnat || !pkt->has_dnat ? &pkt->dst : &pkt->dnat_dst;
	uint16_t dport = l->spec.pre_dnat || !pkt->has_dnat ? pkt->dport : pkt->dnat_dport;
	char buf[256];
	bool ok = true;

	ref_walk(&f->ir, &l->spec, pkt, &ref);
	pal_cls_keys_from_packet(pkt, dst, dport, &k);
	pal_cls_classify(l->t, &k, &res);
	if (res.entry == PAL_CLS_NO_MATCH)
		cov.no_verdict++;
	else
		cov.by_kind[l->t->entries[res.entry].kind & 3]++;
	cov.with_logs += res.n_logged > 0;
	cov.multi_word += l->t->n_words > 1;
	if (res.overflow) {
		ok = false;
	} else if (res.entry == PAL_CLS_NO_MATCH) {
		ok = !ref.decided;
	} else {
		const struct pal_cls_entry *e = &l->t->entries[res.entry];

		ok = ref.decided && e->action == ref.action && e->kind == ref.kind &&
		     e->rule_id == ref.rule_id &&
		     (e->kind == PAL_CLS_K_DEFAULT_DENY || e->tier == ref.tier);
	}
	if (ok) {
		ok = res.n_logged == ref.n_logged;
		for (uint32_t i = 0; ok && i < res.n_logged; i++)
			ok = l->t->entries[res.logged[i]].rule_id == ref.logged[i];
	}
	if (!ok) {
		fprintf(stderr,
			"MISMATCH seed=0x%" PRIx64 " (replay: PAL_DIFF_PHASE=%s PAL_DIFF_SEED=0x%" PRIx64
			") list \"%s\" packet #%zu: %s\n",
			seed, phase_name, seed, l->spec.name, pi, pal_packet_str(pkt, buf, sizeof(buf)));
		fprintf(stderr, "  reference: %s %s rule_id %u tier %u, %u logged\n",
			ref.decided ? (ref.action == PAL_CLS_ALLOW ? "ALLOW" : "DENY") : "no verdict",
			ref.decided ? kind_name(ref.kind) : "", ref.rule_id, ref.tier, ref.n_logged);
		if (res.entry == PAL_CLS_NO_MATCH) {
			fprintf(stderr, "  emulation: no verdict%s, %u logged\n",
				res.overflow ? " (overflow)" : "", res.n_logged);
		} else {
			const struct pal_cls_entry *e = &l->t->entries[res.entry];

			fprintf(stderr, "  emulation: entry %u %s %s rule_id %u tier %u, %u logged\n",
				res.entry, e->action == PAL_CLS_ALLOW ? "ALLOW" : "DENY",
				kind_name(e->kind), e->rule_id, e->tier, res.n_logged);
		}
	}
	return ok;
}

static bool compare_stages(const struct flat_ir *f, const struct path *pa,
			   const struct pal_packet *pkt, uint64_t seed, size_t pi)
{
	struct pal_verdict ref, em;
	char buf[256];
	bool ok;

	cr_assert_eq(pal_evaluate(&f->ir, pa->dir, pa->in, pa->out, pkt, &ref), 0);
	emul_evaluate(f, pa, pkt, &em);
	ok = ref.allow == em.allow && ref.rule_id == em.rule_id && ref.n_logged == em.n_logged;
	for (size_t i = 0; ok && i < em.n_logged; i++)
		ok = ref.logged_rule_ids[i] == em.logged_rule_ids[i];
	if (!ok)
		fprintf(stderr,
			"MISMATCH seed=0x%" PRIx64 " (replay: PAL_DIFF_PHASE=%s PAL_DIFF_SEED=0x%" PRIx64
			") stages %s -> %s packet #%zu: %s\n  evaluator: %s rule_id %u, %zu logged (%s)\n"
			"  emulation: %s rule_id %u, %zu logged\n",
			seed, phase_name, seed, pa->in, pa->out ? pa->out : "host", pi, pal_packet_str(pkt, buf, sizeof(buf)),
			ref.allow ? "allow" : "deny", ref.rule_id, ref.n_logged, ref.reason,
			em.allow ? "allow" : "deny", em.rule_id, em.n_logged);
	for (size_t i = 0; !ok && i < ref.n_steps; i++)
		fprintf(stderr, "    evaluator step %s %s %s: %s\n", pal_stage_name(ref.steps[i].stage),
			ref.steps[i].endpoint ? ref.steps[i].endpoint : "-",
			pal_dir_name(ref.steps[i].dir), ref.steps[i].note);
	return ok;
}

/* Phases: many small IRs (most corner cases per second), some medium ones (bitmaps of several
 * words, PASS jumps across words), and a large one (several summary words). */
struct phase {
	const char *name;
	uint64_t n_irs, packets;
	struct pal_ir_random_opts opts;
};

static const struct phase phases[] = {
	{ "small", DEFAULT_IRS, 12, { .max_tiers = 3, .max_policies = 3, .max_rules = 5, .n_profiles = 3 } },
	{ "medium", 24, 40, { .max_tiers = 4, .max_policies = 5, .max_rules = 25, .n_profiles = 3 } },
	{ "large", 1, 150, { .max_tiers = 4, .max_policies = 60, .max_rules = 100, .n_profiles = 2 } },
};

static size_t list_cases, stage_cases, failures, max_entries;

static void run_phase(const struct phase *ph, uint64_t base, uint64_t n_irs)
{
	phase_name = ph->name;
	for (uint64_t i = 0; i < n_irs && failures < 5; i++) {
		uint64_t seed = base + i;
		struct flat_ir f;
		struct pal_rand r = { seed ^ 0xa5a5a5a5a5a5a5a5ull };

		flat_ir_build(&f, seed, &ph->opts);
		for (size_t l = 0; l < f.n; l++)
			if (f.lists[l].t->n_entries > max_entries)
				max_entries = f.lists[l].t->n_entries;
		for (size_t p = 0; p < ph->packets && failures < 5; p++) {
			struct pal_packet pkt;

			pal_ir_random_packet(&r, &f.ir, &pkt);
			if (pal_rand_chance(&r, 15)) /* replies of failsafe connections too */
				pal_ir_random_failsafe_reply(&r, &f.ir, &pkt);
			for (size_t l = 0; l < f.n; l++, list_cases++)
				failures += !compare_list(&f, &f.lists[l], &pkt, seed, p);
			for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++, stage_cases++) {
				struct pal_packet sent = pkt;

				/* what the pod sends: its own sources mostly, spoofed ones too */
				if (strcmp(paths[k].in, "cali0") == 0)
					pal_ir_random_source(&r, &f.ir.endpoints[1], &sent);
				failures += !compare_stages(&f, &paths[k], &sent, seed, p);
			}
		}
		flat_ir_free(&f);
	}
}

Test(differential_emul, classifier_matches_reference, .timeout = 120)
{
	bool replay;
	uint64_t one = env_u64("PAL_DIFF_SEED", 0, &replay);
	uint64_t base = env_u64("PAL_DIFF_BASE", DEFAULT_BASE, NULL);
	const char *only = getenv("PAL_DIFF_PHASE");

	for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
		const struct phase *ph = &phases[k];

		if (replay) {
			if (!only || strcmp(only, ph->name) == 0)
				run_phase(ph, one, 1);
			continue;
		}
		if (only && strcmp(only, ph->name) != 0)
			continue;
		run_phase(ph, base + (uint64_t)k * 1000000, env_u64("PAL_DIFF_IRS", ph->n_irs, NULL));
	}
	fprintf(stderr, "differential_emul: seed base 0x%" PRIx64 ", %zu (list, packet) and "
			"%zu (stages, packet) cases, largest list %zu entries, %zu mismatches\n",
		replay ? one : base, list_cases, stage_cases, max_entries, failures);
	fprintf(stderr, "  list outcomes: %zu rule, %zu profile rule, %zu end of tier, %zu default deny, "
			"%zu no verdict; %zu with Log hits; %zu on lists of more than 64 entries\n",
		cov.by_kind[0], cov.by_kind[1], cov.by_kind[2], cov.by_kind[3], cov.no_verdict,
		cov.with_logs, cov.multi_word);
	cr_assert_eq(failures, 0, "%zu mismatches (seeds printed above)", failures);
	if (!replay)
		cr_assert_geq(list_cases, 10000, "too few cases: %zu", list_cases);
}

/* The compiler's IR for the example policies and the compiler fixtures: every list of every
 * endpoint flattened and compared per list (the stage walk above is specific to the random IR's
 * two endpoints). Catches IR shapes the generator does not make. */
static void compiled_case(const char *dir, const char *node, size_t *cases)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_ir ir = { 0 };
	struct pal_compile_opts o = { .node = node };
	struct pal_rand r = { 99 };

	pal_model_init(&m);
	cr_assert_eq(pal_model_load_dir(&m, dir, &d), 0, "loading %s", dir);
	pal_model_validate(&m, &d);
	if (d.n_errors)
		pal_diags_print(stderr, &d);
	cr_assert_eq(d.n_errors, 0, "%s does not load cleanly", dir);
	cr_assert_eq(pal_compile(&m, &o, &ir, &d), 0, "%s does not compile", dir);
	phase_name = dir;
	for (size_t e = 0; e < ir.n_endpoints; e++) {
		const struct pal_ir_endpoint *ep = &ir.endpoints[e];

		for (int dd = 0; dd < PAL_DIR_COUNT; dd++) {
			const struct {
				const struct pal_ir_tierlist *tl;
				bool profiles, pre_dnat;
				enum pal_cls_list_end end;
			} lists[] = {
				{ &ep->untracked[dd], false, true, PAL_CLS_END_NONE },
				{ &ep->prednat[dd], false, true, PAL_CLS_END_NONE },
				{ &ep->forward[dd], false, false, PAL_CLS_END_DENY },
				{ &ep->normal[dd], true, false, PAL_CLS_END_DENY },
			};
			for (size_t l = 0; l < 4; l++) {
				struct flat_list fl = {
					.spec = { .name = ep->name, .tl = lists[l].tl,
						  .profiles = lists[l].profiles ? ep->profiles : NULL,
						  .n_profiles = lists[l].profiles ? ep->n_profiles : 0,
						  .dir = dd, .end = lists[l].end,
						  .pre_dnat = lists[l].pre_dnat },
				};
				struct pal_cls_input in = { .ir = &ir, .tiers = fl.spec.tl,
							    .profiles = fl.spec.profiles,
							    .n_profiles = fl.spec.n_profiles, .dir = dd,
							    .end = fl.spec.end };
				struct flat_ir f = { .ir = ir };

				cr_assert_eq(pal_cls_flatten(&in, &fl.t), 0);
				for (int p = 0; p < 300; p++) {
					struct pal_packet pkt;

					pal_ir_random_packet(&r, &ir, &pkt);
					cr_assert(compare_list(&f, &fl, &pkt, 0, (size_t)p),
						  "%s: endpoint %s dir %d list %zu", dir, ep->name, dd, l);
					(*cases)++;
				}
				pal_cls_tables_free(fl.t);
			}
		}
	}
	pal_ir_free(&ir);
	pal_diags_free(&d);
	pal_model_free(&m);
}

Test(differential_emul, compiled_policies_match_reference)
{
	size_t cases = 0;

	compiled_case("../../policies", "demo-node", &cases);
	compiled_case("fixtures/compiler/table", "node1", &cases);
	compiled_case("fixtures/compiler/match", "node1", &cases);
	cr_log_info("compiled policies: %zu (list, packet) cases", cases);
	cr_assert_gt(cases, 1000);
}
