/* The string builder: text appended to a growable buffer that is always NUL-terminated.
 * An append that cannot grow the buffer marks it failed (oom) and every later append does
 * nothing, so a writer appends without checking each step and asks once at the end: `oom`, or
 * pal_strbuf_take's NULL. Code that unwinds on out of memory (oom.h) uses pal_strbuf_take_or_unwind. */
#ifndef PALISADE_STRBUF_H
#define PALISADE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct pal_strbuf {
	char *p; /* NULL until the first append */
	size_t len, cap;
	bool oom; /* an append failed; the content is incomplete */
};

__attribute__((format(printf, 2, 3))) void pal_strbuf_printf(struct pal_strbuf *b, const char *fmt,
							      ...);
void pal_strbuf_puts(struct pal_strbuf *b, const char *s);
void pal_strbuf_append(struct pal_strbuf *b, const void *data, size_t n);
/* The text, which the caller frees ("" when nothing was appended); the buffer is left empty.
 * NULL when an append failed or the empty string cannot be allocated (the buffer is freed). */
char *pal_strbuf_take(struct pal_strbuf *b);
/* pal_strbuf_take, unwinding (pal_out_of_memory) where it would return NULL. */
char *pal_strbuf_take_or_unwind(struct pal_strbuf *b);
void pal_strbuf_free(struct pal_strbuf *b);

#endif
