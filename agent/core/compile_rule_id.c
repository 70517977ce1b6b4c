/* The id a compiled rule gets (compile_internal.h pal_cc_rule_id). Its own file: the endpoint
 * loop (compiler.c) and the tier lists (compile_tiers.c) both number rules, and compiler.c calls
 * into compile_tiers.c, which must not call back. */
#include "compile_internal.h"

int pal_cc_rule_id(struct pal_cc *cc, const char *kind, const char *tier, const char *ns,
		   const char *name, enum pal_dir dir, uint32_t index, uint32_t *id)
{
	struct pal_rule_ids *t = cc->opts ? cc->opts->rule_ids : NULL;
	char identity[PAL_RULE_IDENTITY_MAX];
	int err;

	if (!t) {
		*id = cc->next_rule_id++;
		return 0;
	}
	pal_rule_identity(identity, sizeof(identity), kind, tier, ns, name, pal_dir_name(dir), index);
	err = pal_rule_ids_get(t, identity, id);
	if (!err && *id >= cc->next_rule_id)
		cc->next_rule_id = *id + 1;
	return err;
}
