/* Rule selectors' results kept from one compile to the next (the agent's; polctl and the tests
 * compile without one).
 *
 * A selector set (the addresses of the candidates a rule's selector, scope and service accounts
 * match) and a named-port set depend on nothing but their origin string and the candidates: every
 * endpoint (all nodes), network set, namespace and profile of the model. Policies and tiers play
 * no part. So a compile whose caller can vouch that the candidate inputs are exactly those of the
 * previous compile reuses the previous results instead of matching every selector against
 * thousands of pods again.
 *
 * Invalidation rule: the caller passes a key that identifies the candidate inputs (the Kubernetes
 * datastore: a SHA-256 over every non-policy object's id and document digest); a compile with a
 * different key, or with none, empties the cache first. Entries no compile used are dropped at the
 * end of each compile, so the cache holds only what the policy in force asks for.
 */
#ifndef PALISADE_MATCH_CACHE_H
#define PALISADE_MATCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAL_MATCH_CACHE_KEY_LEN 32

/* origin string -> a sorted, unique array of elem_size elements. */
struct pal_memo {
	struct pal_memo_entry *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
	size_t n_slots;
};

struct pal_match_cache {
	uint8_t key[PAL_MATCH_CACHE_KEY_LEN];
	bool keyed;                 /* key holds the candidate inputs of the entries */
	struct pal_memo sets;       /* selector sets: struct pal_cidr */
	struct pal_memo port_sets;  /* named-port sets: struct pal_ir_named_port */
	uint64_t hits, misses;      /* since the agent started (tests read them) */
};

/* Starts a compile: key (PAL_MATCH_CACHE_KEY_LEN bytes) identifies its candidate inputs; NULL
 * when the caller cannot tell (every entry goes, nothing is kept). */
void pal_match_cache_begin(struct pal_match_cache *c, const uint8_t *key);
/* A copy of origin's result: 1 (*v malloc'd, NULL when n is 0), 0 when absent, -ENOMEM. */
int pal_match_cache_get(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, void **v, size_t *n);
/* Keeps a copy of origin's result (v sorted and unique). 0 or -ENOMEM (nothing kept). */
int pal_match_cache_put(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			const void *v, size_t n, size_t elem_size);
/* A compile succeeded: drops the entries it did not ask for. */
void pal_match_cache_end(struct pal_match_cache *c);
void pal_match_cache_free(struct pal_match_cache *c);

#endif
