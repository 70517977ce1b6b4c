/* Shared between the flattener's files (flatten.c builds entries, flatten_fields.c computes the
 * per-field classes and bitmaps). Not part of the loader's contract: that is flatten.h. */
#ifndef PALISADE_FLATTEN_INTERNAL_H
#define PALISADE_FLATTEN_INTERNAL_H

#include "flatten.h"

/* Library symbols: the short names below are for this code only; every program that links the
 * core library shares one namespace of globals, so the library exports them prefixed. */
#define fl_addr_constrained pal_fl_addr_constrained
#define fl_addr_field       pal_fl_addr_field
#define fl_bits_put         pal_fl_bits_put
#define fl_classes_intern   pal_fl_classes_intern
#define fl_compute_fields   pal_fl_compute_fields
#define fl_key_field        pal_fl_key_field
#define fl_range_constraint pal_fl_range_constraint
#define fl_range_field      pal_fl_range_field
#define fl_side_of          pal_fl_side_of
#define fl_sort             pal_fl_sort
#define fl_work_finish      pal_fl_work_finish
#define fl_work_free        pal_fl_work_free
#define fl_work_init        pal_fl_work_init

/* Semantics that must agree with the reference evaluator (pal_ir_rule_matches):
 * - a packet without ports (not TCP/UDP/SCTP) never matches a side with notPorts numeric ranges
 *   (it does match one with only not-named-ports: it is in no excluded (addr, proto, port));
 * - a non-ICMP packet matches a rule with only notICMP (it is not the excluded type/code). */
#define FL_NOT_PORTS_MATCH_PORTLESS false
#define FL_NOT_ICMP_MATCHES_NON_ICMP true

enum fl_port_kind { FL_PORTS_ANY, FL_PORTS_RANGES, FL_PORTS_EXACT };

/* One side's constraint of one entry. */
struct fl_side {
	const struct pal_ir_side *ir; /* in_sets / not_in_sets; NULL = no address sets */
	bool has_exact;               /* named-port tuple: the address must be exactly this */
	struct pal_addr exact;
	enum fl_port_kind ports;
	const struct pal_port_range *ranges; /* FL_PORTS_RANGES */
	size_t n_ranges;
	uint16_t exact_port;                      /* FL_PORTS_EXACT */
	const struct pal_port_range *not_ranges; /* port must be in none */
	size_t n_not_ranges;
};

/* The constraint of one entry: the AND of independent per-field constraints. */
struct fl_cons {
	bool wildcard; /* END_OF_TIER / DEFAULT_DENY: matches everything */
	uint8_t families;
	PAL_L4_MATCH_MEMBERS;
	bool has_exact_proto; /* from named-port tuples */
	uint8_t exact_proto;
	struct fl_side src, dst;
};

/* The flattener's working state handed to the field computations. */
struct fl_ctx {
	const struct pal_ir *ir;
	struct pal_cls_tables *t;
	const struct fl_cons *cons; /* t->n_entries */
	uint64_t *anchor_mask[PAL_CLS_N_FIELDS]; /* per field, n_words: entries anchored there */
};

/* flatten_fields.c: fills t->bm[*], t->addr, t->proto_class, t->sport/dport/icmp, anchors. */
int fl_compute_fields(struct fl_ctx *c);

/* ---- flatten_classes.c ---- */

/* The satisfied-entry set of the current key region: dense, with its non-zero words listed. */
struct fl_bits {
	uint64_t *w;
	uint32_t *nz;     /* indexes of non-zero words, unordered */
	uint32_t *nz_pos; /* position of word j in nz, or UINT32_MAX */
	uint32_t n_nz;
};

/* Interned classes of one field: class c's override words are [start[c], start[c + 1]). */
struct fl_classes {
	const uint64_t *base;
	uint32_t n;
	uint32_t *start; /* n + 1 */
	uint32_t *ow;
	uint64_t *ob;
	size_t n_ovr;
	uint64_t *hash;  /* per class */
	size_t cap_start, cap_hash, cap_ow, cap_ob; /* vec.h: each array grows on its own */
	uint32_t *tab;   /* open addressing: class id + 1, 0 = empty */
	size_t tab_cap;
};

/* Working state of one field: base (unconstrained entries), spec, classes. */
struct fl_field_work {
	struct fl_ctx *ctx;
	enum pal_cls_field f;
	struct fl_bits spec;
	struct fl_classes cls;
	uint64_t *base;
};

/* An entry's constraint on a range field, besides its ranges. */
struct fl_range_cons {
	bool constrained, none_ok, has_pos;
};

/* qsort that accepts n == 0 with a NULL base. */
void fl_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void fl_bits_put(struct fl_bits *b, uint32_t i, bool v);
/* Interns the class whose bitmap is base | spec (sorts spec's word list); *id is its class id. */
int fl_classes_intern(struct fl_classes *c, struct fl_bits *spec, uint32_t *id);
int fl_work_init(struct fl_field_work *w, struct fl_ctx *ctx, enum pal_cls_field f);
/* Moves the classes into t->bm[w->f] (with summaries and anchor summaries). */
int fl_work_finish(struct fl_field_work *w);
void fl_work_free(struct fl_field_work *w);

/* ---- flatten_addr.c ---- */

const struct fl_side *fl_side_of(const struct fl_cons *c, int side); /* 0 src, 1 dst */
bool fl_addr_constrained(const struct fl_cons *c, int side);
int fl_addr_field(struct fl_ctx *ctx, int side);

/* ---- flatten_ranges.c ---- */

struct fl_rng_vec;
/* Describes entry e's constraint on range field f (SPORT, DPORT, ICMP, PROTO) in *rc and appends
 * its ranges to rv (when rv is not NULL). */
int fl_range_constraint(const struct fl_cons *c, enum pal_cls_field f, uint32_t e,
			struct fl_range_cons *rc, struct fl_rng_vec *rv);
/* Sweeps range field f over keys 0 .. domain - 1: merged ranges -> classes into *out (a growing
 * pal_cls_range array, may be NULL), the NONE key's class into *none_class (may be NULL), and the
 * class of every key into proto_out[key] (may be NULL). */
struct fl_range_vec {
	struct pal_cls_range *v;
	size_t n, cap;
};
int fl_range_field(struct fl_ctx *ctx, enum pal_cls_field f, uint32_t domain,
		   struct fl_range_vec *out, uint32_t *none_class, uint32_t *proto_out);
int fl_key_field(struct fl_ctx *ctx, enum pal_cls_field f, struct pal_cls_keytable *kt);

#endif
