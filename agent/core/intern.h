/* Interned strings: one shared, reference-counted copy per distinct value.
 *
 * The Kubernetes datastore keeps every pod decoded, and most of a pod's strings repeat across
 * thousands of pods (label keys and values, its namespace, node, service account, profiles): each
 * distinct value is kept once (model_kept.c interns the workload endpoints' strings). One table per
 * process; the agent is single-threaded.
 */
#ifndef PALISADE_INTERN_H
#define PALISADE_INTERN_H

#include <stdbool.h>

/* The shared copy of s, with one more reference; NULL on out of memory. */
char *pal_intern(const char *s);
/* True when p is the shared copy of its value (not merely an equal string). */
bool pal_interned(const char *p);
/* Drops one reference of a shared copy; the last one frees it. */
void pal_intern_put(char *p);

#endif
