/* Helpers shared by test_compiler*.c and test_evaluator*.c (no tests here). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "test_compiler_util.h"

static void parse_failsafe(const char *text, struct pal_failsafe **v, size_t *n)
{
	char err[200] = "";

	*v = NULL;
	*n = 0;
	if (!text)
		return;
	cr_assert_eq(pal_failsafe_parse(text, v, n, err, sizeof(err)), 0, "failsafe %s: %s", text,
		     err);
}

static void finish(struct ctest *t, const char *fs_in, const char *fs_out,
		   enum pal_endpoint_to_host_action eth)
{
	struct pal_compile_opts o = { .node = CT_NODE, .endpoint_to_host = eth };

	if (t->d.n_errors) {
		pal_diags_print(stderr, &t->d);
		cr_assert_fail("fixture did not load cleanly");
	}
	pal_model_validate(&t->m, &t->d);
	if (t->d.n_errors) {
		pal_diags_print(stderr, &t->d);
		cr_assert_fail("fixture did not validate");
	}
	parse_failsafe(fs_in, &t->fs_in, &t->n_fs_in);
	parse_failsafe(fs_out, &t->fs_out, &t->n_fs_out);
	o.failsafe_in = t->fs_in;
	o.n_failsafe_in = t->n_fs_in;
	o.failsafe_out = t->fs_out;
	o.n_failsafe_out = t->n_fs_out;
	t->rc = pal_compile(&t->m, &o, &t->ir, &t->d);
}

void ct_compile_ex(struct ctest *t, const char *yaml, const char *fs_in, const char *fs_out,
		   enum pal_endpoint_to_host_action eth)
{
	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	pal_model_load_buffer(&t->m, "test.yaml", yaml, strlen(yaml), &t->d);
	finish(t, fs_in, fs_out, eth);
}

void ct_compile(struct ctest *t, const char *yaml)
{
	ct_compile_ex(t, yaml, NULL, NULL, PAL_EP_TO_HOST_DROP);
}

void ct_compile_ok(struct ctest *t, const char *yaml)
{
	ct_compile(t, yaml);
	if (t->rc) {
		pal_diags_print(stderr, &t->d);
		cr_assert_fail("compile failed: %d", t->rc);
	}
}

void ct_compile_dir(struct ctest *t, const char *dir, const char *fs_in, const char *fs_out,
		    enum pal_endpoint_to_host_action eth)
{
	char path[256];

	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	snprintf(path, sizeof(path), "fixtures/compiler/%s", dir);
	cr_assert_eq(pal_model_load_dir(&t->m, path, &t->d), 0, "loading %s", path);
	finish(t, fs_in, fs_out, eth);
}

void ct_compile_dir_yaml(struct ctest *t, const char *dir, const char *yaml)
{
	char path[256];

	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	snprintf(path, sizeof(path), "fixtures/compiler/%s", dir);
	cr_assert_eq(pal_model_load_dir(&t->m, path, &t->d), 0, "loading %s", path);
	pal_model_load_buffer(&t->m, "test.yaml", yaml, strlen(yaml), &t->d);
	finish(t, NULL, NULL, PAL_EP_TO_HOST_DROP);
}

void ct_load(struct ctest *t, const char *file, const char *yaml)
{
	memset(t, 0, sizeof(*t));
	pal_model_init(&t->m);
	pal_model_load_buffer(&t->m, file, yaml, strlen(yaml), &t->d);
	cr_assert_eq(t->d.n_errors, 0, "%s did not load cleanly", file);
}

int ct_compile_loaded(struct ctest *t)
{
	struct pal_compile_opts o = { .node = CT_NODE };

	t->rc = pal_compile(&t->m, &o, &t->ir, &t->d);
	return t->rc;
}

void ct_free(struct ctest *t)
{
	pal_ir_free(&t->ir);
	pal_model_free(&t->m);
	pal_diags_free(&t->d);
	free(t->fs_in);
	free(t->fs_out);
	memset(t, 0, sizeof(*t));
}

bool ct_has_diag(const struct pal_diags *d, enum pal_severity sev, const char *needle1,
		 const char *needle2)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct pal_diag *g = &d->v[i];
		char all[1024];

		snprintf(all, sizeof(all), "%s [at %s]", g->message ? g->message : "",
			 g->path ? g->path : "");
		if (g->severity == sev && (!needle1 || strstr(all, needle1)) &&
		    (!needle2 || strstr(all, needle2)))
			return true;
	}
	return false;
}

static struct pal_addr addr(const char *s)
{
	struct pal_addr a;

	cr_assert(pal_addr_parse(s, &a), "bad address %s", s);
	return a;
}

struct pal_packet ct_pkt(uint8_t proto, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport)
{
	struct pal_packet p = { .protocol = proto, .sport = sport, .dport = dport };

	p.src = addr(src);
	p.dst = addr(dst);
	return p;
}

struct pal_packet ct_icmp(const char *src, const char *dst, uint8_t type, uint8_t code)
{
	struct pal_packet p = { .icmp_type = type, .icmp_code = code };

	p.src = addr(src);
	p.dst = addr(dst);
	p.protocol = p.src.family == PAL_AF_INET6 ? PAL_PROTO_ICMPV6 : PAL_PROTO_ICMP;
	return p;
}

void ct_dnat(struct pal_packet *p, const char *dst, uint16_t dport)
{
	p->has_dnat = true;
	p->dnat_dst = addr(dst);
	p->dnat_dport = dport;
}

static void print_verdict(const struct pal_verdict *v)
{
	fprintf(stderr, "verdict %s stage %s tier %s policy %s rule %d: %s\n",
		v->allow ? "allow" : "deny", pal_stage_name(v->stage), v->tier ? v->tier : "-",
		v->policy ? v->policy : "-", v->rule, v->reason);
	for (size_t i = 0; i < v->n_steps; i++)
		fprintf(stderr, "  %-9s %-8s %-7s %-5s %s/%s/%d %s\n",
			pal_stage_name(v->steps[i].stage),
			v->steps[i].endpoint ? v->steps[i].endpoint : "-",
			pal_dir_name(v->steps[i].dir), pal_action_name(v->steps[i].outcome),
			v->steps[i].tier ? v->steps[i].tier : "-",
			v->steps[i].policy ? v->steps[i].policy : "-", v->steps[i].rule,
			v->steps[i].note);
}

struct pal_verdict ct_eval(const struct ctest *t, enum pal_trace_dir dir, const char *in,
			   const char *out, const struct pal_packet *p)
{
	struct pal_verdict v;

	cr_assert_eq(t->rc, 0, "compile failed");
	cr_assert_eq(pal_evaluate(&t->ir, dir, in, out, p, &v), 0);
	return v;
}

void ct_expect(const struct pal_verdict *v, bool allow, enum pal_stage stage, const char *policy,
	       int rule)
{
	bool ok = v->allow == allow && v->stage == stage &&
		  (!policy || (v->policy && strcmp(v->policy, policy) == 0)) &&
		  (rule == -2 || v->rule == rule);

	if (!ok) {
		print_verdict(v);
		cr_assert_fail("expected %s at stage %s by %s rule %d", allow ? "allow" : "deny",
			       pal_stage_name(stage), policy ? policy : "(any)", rule);
	}
}

struct pal_verdict ct_eval_expect(const struct ctest *t, enum pal_trace_dir dir, const char *in,
				  const char *out, const struct pal_packet *p, bool allow,
				  enum pal_stage stage, const char *policy, int rule)
{
	struct pal_verdict v = ct_eval(t, dir, in, out, p);

	ct_expect(&v, allow, stage, policy, rule);
	return v;
}

const struct pal_ir_endpoint *ct_ep(const struct pal_ir *ir, const char *name)
{
	for (size_t i = 0; i < ir->n_endpoints; i++)
		if (strcmp(ir->endpoints[i].name, name) == 0)
			return &ir->endpoints[i];
	cr_assert_fail("no endpoint %s in the IR", name);
	return NULL;
}

void ct_tierlist_str(const struct pal_ir_tierlist *tl, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t t = 0; t < tl->n_tiers; t++)
		for (size_t p = 0; p < tl->tiers[t].n_policies && off < len; p++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s/%s", off ? " " : "",
						tl->tiers[t].name, tl->tiers[t].policies[p].name);
}

void ct_expect_tierlist(const struct pal_ir_tierlist *tl, const char *want)
{
	char buf[1024];

	ct_tierlist_str(tl, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}
