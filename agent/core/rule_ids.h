/* Stable rule ids: an identity -> id table kept from one compile to the next.
 *
 * The datapath counts hits per rule id (pal_rule_ctrs). Numbered afresh on every compile, an
 * unrelated policy change would renumber other rules and move their counters. With a table,
 * a rule keeps its id as long as its identity exists — kind, tier, namespace, policy (or
 * profile), direction, rule index — and the datapath keeps its counter. The ids of identities
 * gone from a compile are freed and reused for new ones (the backend resets a reused id's
 * counter: it compares the rule metadata of the old and the new generation).
 *
 * Used by the agent (compile opts rule_ids); polctl and the tests compile without one, which
 * numbers ids 0..n-1 in endpoint order. A restarted agent seeds the table from the pinned
 * reporting metadata (the previous agent's ids), so ids survive restarts too. Pure: libc only.
 */
#ifndef PALISADE_RULE_IDS_H
#define PALISADE_RULE_IDS_H

#include <stddef.h>
#include <stdint.h>

struct pal_rule_id_entry {
	char *identity;
	uint32_t id;
	uint64_t round; /* the compile that last used it */
};

struct pal_rule_ids {
	struct pal_rule_id_entry *v; /* sorted by identity */
	size_t n, cap;
	uint32_t *free_ids; /* freed ids, reused first (lowest last: popped from the end) */
	size_t n_free;
	uint32_t next; /* ids below are in use or free */
	uint64_t round;
};

/* A rule's identity, what keeps its id: kind ("policy" or "profile"), tier and namespace (NULL
 * when none), the policy's or profile's name, direction ("ingress", "egress"), rule index. */
#define PAL_RULE_IDENTITY_MAX 1024
void pal_rule_identity(char *buf, size_t len, const char *kind, const char *tier, const char *ns,
		       const char *name, const char *dir, uint32_t index);

/* Restart, before the first compile: the id a previous agent gave identity (ids are unique in
 * what it wrote). 0; -EEXIST when the identity is seeded already (skipped); -ENOMEM. */
int pal_rule_ids_seed(struct pal_rule_ids *t, const char *identity, uint32_t id);
/* After the last seed: the ids below the highest seeded one that no identity holds are free. 0
 * or -ENOMEM. */
int pal_rule_ids_seed_done(struct pal_rule_ids *t);

/* A compile starts: ids asked for from now on are this round's. */
void pal_rule_ids_begin(struct pal_rule_ids *t);
/* The id of identity (a new one when unknown). 0 or -ENOMEM. */
int pal_rule_ids_get(struct pal_rule_ids *t, const char *identity, uint32_t *id);
/* The compile succeeded: identities it did not use are dropped and their ids freed. 0 or
 * -ENOMEM (nothing changed then). */
int pal_rule_ids_end(struct pal_rule_ids *t);
void pal_rule_ids_free(struct pal_rule_ids *t);

#endif
