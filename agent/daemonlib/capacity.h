/* The datapath's sized maps and the palisaded settings that size them (--max-classes and
 * friends): one table for the option parser, the apply error hint ("raise --max-classes") and the
 * warning when a pinned map keeps another size. --max-endpoints sizes several maps at once and is
 * handled on its own (cfg_options.c, backend_bpf.c). */
#ifndef PALISADE_DAEMON_CAPACITY_H
#define PALISADE_DAEMON_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

struct pald_config;

struct pald_capacity {
	const char *map;  /* the pinned map it sizes */
	const char *map2; /* a second map sized with it, or NULL (pal_small beside pal_lists) */
	const char *flag; /* palisaded flag without "--" */
	const char *key;  /* config-file key */
	const char *what; /* in messages: "max classes" */
	size_t field;     /* offsetof the uint32_t in struct pald_config; 0 there = the default */
	uint32_t limit;   /* the largest value accepted */
};

extern const struct pald_capacity pald_capacities[];
extern const size_t pald_n_capacities;

/* The capacity whose map (or second map) is mentioned in msg as a whole word, e.g. "pal_classes:
 * No space left on device"; NULL when none is. */
const struct pald_capacity *pald_capacity_in_message(const char *msg);
/* The entry for a field of struct pald_config (offsetof); never NULL for the fields above. */
const struct pald_capacity *pald_capacity_of_field(size_t field);
/* The configured value of cap in c (0: not set, the datapath's default). */
uint32_t pald_capacity_get(const struct pald_config *c, const struct pald_capacity *cap);
/* Parses v (1 to cap->limit) into c; a usage error names the setting and its range. */
int pald_capacity_set(struct pald_config *c, const struct pald_capacity *cap, const char *v,
		      char *err, size_t errlen);
/* Writes msg followed by, when msg names a sized map, how to raise it: "...; raise --max-classes
 * (config key maxClasses)". */
void pald_capacity_explain(const char *msg, char *out, size_t len);
/* What an apply's error (pald_capacity_explain's output, maybe after "datapath: ") says did not
 * fit: "pal_classes (--max-classes)" (the map it names and the option), else the error up to its
 * first ';' ("rule list too large ...", out of memory). */
void pald_capacity_what_did_not_fit(const char *error, char *out, size_t len);

#endif
