/* Rule selectors' results kept from one compile to the next (the agent's; polctl and the tests
 * compile without one).
 *
 * A selector set (the addresses of the candidates a rule's selector, scope and service accounts
 * match) and a named-port set depend on nothing but their origin string and the candidates: every
 * endpoint (all nodes), network set, namespace and profile of the model. Policies and tiers play
 * no part. So a compile reuses the previous results instead of matching every selector against
 * thousands of pods again, and when candidates changed it matches only those again.
 *
 * How an entry stays exact: it keeps, besides its result, its members (each candidate that
 * matched and gave elements, by ident, with the elements it gave). The cache keeps every
 * candidate's ident and digest as of its entries (`cands`). A compile whose candidates may differ
 * hands the cache its candidates' idents and digests first (pal_match_cache_diff); the cache
 * answers with the candidates that were added, removed or whose digest changed. An entry the
 * compile then asks for drops those members and asks the compile about each changed candidate
 * still there (pal_match_contrib_fn: matched again with the entry's own selector), so its result
 * equals a full match over every candidate, as long as the digest covers everything a selector
 * reads of a candidate (compile_cand_digest.c).
 *
 * Invalidation rules:
 *   - key (the Kubernetes datastore: a SHA-256 over every non-policy object's id and document
 *     digest) equal to the previous compile's: the candidates are the same, no diff is needed.
 *     Another key: the compile diffs before its first get or put.
 *   - No key (NULL): every entry goes, nothing is kept.
 *   - A compile that began and did not end (it failed): the next begin empties the cache (some of
 *     its entries may have been brought up to candidates that did not stay).
 *   - Two candidates of one compile with one ident: nothing is reused or kept in that compile.
 *   - Entries no compile used are dropped at the end of each compile, so the cache holds only
 *     what the policy in force asks for, and never an entry older than the last diff.
 */
#ifndef PALISADE_MATCH_CACHE_H
#define PALISADE_MATCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAL_MATCH_CACHE_KEY_LEN 32
#define PAL_MATCH_DIGEST_LEN 16 /* a truncated SHA-256: collisions stay out of reach */
#define PAL_MATCH_GONE UINT32_MAX

/* origin string -> a sorted, unique array of elem_size elements, with its members. */
struct pal_memo {
	struct pal_memo_entry *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
	size_t n_slots;
};

/* A candidate as the compile sees it: ident names it (kind, namespace, name), digest covers
 * everything a selector reads of it, ref is the caller's handle. */
struct pal_match_cand {
	uint64_t ident;
	uint8_t digest[PAL_MATCH_DIGEST_LEN];
	uint32_t ref;
};

/* A candidate added, removed (ref PAL_MATCH_GONE) or changed since the entries' candidates. */
struct pal_match_change {
	uint64_t ident;
	uint32_t ref; /* the caller's ref from pal_match_cache_diff; the caller may replace it */
};

/* One member of a result: a candidate that matched, and how many of the elements it gave. */
struct pal_match_member {
	uint64_t ident;
	uint32_t n;
};

struct pal_match_cache {
	uint8_t key[PAL_MATCH_CACHE_KEY_LEN];
	bool keyed;                 /* key holds the candidate inputs of the entries */
	struct pal_memo sets;       /* selector sets: struct pal_cidr */
	struct pal_memo port_sets;  /* named-port sets: struct pal_ir_named_port */
	/* The candidates the entries were matched against, sorted by ident (no ident twice). */
	struct pal_match_cand *cands;
	size_t n_cands;
	bool have_cands;
	/* This compile: */
	bool open;      /* began, not ended yet */
	bool need_diff; /* candidates may differ from cands: pal_match_cache_diff before get/put */
	bool off;       /* an ident twice: nothing reused, nothing kept */
	struct pal_match_change *changed; /* sorted by ident */
	size_t n_changed;
	uint32_t epoch; /* entries matched against this compile's candidates carry it */
	uint64_t hits, misses;      /* since the agent started (tests read them) */
	uint64_t rematched;         /* changed candidates matched again against an entry */
};

/* Starts a compile: key (PAL_MATCH_CACHE_KEY_LEN bytes) identifies its candidate inputs; NULL
 * when the caller cannot tell (every entry goes, nothing is kept). */
void pal_match_cache_begin(struct pal_match_cache *c, const uint8_t *key);
/* True when the compile must call pal_match_cache_diff before its first get or put. */
bool pal_match_cache_needs_diff(const struct pal_match_cache *c);
/* The compile's candidates (cur, n; reordered): *changed gets the candidates added, removed or
 * changed since the entries' ones (valid until the compile ends; their refs are cur's and may be
 * replaced by the caller). 0, or -ENOMEM (the cache is then emptied and off for this compile). */
int pal_match_cache_diff(struct pal_match_cache *c, struct pal_match_cand *cur, size_t n,
			 struct pal_match_change **changed, size_t *n_changed);
/* The elements candidate ref gives an entry (*n 0: it does not match), or -ENOMEM. *elems stays
 * valid until the next call. */
typedef int (*pal_match_contrib_fn)(void *ctx, uint32_t ref, const void **elems, size_t *n);
/* A copy of origin's result: 1 (*v malloc'd, NULL when n is 0), 0 when absent, -ENOMEM. An entry
 * from before this compile's changes is first brought up to date with contrib and cmp (the
 * elements' order). */
int pal_match_cache_get(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, int (*cmp)(const void *, const void *),
			pal_match_contrib_fn contrib, void *ctx, void **v, size_t *n);
/* Keeps origin's result: members (n_members, in any order) gave contrib's elements in that order
 * (n_contrib, their sum); the result is contrib sorted by cmp and unique. 0 or -ENOMEM (nothing
 * kept). */
int pal_match_cache_put(struct pal_match_cache *c, struct pal_memo *m, const char *origin,
			size_t elem_size, int (*cmp)(const void *, const void *),
			const struct pal_match_member *members, size_t n_members, const void *contrib,
			size_t n_contrib);
/* A compile succeeded: drops the entries it did not ask for. */
void pal_match_cache_end(struct pal_match_cache *c);
void pal_match_cache_free(struct pal_match_cache *c);

#endif
