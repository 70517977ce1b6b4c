/* Reading a whole stream into memory: the agent's config file, polctl's standard input. */
#ifndef PALISADE_READ_ALL_H
#define PALISADE_READ_ALL_H

#include <stddef.h>
#include <stdio.h>

/* Reads f to its end into a NUL-terminated buffer the caller frees (*len bytes before the NUL).
 * Returns 0; -EFBIG when f holds more than max bytes; -ENOMEM; or a read error's -errno (-EIO
 * when the C library does not say). On an error *buf is NULL and *len 0. */
int pal_read_all(FILE *f, size_t max, char **buf, size_t *len);

#endif
