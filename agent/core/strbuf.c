/* The string builder (strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"
#include "vec.h"

/* Room for extra more bytes and the NUL; false (and failed from now on) when there is none. */
static bool reserve(struct pal_strbuf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (extra > SIZE_MAX - b->len - 1 || vec_grow((void **)&b->p, &b->cap, b->len + extra + 1, 1)) {
		b->oom = true;
		return false;
	}
	return true;
}

void pal_strbuf_printf(struct pal_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void pal_strbuf_append(struct pal_strbuf *b, const void *data, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pal_strbuf_puts(struct pal_strbuf *b, const char *s)
{
	pal_strbuf_append(b, s, strlen(s));
}

char *pal_strbuf_take(struct pal_strbuf *b)
{
	char *s;

	if (!b->p)
		reserve(b, 0);
	s = b->oom ? NULL : b->p;
	if (!s)
		free(b->p);
	else
		s[b->len] = '\0';
	memset(b, 0, sizeof(*b));
	return s;
}

char *pal_strbuf_take_or_unwind(struct pal_strbuf *b)
{
	return pal_or_unwind(pal_strbuf_take(b));
}

void pal_strbuf_free(struct pal_strbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
