/* Model lifetime: init and free (see model.h). */
#include "model.h"
#include "vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void pal_model_init(struct pal_model *m)
{
	memset(m, 0, sizeof(*m));
}

const char *pal_action_name(enum pal_action a)
{
	switch (a) {
	case PAL_ACTION_ALLOW:
		return "Allow";
	case PAL_ACTION_DENY:
		return "Deny";
	case PAL_ACTION_LOG:
		return "Log";
	case PAL_ACTION_PASS:
		return "Pass";
	}
	return "?";
}

/* NULL-safe, whatever pal_selector_free does with NULL. */
static void sel_free(struct pal_selector *s)
{
	if (s)
		pal_selector_free(s);
}

static void str_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void ports_free(struct pal_port *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

static void entity_clear(struct pal_entity *e)
{
	free(e->nets);
	free(e->not_nets);
	free(e->selector_text);
	sel_free(e->selector);
	free(e->not_selector_text);
	sel_free(e->not_selector);
	free(e->namespace_selector_text);
	sel_free(e->namespace_selector);
	ports_free(e->ports, e->n_ports);
	ports_free(e->not_ports, e->n_not_ports);
	str_list_free(e->service_accounts.names, e->service_accounts.n_names);
	free(e->service_accounts.selector_text);
	sel_free(e->service_accounts.selector);
	free(e->service_name);
	free(e->service_namespace);
	memset(e, 0, sizeof(*e));
}

void pal_rule_clear(struct pal_rule *r)
{
	entity_clear(&r->src);
	entity_clear(&r->dst);
	pal_labels_free(&r->annotations);
	memset(r, 0, sizeof(*r));
}

void pal_rules_clear(struct pal_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		pal_rule_clear(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void pal_policy_clear(struct pal_policy *p)
{
	free(p->name);
	free(p->namespace);
	free(p->tier);
	free(p->selector_text);
	sel_free(p->selector);
	free(p->namespace_selector_text);
	sel_free(p->namespace_selector);
	free(p->service_account_selector_text);
	sel_free(p->service_account_selector);
	pal_rules_clear(&p->ingress);
	pal_rules_clear(&p->egress);
	memset(p, 0, sizeof(*p));
}

const struct pal_builtin_tier pal_builtin_tiers[] = {
	{ PAL_DEFAULT_TIER, PAL_DEFAULT_TIER_ORDER, PAL_ACTION_DENY, false },
	{ "adminnetworkpolicy", 1000.0, PAL_ACTION_PASS, false },
	{ "baselineadminnetworkpolicy", 10000000.0, PAL_ACTION_PASS, false },
	{ "kube-admin", 1000.0, PAL_ACTION_PASS, true },
	{ "kube-baseline", 10000000.0, PAL_ACTION_PASS, true },
};
const size_t pal_n_builtin_tiers = sizeof(pal_builtin_tiers) / sizeof(pal_builtin_tiers[0]);

const struct pal_builtin_tier *pal_builtin_tier(const char *name)
{
	for (size_t i = 0; i < pal_n_builtin_tiers; i++)
		if (strcmp(pal_builtin_tiers[i].name, name) == 0)
			return &pal_builtin_tiers[i];
	return NULL;
}

void pal_tier_clear(struct pal_tier *t)
{
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static void endpoint_ports_free(struct pal_endpoint_port *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

void pal_host_endpoint_clear(struct pal_host_endpoint *h)
{
	free(h->name);
	pal_labels_free(&h->labels);
	free(h->node);
	free(h->interface_name);
	free(h->expected_ips);
	str_list_free(h->profiles, h->n_profiles);
	endpoint_ports_free(h->ports, h->n_ports);
	memset(h, 0, sizeof(*h));
}

void pal_workload_endpoint_clear(struct pal_workload_endpoint *w)
{
	free(w->name);
	free(w->namespace);
	pal_labels_free(&w->labels);
	free(w->node);
	free(w->orchestrator);
	free(w->workload);
	free(w->pod);
	free(w->endpoint);
	free(w->container_id);
	free(w->service_account);
	free(w->interface_name);
	free(w->ip_networks);
	free(w->allow_spoofed);
	str_list_free(w->profiles, w->n_profiles);
	endpoint_ports_free(w->ports, w->n_ports);
	memset(w, 0, sizeof(*w));
}

void pal_profile_clear(struct pal_profile *p)
{
	free(p->name);
	pal_labels_free(&p->labels);
	pal_labels_free(&p->labels_to_apply);
	pal_rules_clear(&p->ingress);
	pal_rules_clear(&p->egress);
	memset(p, 0, sizeof(*p));
}

void pal_network_set_clear(struct pal_network_set *s)
{
	free(s->name);
	free(s->namespace);
	pal_labels_free(&s->labels);
	free(s->nets);
	memset(s, 0, sizeof(*s));
}

void pal_namespace_clear(struct pal_namespace *n)
{
	free(n->name);
	pal_labels_free(&n->labels);
	memset(n, 0, sizeof(*n));
}

void pal_service_clear(struct pal_service *s)
{
	free(s->name);
	free(s->namespace);
	memset(s, 0, sizeof(*s));
}

void pal_endpoint_slice_clear(struct pal_endpoint_slice *s)
{
	free(s->name);
	free(s->namespace);
	free(s->service_name);
	free(s->addrs);
	free(s->ports);
	memset(s, 0, sizeof(*s));
}

/* Appends n items of size sz to the array *v of *len items (capacity *cap). 0 or -ENOMEM. */
static int append_items(void **v, size_t *len, size_t *cap, const void *items, size_t n, size_t sz)
{
	if (!n)
		return 0;
	if (vec_grow(v, cap, *len + n, sz))
		return -ENOMEM;
	memcpy((char *)*v + *len * sz, items, n * sz);
	*len += n;
	return 0;
}

int pal_model_borrow(struct pal_model *dst, const struct pal_model *src)
{
	int err = 0;

	dst->borrowed = true;
#define BORROW(field, clear)                                                                  \
	if (!err)                                                                             \
		err = append_items((void **)&dst->field.v, &dst->field.n, &dst->field.cap,     \
				   src->field.v, src->field.n, sizeof(*src->field.v));
	PAL_MODEL_RESOURCES(BORROW)
#undef BORROW
	return err;
}

/* Shrinks the array *v of len items (capacity *cap) to len; keeps it when realloc fails. */
static void shrink_items(void **v, size_t len, size_t *cap, size_t sz)
{
	void *p;

	if (len == *cap)
		return;
	if (!len) {
		free(*v);
		*v = NULL;
		*cap = 0;
		return;
	}
	if ((p = realloc(*v, len * sz))) {
		*v = p;
		*cap = len;
	}
}

#define SHRINK(field) shrink_items((void **)&m->field.v, m->field.n, &m->field.cap, sizeof(*m->field.v))

/* A rule list has no capacity field: the decoder grows it by doubling from 4 (a Kubernetes
 * NetworkPolicy's one rule held room for four, 1.7 KiB). */
static void shrink_rules(struct pal_rules *r)
{
	size_t cap = r->n + 1; /* anything above n: shrink_items reallocs to n */

	shrink_items((void **)&r->v, r->n, &cap, sizeof(*r->v));
}

/* Label sets grow from room for 8. */
static void shrink_labels(struct pal_labels *l)
{
	shrink_items((void **)&l->v, l->n, &l->cap, sizeof(*l->v));
}

void pal_model_shrink(struct pal_model *m)
{
	for (size_t i = 0; i < m->workload_endpoints.n; i++)
		shrink_labels(&m->workload_endpoints.v[i].labels);
	for (size_t i = 0; i < m->host_endpoints.n; i++)
		shrink_labels(&m->host_endpoints.v[i].labels);
	for (size_t i = 0; i < m->namespaces.n; i++)
		shrink_labels(&m->namespaces.v[i].labels);
	for (size_t i = 0; i < m->network_sets.n; i++)
		shrink_labels(&m->network_sets.v[i].labels);
	for (size_t i = 0; i < m->policies.n; i++) {
		shrink_rules(&m->policies.v[i].ingress);
		shrink_rules(&m->policies.v[i].egress);
	}
	for (size_t i = 0; i < m->profiles.n; i++) {
		shrink_labels(&m->profiles.v[i].labels);
		shrink_labels(&m->profiles.v[i].labels_to_apply);
		shrink_rules(&m->profiles.v[i].ingress);
		shrink_rules(&m->profiles.v[i].egress);
	}
#define SHRINK_RESOURCES(field, clear) SHRINK(field);
	PAL_MODEL_RESOURCES(SHRINK_RESOURCES)
#undef SHRINK_RESOURCES
	SHRINK(files);
}

/* A borrowing model owns only its arrays. */
static void free_borrowed(struct pal_model *m)
{
#define FREE_ARRAY(field, clear) free(m->field.v);
	PAL_MODEL_RESOURCES(FREE_ARRAY)
#undef FREE_ARRAY
	free(m->files.v);
	memset(m, 0, sizeof(*m));
}

void pal_model_free(struct pal_model *m)
{
	if (m->borrowed) {
		free_borrowed(m);
		return;
	}
#define CLEAR_AND_FREE(field, clear)            \
	for (size_t i = 0; i < m->field.n; i++) \
		clear(&m->field.v[i]);          \
	free(m->field.v);
	PAL_MODEL_RESOURCES(CLEAR_AND_FREE)
#undef CLEAR_AND_FREE
	for (size_t i = 0; i < m->files.n; i++)
		free(m->files.v[i]);
	free(m->files.v);
	memset(m, 0, sizeof(*m));
}
