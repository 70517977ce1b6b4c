/* The policy pipeline: policy directories -> model -> validation -> IR -> backend.
 *
 * A reload either replaces the policy in force with a new generation or changes nothing: on any
 * load, validation, compile or apply error the errors are logged (one line per diagnostic, with
 * file, line, column and field path), the last good IR and generation stay in force, and the
 * state is "degraded" until a later reload succeeds.
 */
#ifndef PALD_POLICY_SOURCE_H
#define PALD_POLICY_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "cfg.h"
#include "ir.h"
#include "match_cache.h"
#include "metrics.h"
#include "model.h"

struct pald_policy {
	struct pal_ir ir;    /* the last good policy; meaningful when have_ir */
	bool have_ir;        /* this process applied a policy */
	uint64_t generation; /* in force: the last applied, or the one adopted from the pins; 0 = none */
	bool degraded;       /* the last reload failed */
	size_t n_errors;     /* errors of the last reload */
	char first_error[512];
	/* Where resources come from: NULL = the policy directories of the config; else this
	 * loader (the Kubernetes datastore) fills the model; with load_validates its -ENOMEM
	 * means the validation did not finish (the model is not compiled). */
	int (*load)(void *ctx, struct pal_model *m, struct pal_diags *diags);
	/* With load: the compiler rejected the model; may the loader set aside the objects these
	 * errors name and load again? True when it did (the reload then starts over, up to
	 * PALD_MAX_LOAD_RETRIES times). NULL: never. */
	bool (*set_aside)(void *ctx, const struct pal_diags *diags);
	void *load_ctx;
	bool load_validates; /* load's model comes validated (pal_model_validate): not again */
	struct pal_rule_ids rule_ids; /* stable rule ids from one compile to the next */
	/* Selector results from one compile to the next (match_cache.h): used only when load set
	 * have_match_key (reset before every load) with the key of the candidate inputs. */
	struct pal_match_cache match_cache;
	uint8_t match_key[PAL_MATCH_CACHE_KEY_LEN];
	bool have_match_key;
};

enum pald_reload_result { PALD_RELOAD_APPLIED = 0, PALD_RELOAD_POLICY_ERRORS = 1 };

/* Returns PALD_RELOAD_APPLIED, PALD_RELOAD_POLICY_ERRORS (bad input, nothing changed), or -errno
 * when the backend failed (nothing changed either). Updates m. */
int pald_policy_reload(struct pald_policy *p, const struct pald_config *cfg,
		       struct pald_backend *be, struct pald_metrics *m);
/* adopted_generation: what the datapath found pinned (backend op adopted_generation), so
 * numbering continues across restarts; 0 when starting fresh. */
void pald_policy_init(struct pald_policy *p, uint64_t adopted_generation);
void pald_policy_free(struct pald_policy *p);

#endif
