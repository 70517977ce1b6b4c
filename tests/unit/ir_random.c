/* Random IR and packets for differential tests; see ir_random.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir_random.h"

uint64_t pal_rand_u64(struct pal_rand *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t pal_rand_below(struct pal_rand *r, uint32_t n)
{
	return (uint32_t)(pal_rand_u64(r) % n);
}

bool pal_rand_chance(struct pal_rand *r, uint32_t percent)
{
	return pal_rand_below(r, 100) < percent;
}

void pal_ir_random_default_opts(struct pal_ir_random_opts *o)
{
	/* every option, also those added later (a caller's struct is on its stack, uninitialised) */
	*o = (struct pal_ir_random_opts){ .max_tiers = 3, .max_policies = 3, .max_rules = 5,
					  .n_profiles = 3 };
}

/* ---- value pools: few distinct values, so rules overlap and packets hit them ---- */

static const char *const v4_bases[] = { "10.0.0.0",    "10.1.2.3",  "10.1.2.200", "192.168.0.1",
					"0.0.0.0",     "255.255.255.255", "10.1.3.0" };
static const char *const v6_bases[] = { "2001:db8::1", "2001:db8::ff", "2001:db8:1::1", "fd00::1",
					"::",          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
static const uint8_t v4_lens[] = { 0, 1, 8, 16, 24, 25, 30, 31, 32 };
static const uint8_t v6_lens[] = { 0, 16, 32, 48, 64, 112, 120, 127, 128 };
static const uint16_t ports[] = { 0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 8080, 65534, 65535 };
static const uint8_t protos[] = { PAL_PROTO_TCP, PAL_PROTO_UDP,  PAL_PROTO_SCTP,   PAL_PROTO_ICMP,
				  PAL_PROTO_ICMPV6, 47 /* GRE */, PAL_PROTO_UDPLITE };
static const uint8_t port_protos[] = { PAL_PROTO_TCP, PAL_PROTO_UDP, PAL_PROTO_SCTP };
static const uint8_t icmp_types[] = { 0, 3, 8, 11, 128, 133, 135 };
static const uint8_t icmp_codes[] = { 0, 1, 3, 255 };

#define PICK(r, arr) ((arr)[pal_rand_below((r), sizeof(arr) / sizeof((arr)[0]))])

struct gen {
	struct pal_rand r;
	const struct pal_ir_random_opts *o;
	struct pal_ir *ir;
	uint32_t next_id;
	int err;
};

static void *gcalloc(struct gen *g, size_t n, size_t sz)
{
	void *p;

	if (g->err || !n)
		return NULL;
	p = calloc(n, sz);
	if (!p)
		g->err = -ENOMEM;
	return p;
}

/* arr becomes n zeroed elements and count n; with n 0 (or no memory: g->err) NULL and 0. Its value
 * is count. */
#define GEN_ARRAY(g, arr, count, n) \
	((count) = ((arr) = gcalloc((g), (n), sizeof(*(arr)))) ? (n) : 0)

/* GEN_ARRAY, then gen_one(g, &arr[i], i) makes each element. n is evaluated once. */
#define GEN_EACH(g, arr, count, n, gen_one)                     \
	do {                                                    \
		size_t n_ = (n);                                \
                                                                \
		if (GEN_ARRAY((g), arr, count, n_))             \
			for (size_t i_ = 0; i_ < n_; i_++)      \
				gen_one((g), &(arr)[i_], i_);   \
	} while (0)

static char *gstrdup(struct gen *g, const char *fmt, unsigned n)
{
	char buf[64];
	char *s;

	if (g->err)
		return NULL;
	snprintf(buf, sizeof(buf), fmt, n);
	s = strdup(buf);
	if (!s)
		g->err = -ENOMEM;
	return s;
}

static unsigned fam_bits(uint8_t family)
{
	return family == PAL_AF_INET4 ? 32 : 128;
}

static void addr_mask(struct pal_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)len - (int)i * 8;

		if (keep <= 0)
			a->bytes[i] = 0;
		else if (keep < 8)
			a->bytes[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static void random_addr(struct pal_rand *r, uint8_t family, struct pal_addr *a)
{
	bool ok = pal_addr_parse(family == PAL_AF_INET4 ? PICK(r, v4_bases) : PICK(r, v6_bases), a);

	(void)ok;
	/* Sometimes a sibling: another last byte. */
	if (pal_rand_chance(r, 30))
		a->bytes[fam_bits(family) / 8 - 1] = (uint8_t)pal_rand_below(r, 256);
}

static void random_cidr(struct pal_rand *r, uint8_t family, struct pal_cidr *c)
{
	random_addr(r, family, &c->addr);
	c->prefix_len = family == PAL_AF_INET4 ? PICK(r, v4_lens) : PICK(r, v6_lens);
	addr_mask(&c->addr, c->prefix_len);
}

/* random_cidr, or with o->hosts_only a whole address in place of a prefix other than /0. */
static void gen_cidr(struct gen *g, uint8_t family, struct pal_cidr *c)
{
	random_cidr(&g->r, family, c);
	if (!g->o->hosts_only || !c->prefix_len)
		return;
	random_addr(&g->r, family, &c->addr);
	c->prefix_len = (uint8_t)fam_bits(family);
}

static uint8_t random_family(struct pal_rand *r)
{
	return pal_rand_chance(r, 55) ? PAL_AF_INET4 : PAL_AF_INET6;
}

static int cmp_cidr(const void *a, const void *b)
{
	return pal_cidr_cmp(a, b);
}

/* The workload's addresses (one per family) and 0-2 allowSpoofedSourcePrefixes: what the
 * anti-spoofing check lets it send from. */
static void gen_workload_sources(struct gen *g, struct pal_ir_endpoint *wep)
{
	if (GEN_ARRAY(g, wep->addrs, wep->n_addrs, 2)) {
		random_addr(&g->r, PAL_AF_INET4, &wep->addrs[0]);
		random_addr(&g->r, PAL_AF_INET6, &wep->addrs[1]);
	}
	wep->n_spoof_ok = pal_rand_below(&g->r, 3);
	wep->spoof_ok = gcalloc(g, wep->n_spoof_ok + 1, sizeof(*wep->spoof_ok));
	if (!wep->spoof_ok)
		wep->n_spoof_ok = 0;
	for (size_t i = 0; i < wep->n_spoof_ok; i++)
		random_cidr(&g->r, random_family(&g->r), &wep->spoof_ok[i]);
}

static void gen_set(struct gen *g, struct pal_ir_set *s, size_t i)
{
	/* Sometimes empty: a selector that matches no endpoint. */
	size_t k = pal_rand_chance(&g->r, 5) ? 0 : 1 + pal_rand_below(&g->r, 4), m = 0;
	uint8_t fam = random_family(&g->r);
	bool mixed = pal_rand_chance(&g->r, 30);

	s->origin = gstrdup(g, "set %u", (unsigned)i);
	if (!GEN_ARRAY(g, s->cidrs, s->n, k))
		return;
	for (size_t j = 0; j < k; j++)
		gen_cidr(g, mixed ? random_family(&g->r) : fam, &s->cidrs[j]);
	qsort(s->cidrs, k, sizeof(*s->cidrs), cmp_cidr);
	for (size_t j = 0; j < k; j++)
		if (!m || pal_cidr_cmp(&s->cidrs[m - 1], &s->cidrs[j]))
			s->cidrs[m++] = s->cidrs[j];
	s->n = m;
}

static void gen_named_port_set(struct gen *g, struct pal_ir_named_port_set *s, size_t i)
{
	size_t k = pal_rand_below(&g->r, 5);

	s->origin = gstrdup(g, "named port set %u", (unsigned)i);
	if (!GEN_ARRAY(g, s->v, s->n, k))
		return;
	for (size_t j = 0; j < k; j++) {
		random_addr(&g->r, random_family(&g->r), &s->v[j].addr);
		s->v[j].protocol = PICK(&g->r, port_protos);
		s->v[j].port = PICK(&g->r, ports);
	}
}

static uint16_t random_port(struct pal_rand *r)
{
	return pal_rand_chance(r, 80) ? PICK(r, ports) : (uint16_t)pal_rand_below(r, 65536);
}

static struct pal_port_range *gen_ranges(struct gen *g, size_t *n)
{
	static const uint32_t spans[] = { 0, 1, 2, 10, 1000, 65535 };
	size_t k = 1 + pal_rand_below(&g->r, 3);
	struct pal_port_range *v;

	if (!GEN_ARRAY(g, v, *n, k))
		return NULL;
	for (size_t i = 0; i < k; i++) {
		uint32_t first = random_port(&g->r), last = first + PICK(&g->r, spans);

		v[i].first = (uint16_t)first;
		v[i].last = (uint16_t)(last > 65535 ? 65535 : last);
	}
	return v;
}

static uint32_t *gen_indexes(struct gen *g, size_t n, size_t range)
{
	uint32_t *v = gcalloc(g, n, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = pal_rand_below(&g->r, (uint32_t)range);
	return v;
}

static void gen_side(struct gen *g, struct pal_ir_side *s)
{
	struct pal_rand *r = &g->r;
	uint32_t x = pal_rand_below(r, 100);
	size_t n;

	n = x < 55 ? 0 : x < 90 ? 1 : 2;
	s->in_sets = gen_indexes(g, n, g->ir->n_sets);
	s->n_in_sets = s->in_sets ? n : 0;
	n = pal_rand_chance(r, 20) ? 1 : 0;
	s->not_in_sets = gen_indexes(g, n, g->ir->n_sets);
	s->n_not_in_sets = s->not_in_sets ? n : 0;
	if (pal_rand_chance(r, 35)) {
		s->has_ports = true;
		if (pal_rand_chance(r, 75))
			s->port_ranges = gen_ranges(g, &s->n_port_ranges);
		if (pal_rand_chance(r, 40)) {
			n = 1 + pal_rand_below(r, 2);
			s->named_port_sets = gen_indexes(g, n, g->ir->n_named_port_sets);
			s->n_named_port_sets = s->named_port_sets ? n : 0;
		}
	}
	if (pal_rand_chance(r, 15))
		s->not_port_ranges = gen_ranges(g, &s->n_not_port_ranges);
	if (pal_rand_chance(r, 12)) {
		s->not_named_port_sets = gen_indexes(g, 1, g->ir->n_named_port_sets);
		s->n_not_named_port_sets = s->not_named_port_sets ? 1 : 0;
	}
}

static void gen_icmp(struct pal_rand *r, struct pal_icmp_match *m)
{
	m->has_type = pal_rand_chance(r, 85);
	if (m->has_type)
		m->type = PICK(r, icmp_types);
	/* Calico requires a type with a code; the IR does not, so sometimes not */
	m->has_code = m->has_type ? pal_rand_chance(r, 50) : pal_rand_chance(r, 30);
	if (m->has_code)
		m->code = PICK(r, icmp_codes);
}

static void gen_rule(struct gen *g, struct pal_ir_rule *rule, uint32_t index)
{
	struct pal_rand *r = &g->r;
	struct pal_ir_match *m = &rule->match;
	uint32_t x = pal_rand_below(r, 100);

	rule->action = x < 35 ? PAL_ACTION_ALLOW : x < 63 ? PAL_ACTION_DENY :
		       x < 80 ? PAL_ACTION_LOG : PAL_ACTION_PASS;
	rule->index = index;
	rule->id = g->next_id++;
	x = pal_rand_below(r, 100);
	m->families = x < 70 ? (PAL_FAMILY_V4 | PAL_FAMILY_V6) : x < 84 ? PAL_FAMILY_V4 :
		      x < 98 ? PAL_FAMILY_V6 : 0;
	gen_side(g, &m->src);
	gen_side(g, &m->dst);
	bool has_ports = m->src.has_ports || m->dst.has_ports || m->src.n_not_port_ranges ||
			 m->dst.n_not_port_ranges;

	if (pal_rand_chance(r, has_ports ? 85 : 50)) {
		m->protocol.set = true;
		m->protocol.num = has_ports && pal_rand_chance(r, 90) ? PICK(r, port_protos) :
									 PICK(r, protos);
	}
	if (pal_rand_chance(r, 10)) {
		m->not_protocol.set = true;
		m->not_protocol.num = PICK(r, protos);
	}
	bool icmp_rule = m->protocol.set && (m->protocol.num == PAL_PROTO_ICMP ||
					     m->protocol.num == PAL_PROTO_ICMPV6);

	if (pal_rand_chance(r, icmp_rule ? 50 : 4)) {
		m->has_icmp = true;
		gen_icmp(r, &m->icmp);
	}
	if (pal_rand_chance(r, icmp_rule ? 25 : 4)) {
		m->has_not_icmp = true;
		gen_icmp(r, &m->not_icmp);
	}
}

static struct pal_ir_rule *gen_rules(struct gen *g, size_t *n)
{
	size_t k = pal_rand_below(&g->r, g->o->max_rules + 1);
	struct pal_ir_rule *v;

	if (!GEN_ARRAY(g, v, *n, k))
		return NULL;
	for (size_t i = 0; i < k; i++)
		gen_rule(g, &v[i], (uint32_t)i);
	return v;
}

static void gen_tierlist(struct gen *g, struct pal_ir_tierlist *tl, bool stateless)
{
	size_t nt = pal_rand_chance(&g->r, 20) ? 0 : 1 + pal_rand_below(&g->r, g->o->max_tiers);

	if (!GEN_ARRAY(g, tl->tiers, tl->n_tiers, nt))
		return;
	for (size_t t = 0; t < nt; t++) {
		struct pal_ir_tier *tier = &tl->tiers[t];
		size_t np = 1 + pal_rand_below(&g->r, g->o->max_policies);

		tier->name = gstrdup(g, "tier%u", (unsigned)t);
		/* The compiler gives untracked/preDNAT tiers PASS ends; sometimes DENY anyway, the
		 * flattener must not care. */
		tier->end_action = pal_rand_chance(&g->r, stateless ? 20 : 70) ? PAL_ACTION_DENY :
										 PAL_ACTION_PASS;
		if (!GEN_ARRAY(g, tier->policies, tier->n_policies, np))
			return;
		for (size_t p = 0; p < np; p++) {
			tier->policies[p].name = gstrdup(g, "pol%u", (unsigned)(t * 10 + p));
			tier->policies[p].rules = gen_rules(g, &tier->policies[p].n_rules);
		}
	}
}

static void gen_profile(struct gen *g, struct pal_ir_profile *p, size_t i)
{
	p->name = gstrdup(g, "prof%u", (unsigned)i);
	for (int d = 0; d < PAL_DIR_COUNT; d++)
		p->rules[d] = gen_rules(g, &p->n_rules[d]);
}

static void gen_endpoint_profiles(struct gen *g, struct pal_ir_endpoint *ep)
{
	size_t n = g->ir->n_profiles ? pal_rand_below(&g->r, (uint32_t)g->ir->n_profiles + 1) : 0;

	ep->profiles = gen_indexes(g, n, g->ir->n_profiles);
	ep->n_profiles = ep->profiles ? n : 0;
}

/* A few failsafe ports from the same port pool as the rules, some limited to a net. */
static void gen_failsafes(struct gen *g, struct pal_failsafe **v, size_t *n)
{
	size_t k = pal_rand_below(&g->r, 4);

	if (!GEN_ARRAY(g, *v, *n, k))
		return;
	for (size_t i = 0; i < k; i++) {
		(*v)[i].protocol = pal_rand_chance(&g->r, 70) ? PAL_PROTO_TCP : PAL_PROTO_UDP;
		(*v)[i].port = PICK(&g->r, ports);
		(*v)[i].has_net = pal_rand_chance(&g->r, 40);
		if ((*v)[i].has_net)
			random_cidr(&g->r, random_family(&g->r), &(*v)[i].net);
	}
}

int pal_ir_random(uint64_t seed, const struct pal_ir_random_opts *o, struct pal_ir *ir)
{
	struct gen g = { .r = { seed }, .o = o, .ir = ir };

	memset(ir, 0, sizeof(*ir));
	GEN_EACH(&g, ir->sets, ir->n_sets, 4 + pal_rand_below(&g.r, 9), gen_set);
	GEN_EACH(&g, ir->named_port_sets, ir->n_named_port_sets, 2 + pal_rand_below(&g.r, 4),
		 gen_named_port_set);
	GEN_EACH(&g, ir->profiles, ir->n_profiles, o->n_profiles, gen_profile);
	if (GEN_ARRAY(&g, ir->endpoints, ir->n_endpoints, 2)) {
		struct pal_ir_endpoint *hep = &ir->endpoints[0], *wep = &ir->endpoints[1];

		hep->kind = PAL_EP_HOST;
		hep->name = gstrdup(&g, "hep%u", 0);
		hep->iface = gstrdup(&g, "eth%u", 0);
		for (int d = 0; d < PAL_DIR_COUNT; d++) {
			gen_tierlist(&g, &hep->untracked[d], true);
			if (d == PAL_DIR_INGRESS)
				gen_tierlist(&g, &hep->prednat[d], true);
			gen_tierlist(&g, &hep->forward[d], false);
			gen_tierlist(&g, &hep->normal[d], false);
		}
		gen_endpoint_profiles(&g, hep);
		wep->kind = PAL_EP_WORKLOAD;
		wep->name = gstrdup(&g, "wep%u", 0);
		wep->namespace = gstrdup(&g, "ns%u", 0);
		wep->iface = gstrdup(&g, "cali%u", 0);
		for (int d = 0; d < PAL_DIR_COUNT; d++)
			gen_tierlist(&g, &wep->normal[d], false);
		gen_endpoint_profiles(&g, wep);
		gen_workload_sources(&g, wep);
	}
	gen_failsafes(&g, &ir->failsafe_in, &ir->n_failsafe_in);
	gen_failsafes(&g, &ir->failsafe_out, &ir->n_failsafe_out);
	ir->endpoint_to_host = pal_rand_chance(&g.r, 50) ? PAL_EP_TO_HOST_DROP : PAL_EP_TO_HOST_ACCEPT;
	ir->n_rule_ids = g.next_id;
	if (g.err)
		pal_ir_free(ir);
	return g.err;
}

/* ---- packets ---- */

/* Every rule of the IR, to aim packets at. */
struct rule_ref {
	const struct pal_ir_rule **v;
	size_t n, cap;
};

static void collect(struct rule_ref *rr, const struct pal_ir_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rr->n == rr->cap) {
			size_t ncap = rr->cap ? rr->cap * 2 : 64;
			const struct pal_ir_rule **nv = realloc(rr->v, ncap * sizeof(*nv));

			if (!nv)
				return; /* fewer targets; still a valid packet */
			rr->v = nv;
			rr->cap = ncap;
		}
		rr->v[rr->n++] = &rules[i];
	}
}

static void collect_list(struct rule_ref *rr, const struct pal_ir_tierlist *tl)
{
	for (size_t t = 0; t < tl->n_tiers; t++)
		for (size_t p = 0; p < tl->tiers[t].n_policies; p++)
			collect(rr, tl->tiers[t].policies[p].rules, tl->tiers[t].policies[p].n_rules);
}

static void addr_add(struct pal_addr *a, int delta)
{
	unsigned nbytes = fam_bits(a->family) / 8;

	for (int i = (int)nbytes - 1; i >= 0; i--) {
		int v = a->bytes[i] + delta;

		a->bytes[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			return;
		/* carry / borrow into the next byte */
	}
}

/* An address at or next to a boundary of c. */
static void addr_near(struct pal_rand *r, const struct pal_cidr *c, struct pal_addr *a)
{
	unsigned bits = fam_bits(c->addr.family);
	uint32_t how = pal_rand_below(r, 5);

	*a = c->addr;
	if (how == 1 || how == 3 || how == 4) { /* last address, or random inside */
		for (unsigned b = c->prefix_len; b < bits; b++)
			if (how != 4 || pal_rand_chance(r, 50))
				a->bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
	}
	if (how == 2)
		addr_add(a, -1); /* one before the first */
	else if (how == 3)
		addr_add(a, +1); /* one after the last */
}

static void side_addr(struct pal_rand *r, const struct pal_ir *ir, const struct pal_ir_side *s,
		      uint8_t family, struct pal_addr *a)
{
	uint32_t pick = pal_rand_below(r, 100);

	if (pick < 60 && s && (s->n_in_sets || s->n_not_in_sets)) {
		bool neg = !s->n_in_sets || (s->n_not_in_sets && pal_rand_chance(r, 30));
		uint32_t set = neg ? s->not_in_sets[pal_rand_below(r, (uint32_t)s->n_not_in_sets)] :
				     s->in_sets[pal_rand_below(r, (uint32_t)s->n_in_sets)];
		const struct pal_ir_set *st = &ir->sets[set];

		for (int tries = 0; st->n && tries < 4; tries++) {
			const struct pal_cidr *c = &st->cidrs[pal_rand_below(r, (uint32_t)st->n)];

			if (c->addr.family == family) {
				addr_near(r, c, a);
				return;
			}
		}
	}
	if (pick < 80 && s && s->n_named_port_sets + s->n_not_named_port_sets) {
		uint32_t k = pal_rand_below(r, (uint32_t)(s->n_named_port_sets + s->n_not_named_port_sets));
		uint32_t set = k < s->n_named_port_sets ? s->named_port_sets[k] :
							   s->not_named_port_sets[k - s->n_named_port_sets];
		const struct pal_ir_named_port_set *ps = &ir->named_port_sets[set];

		for (int tries = 0; ps->n && tries < 4; tries++) {
			const struct pal_ir_named_port *np = &ps->v[pal_rand_below(r, (uint32_t)ps->n)];

			if (np->addr.family == family) {
				*a = np->addr;
				return;
			}
		}
	}
	if (pal_rand_chance(r, 70)) {
		struct pal_cidr c;

		random_cidr(r, family, &c);
		addr_near(r, &c, a);
	} else {
		random_addr(r, family, a);
	}
}

static uint16_t side_port(struct pal_rand *r, const struct pal_ir *ir, const struct pal_ir_side *s)
{
	uint32_t pick = pal_rand_below(r, 100);
	const struct pal_port_range *rg = NULL;
	size_t nrg = 0;

	if (s && pick < 60) {
		if (s->n_port_ranges && (!s->n_not_port_ranges || pal_rand_chance(r, 60))) {
			rg = s->port_ranges;
			nrg = s->n_port_ranges;
		} else if (s->n_not_port_ranges) {
			rg = s->not_port_ranges;
			nrg = s->n_not_port_ranges;
		}
	}
	if (rg) {
		const struct pal_port_range *x = &rg[pal_rand_below(r, (uint32_t)nrg)];

		switch (pal_rand_below(r, 5)) {
		case 0:
			return x->first;
		case 1:
			return x->last;
		case 2:
			return (uint16_t)(x->first - 1); /* wraps at 0: 65535 is a fine probe */
		case 3:
			return (uint16_t)(x->last + 1);
		default:
			return (uint16_t)(x->first + pal_rand_below(r, (uint32_t)(x->last - x->first) + 1));
		}
	}
	if (s && pick < 85 && s->n_named_port_sets + s->n_not_named_port_sets) {
		uint32_t k = pal_rand_below(r, (uint32_t)(s->n_named_port_sets + s->n_not_named_port_sets));
		uint32_t set = k < s->n_named_port_sets ? s->named_port_sets[k] :
							   s->not_named_port_sets[k - s->n_named_port_sets];
		const struct pal_ir_named_port_set *ps = &ir->named_port_sets[set];

		if (ps->n)
			return ps->v[pal_rand_below(r, (uint32_t)ps->n)].port;
	}
	return random_port(r);
}

/* The protocol a named port of s would need, if it has any. */
static bool side_named_proto(struct pal_rand *r, const struct pal_ir *ir,
			     const struct pal_ir_side *s, uint8_t *proto)
{
	if (!s->n_named_port_sets)
		return false;
	const struct pal_ir_named_port_set *ps =
		&ir->named_port_sets[s->named_port_sets[pal_rand_below(r, (uint32_t)s->n_named_port_sets)]];

	if (!ps->n)
		return false;
	*proto = ps->v[pal_rand_below(r, (uint32_t)ps->n)].protocol;
	return true;
}

void pal_ir_random_packet(struct pal_rand *r, const struct pal_ir *ir, struct pal_packet *pkt)
{
	struct rule_ref rr = { 0 };
	const struct pal_ir_rule *target = NULL;
	const struct pal_ir_match *m = NULL;
	uint8_t family;

	memset(pkt, 0, sizeof(*pkt));
	for (size_t e = 0; e < ir->n_endpoints; e++) {
		const struct pal_ir_endpoint *ep = &ir->endpoints[e];

		for (int d = 0; d < PAL_DIR_COUNT; d++) {
			collect_list(&rr, &ep->untracked[d]);
			collect_list(&rr, &ep->prednat[d]);
			collect_list(&rr, &ep->forward[d]);
			collect_list(&rr, &ep->normal[d]);
		}
	}
	for (size_t p = 0; p < ir->n_profiles; p++)
		for (int d = 0; d < PAL_DIR_COUNT; d++)
			collect(&rr, ir->profiles[p].rules[d], ir->profiles[p].n_rules[d]);
	if (rr.n && pal_rand_chance(r, 80)) {
		target = rr.v[pal_rand_below(r, (uint32_t)rr.n)];
		m = &target->match;
	}
	free(rr.v);

	if (m && m->families == PAL_FAMILY_V4)
		family = PAL_AF_INET4;
	else if (m && m->families == PAL_FAMILY_V6)
		family = PAL_AF_INET6;
	else
		family = random_family(r);
	if (m && m->protocol.set && pal_rand_chance(r, 85))
		pkt->protocol = m->protocol.num;
	else if (m && pal_rand_chance(r, 70) &&
		 (side_named_proto(r, ir, &m->src, &pkt->protocol) ||
		  side_named_proto(r, ir, &m->dst, &pkt->protocol)))
		;
	else
		pkt->protocol = pal_rand_chance(r, 90) ? PICK(r, protos) :
							 (uint8_t)pal_rand_below(r, 256);
	side_addr(r, ir, m ? &m->src : NULL, family, &pkt->src);
	side_addr(r, ir, m ? &m->dst : NULL, family, &pkt->dst);
	if (pkt->protocol == PAL_PROTO_TCP || pkt->protocol == PAL_PROTO_UDP ||
	    pkt->protocol == PAL_PROTO_SCTP) {
		pkt->sport = side_port(r, ir, m ? &m->src : NULL);
		pkt->dport = side_port(r, ir, m ? &m->dst : NULL);
	}
	if (pkt->protocol == PAL_PROTO_ICMP || pkt->protocol == PAL_PROTO_ICMPV6) {
		const struct pal_icmp_match *im = NULL;

		if (m && m->has_icmp && m->has_not_icmp)
			im = pal_rand_chance(r, 50) ? &m->icmp : &m->not_icmp;
		else if (m && (m->has_icmp || m->has_not_icmp))
			im = m->has_icmp ? &m->icmp : &m->not_icmp;
		pkt->icmp_type = im && im->has_type && pal_rand_chance(r, 75) ? im->type :
										 PICK(r, icmp_types);
		pkt->icmp_code = im && im->has_code && pal_rand_chance(r, 75) ? im->code :
										 PICK(r, icmp_codes);
	}
	if (pal_rand_chance(r, 30)) {
		pkt->has_dnat = true;
		side_addr(r, ir, m ? &m->dst : NULL, family, &pkt->dnat_dst);
		pkt->dnat_dport = pkt->dport;
		if (pkt->protocol == PAL_PROTO_TCP || pkt->protocol == PAL_PROTO_UDP ||
		    pkt->protocol == PAL_PROTO_SCTP)
			pkt->dnat_dport = side_port(r, ir, m ? &m->dst : NULL);
	}
}

void pal_ir_random_source(struct pal_rand *r, const struct pal_ir_endpoint *wep,
			  struct pal_packet *pkt)
{
	uint32_t pick = pal_rand_below(r, 100);

	if (pick < 60) {
		for (size_t i = 0; i < wep->n_addrs; i++)
			if (wep->addrs[i].family == pkt->src.family)
				pkt->src = wep->addrs[i];
	} else if (pick < 75 && wep->n_spoof_ok) {
		const struct pal_cidr *c = &wep->spoof_ok[pal_rand_below(r, (uint32_t)wep->n_spoof_ok)];

		if (c->addr.family == pkt->src.family)
			addr_near(r, c, &pkt->src);
	} else if (pick < 80) {
		/* the unconfigured sources a workload may always use (stage_walk.c) */
		memset(pkt->src.bytes, 0, 16);
		if (pkt->src.family == PAL_AF_INET6 && pal_rand_chance(r, 50)) {
			pkt->src.bytes[0] = 0xfe;
			pkt->src.bytes[1] = 0x80;
			pkt->src.bytes[15] = 1;
		}
	}
}

void pal_ir_random_failsafe_reply(struct pal_rand *r, const struct pal_ir *ir,
				  struct pal_packet *pkt)
{
	bool in = pal_rand_chance(r, 50);
	const struct pal_failsafe *v = in ? ir->failsafe_in : ir->failsafe_out;
	size_t n = in ? ir->n_failsafe_in : ir->n_failsafe_out;
	const struct pal_failsafe *fs;
	struct pal_addr *remote;
	uint8_t family;

	if (!n)
		return;
	fs = &v[pal_rand_below(r, (uint32_t)n)];
	family = fs->has_net ? fs->net.addr.family : pkt->src.family;
	if (family != pkt->src.family) { /* the other family: new addresses of it */
		random_addr(r, family, &pkt->src);
		random_addr(r, family, &pkt->dst);
		pkt->has_dnat = false;
	}
	pkt->protocol = fs->protocol;
	pkt->icmp_type = pkt->icmp_code = 0;
	pkt->sport = fs->port;
	if (!pkt->dport)
		pkt->dport = 40000;
	if (pkt->has_dnat && !pkt->dnat_dport)
		pkt->dnat_dport = pkt->dport;
	/* the remote end: for a reply of a failsafe-in flow the destination, of a failsafe-out
	 * flow the source; inside the net (or at its edges: addr_near) */
	remote = in ? &pkt->dst : &pkt->src;
	if (fs->has_net)
		addr_near(r, &fs->net, remote);
}

const char *pal_packet_str(const struct pal_packet *pkt, char *buf, size_t len)
{
	char s[PAL_CIDR_STRLEN], d[PAL_CIDR_STRLEN], nd[PAL_CIDR_STRLEN], dnat[96] = "";

	if (pkt->has_dnat)
		snprintf(dnat, sizeof(dnat), " dnat %s:%u", pal_addr_str(&pkt->dnat_dst, nd),
			 pkt->dnat_dport);
	snprintf(buf, len, "proto %u %s:%u -> %s:%u icmp %u/%u%s", pkt->protocol,
		 pal_addr_str(&pkt->src, s), pkt->sport, pal_addr_str(&pkt->dst, d), pkt->dport,
		 pkt->icmp_type, pkt->icmp_code, dnat);
	return buf;
}
