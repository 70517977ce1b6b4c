/* Reading a whole stream into memory (read_all.h). */
#include <errno.h>
#include <stdlib.h>

#include "read_all.h"
#include "vec.h"

/* How much room each read asks for beyond what has been read. */
#define READ_CHUNK 4096

int pal_read_all(FILE *f, size_t max, char **buf, size_t *len)
{
	size_t n = 0, cap = 0, want, got;
	char *b = NULL;
	int r = 0;

	for (;;) {
		/* room for a chunk and the NUL */
		if (vec_grow((void **)&b, &cap, n + READ_CHUNK + 1, 1)) {
			r = -ENOMEM;
			break;
		}
		want = cap - n - 1;
		errno = 0;
		got = fread(b + n, 1, want, f);
		n += got;
		if (n > max) {
			r = -EFBIG;
			break;
		}
		if (got < want) { /* end of the stream, or an error */
			if (ferror(f))
				r = errno ? -errno : -EIO;
			break;
		}
	}
	if (r) {
		free(b);
		b = NULL;
		n = 0;
	} else {
		b[n] = '\0';
	}
	*buf = b;
	*len = n;
	return r;
}
