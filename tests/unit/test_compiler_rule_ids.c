/* Stable rule ids (rule_ids.h): with the agent's identity -> id table, a rule keeps its id when
 * an unrelated policy is added, removed or changed, and freed ids are reused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "compiler.h"
#include "model.h"
#include "rule_ids.h"

#define HEP "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                             \
	    "metadata: {name: eth0, labels: {role: ext}}\n"                                       \
	    "spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n---\n"
/* A GNP on eth0 with `order` and two ingress rules. */
#define GNP(name, order)                                                                           \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " name     \
	"}\nspec:\n  order: " order "\n  selector: all()\n"                                      \
	"  ingress: [{action: Log}, {action: Allow, protocol: TCP}]\n---\n"

/* Compiles yaml for node1 (with ids, or without when ids is NULL); returns the ids of policy
 * `name`'s two ingress rules in out[2] and the IR's n_rule_ids. */
static uint32_t compile_ids(const char *yaml, struct pal_rule_ids *ids, const char *name,
			    uint32_t out[2])
{
	struct pal_compile_opts o = { .node = "node1", .rule_ids = ids };
	struct pal_diags d = { 0 };
	struct pal_model m;
	struct pal_ir ir;
	uint32_t n;
	bool found = false;

	pal_model_init(&m);
	pal_model_load_buffer(&m, "test.yaml", yaml, strlen(yaml), &d);
	pal_model_validate(&m, &d);
	cr_assert_eq(d.n_errors, 0);
	cr_assert_eq(pal_compile(&m, &o, &ir, &d), 0);
	cr_assert_eq(ir.n_endpoints, 1);
	const struct pal_ir_tierlist *tl = &ir.endpoints[0].normal[PAL_DIR_INGRESS];
	for (size_t t = 0; t < tl->n_tiers; t++)
		for (size_t p = 0; p < tl->tiers[t].n_policies; p++)
			if (strcmp(tl->tiers[t].policies[p].name, name) == 0) {
				cr_assert_eq(tl->tiers[t].policies[p].n_rules, 2);
				out[0] = tl->tiers[t].policies[p].rules[0].id;
				out[1] = tl->tiers[t].policies[p].rules[1].id;
				found = true;
			}
	cr_assert(found, "policy %s not in eth0's ingress list", name);
	n = ir.n_rule_ids;
	pal_ir_free(&ir);
	pal_model_free(&m);
	pal_diags_free(&d);
	return n;
}

Test(compiler_rule_ids, unrelated_policy_added_first_keeps_ids)
{
	static const char before[] = HEP GNP("b", "20");
	static const char after[] = HEP GNP("a", "10") GNP("b", "20");
	struct pal_rule_ids ids = { 0 };
	uint32_t b1[2], b2[2], plain1[2], plain2[2];

	/* Without the table the new policy, earlier in the list, renumbers b's rules: the case
	 * this test is about. */
	compile_ids(before, NULL, "b", plain1);
	compile_ids(after, NULL, "b", plain2);
	cr_assert(plain1[0] != plain2[0] || plain1[1] != plain2[1]);

	compile_ids(before, &ids, "b", b1);
	compile_ids(after, &ids, "b", b2);
	cr_expect_eq(b1[0], b2[0]);
	cr_expect_eq(b1[1], b2[1]);
	pal_rule_ids_free(&ids);
}

Test(compiler_rule_ids, removed_policy_frees_ids_for_reuse)
{
	static const char both[] = HEP GNP("a", "10") GNP("b", "20");
	static const char only_b[] = HEP GNP("b", "20");
	static const char b_and_c[] = HEP GNP("b", "20") GNP("c", "30");
	struct pal_rule_ids ids = { 0 };
	uint32_t a[2], b1[2], b2[2], b3[2], c[2], n;

	n = compile_ids(both, &ids, "a", a);
	compile_ids(both, &ids, "b", b1);
	compile_ids(only_b, &ids, "b", b2); /* a is gone: its ids are freed */
	cr_expect_eq(b1[0], b2[0]);
	cr_expect_eq(b1[1], b2[1]);
	cr_expect_eq(compile_ids(b_and_c, &ids, "c", c), n, "ids stay compact: c reuses a's");
	compile_ids(b_and_c, &ids, "b", b3);
	cr_expect_eq(b1[0], b3[0]);
	cr_expect_eq(b1[1], b3[1]);
	cr_expect((c[0] == a[0] || c[0] == a[1]) && (c[1] == a[0] || c[1] == a[1]));
	pal_rule_ids_free(&ids);
}

Test(compiler_rule_ids, table_unit)
{
	struct pal_rule_ids t = { 0 };
	uint32_t x, y, z;

	pal_rule_ids_begin(&t);
	cr_assert_eq(pal_rule_ids_get(&t, "x", &x), 0);
	cr_assert_eq(pal_rule_ids_get(&t, "y", &y), 0);
	cr_assert_eq(pal_rule_ids_get(&t, "x", &z), 0);
	cr_expect_eq(x, z);
	cr_expect_neq(x, y);
	cr_assert_eq(pal_rule_ids_end(&t), 0);
	pal_rule_ids_begin(&t);
	cr_assert_eq(pal_rule_ids_get(&t, "y", &z), 0); /* x unused this round */
	cr_expect_eq(z, y);
	cr_assert_eq(pal_rule_ids_end(&t), 0);
	pal_rule_ids_begin(&t);
	cr_assert_eq(pal_rule_ids_get(&t, "w", &z), 0);
	cr_expect_eq(z, x, "a freed id is reused");
	pal_rule_ids_free(&t);
}

Test(compiler_rule_ids, seeded_ids_are_kept_and_holes_reused)
{
	struct pal_rule_ids t = { 0 };
	char a[PAL_RULE_IDENTITY_MAX], b[PAL_RULE_IDENTITY_MAX];
	uint32_t id;

	pal_rule_identity(a, sizeof(a), "policy", "security", NULL, "security.quarantine", "ingress",
			  0);
	pal_rule_identity(b, sizeof(b), "profile", NULL, NULL, "kns.shop", "egress", 0);
	cr_assert_eq(pal_rule_ids_seed(&t, a, 0), 0);
	cr_assert_eq(pal_rule_ids_seed(&t, b, 3), 0);
	cr_assert_eq(pal_rule_ids_seed(&t, a, 7), -EEXIST);
	cr_assert_eq(pal_rule_ids_seed_done(&t), 0);
	pal_rule_ids_begin(&t);
	cr_assert_eq(pal_rule_ids_get(&t, b, &id), 0);
	cr_expect_eq(id, 3, "a seeded identity keeps its id");
	cr_assert_eq(pal_rule_ids_get(&t, "new", &id), 0);
	cr_expect_eq(id, 1, "the lowest id no seed holds");
	cr_assert_eq(pal_rule_ids_get(&t, "newer", &id), 0);
	cr_expect_eq(id, 2);
	cr_assert_eq(pal_rule_ids_get(&t, "newest", &id), 0);
	cr_expect_eq(id, 4);
	cr_assert_eq(pal_rule_ids_end(&t), 0); /* a was not used: 0 is free again */
	pal_rule_ids_begin(&t);
	cr_assert_eq(pal_rule_ids_get(&t, "another", &id), 0);
	cr_expect_eq(id, 0);
	pal_rule_ids_free(&t);
}
