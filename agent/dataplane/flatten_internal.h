/* Shared between the flattener's files (flatten.c builds entries, flatten_fields.c computes the
 * per-field classes and bitmaps). Not part of the loader's contract: that is flatten.h. */
#ifndef PALISADE_FLATTEN_INTERNAL_H
#define PALISADE_FLATTEN_INTERNAL_H

#include "flatten.h"

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
	struct pal_protocol protocol, not_protocol;
	bool has_exact_proto; /* from named-port tuples */
	uint8_t exact_proto;
	bool has_icmp, has_not_icmp;
	struct pal_icmp_match icmp, not_icmp;
	struct fl_side src, dst;
};

/* The flattener's working state handed to the field computations. */
struct fl_ctx {
	const struct pal_ir *ir;
	struct pal_cls_tables *t;
	const struct fl_cons *cons; /* t->n_entries */
	uint64_t *anchor_mask[PAL_CLS_N_FIELDS]; /* per field, n_words: entries anchored there */
};

/* flatten_fields.c: fills t->bm[*], t->addr, t->proto_class, t->sport/dport/icmp. */
int fl_compute_fields(struct fl_ctx *c);

#endif
