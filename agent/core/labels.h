/* Label sets: the key/value maps that selectors are evaluated against. */
#ifndef PALISADE_LABELS_H
#define PALISADE_LABELS_H

#include <stdbool.h>
#include <stddef.h>

struct pal_label {
	char *key;
	char *value;
};

/* Kept sorted by key, keys unique, so lookups can use binary search. */
struct pal_labels {
	struct pal_label *v;
	size_t n, cap;
};

/* Sets key to value, replacing an existing value. Copies both strings. Aborts on out-of-memory. */
void pal_labels_set(struct pal_labels *l, const char *key, const char *value);
/* The value for key, or NULL when the label is absent. */
const char *pal_labels_get(const struct pal_labels *l, const char *key);
/* Copies every label of src into dst (src wins on conflicts). */
void pal_labels_merge(struct pal_labels *dst, const struct pal_labels *src);
/* Makes dst an exact copy of src. dst must be initialised (zeroed or a live set): its previous
 * labels are freed first. */
void pal_labels_copy(struct pal_labels *dst, const struct pal_labels *src);
/* Frees every label and leaves l empty and reusable. A zeroed struct is a valid empty set. */
void pal_labels_free(struct pal_labels *l);

/* Borrowing sets: the strings stay their owners' (which must outlive the set), only the array is
 * the set's. For the compiler's many short-lived label sets built from the model's strings. Never
 * mix with the copying functions above on one set. */
void pal_labels_set_borrowed(struct pal_labels *l, const char *key, const char *value);
void pal_labels_merge_borrowed(struct pal_labels *dst, const struct pal_labels *src);
/* Frees the array only. */
void pal_labels_free_borrowed(struct pal_labels *l);

#endif
