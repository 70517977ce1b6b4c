/* palisaded's logger: one line per event on stderr, as text or as JSON.
 *
 *   text: 2026-11-28T23:20:01Z info policy applied generation=3 seconds=0.004
 *   json: {"time":"2026-11-28T23:20:01Z","level":"info","msg":"policy applied","generation":3,...}
 *
 * Fields are typed key/value pairs so the JSON form keeps numbers as numbers. Each line is built
 * in a buffer and written with one write(2), so lines from a crashing process are never torn.
 * Pure: no dependency beyond libc and diag.h (linked into the unit tests).
 */
#ifndef PALD_LOG_H
#define PALD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "diag.h"

enum pald_log_level { PALD_LOG_DEBUG, PALD_LOG_INFO, PALD_LOG_WARN, PALD_LOG_ERROR };
enum pald_log_format { PALD_LOG_TEXT, PALD_LOG_JSON };

enum pald_kv_type { PALD_KV_STR, PALD_KV_INT, PALD_KV_FLOAT };

struct pald_kv {
	const char *key;
	enum pald_kv_type type;
	const char *s;
	long long i;
	double f;
};

#define PALD_S(k, v) ((struct pald_kv){ .key = (k), .type = PALD_KV_STR, .s = (v) })
#define PALD_I(k, v) ((struct pald_kv){ .key = (k), .type = PALD_KV_INT, .i = (long long)(v) })
#define PALD_F(k, v) ((struct pald_kv){ .key = (k), .type = PALD_KV_FLOAT, .f = (double)(v) })

/* pald_log(PALD_LOG_INFO, "policy applied", PALD_I("generation", g), PALD_S("dir", d)); */
#define pald_log(lvl, msg, ...)                                                         \
	do {                                                                            \
		const struct pald_kv pald_kv_[] = { { NULL }, ##__VA_ARGS__ };          \
		pald_log_kv((lvl), (msg), pald_kv_ + 1,                                 \
			    sizeof(pald_kv_) / sizeof(pald_kv_[0]) - 1);                \
	} while (0)

/* Longest line written; longer messages are cut (and end with "..."). */
#define PALD_LOG_LINE_MAX 4096

void pald_log_setup(enum pald_log_format fmt, enum pald_log_level min_level, int fd);
bool pald_log_enabled(enum pald_log_level lvl);
void pald_log_kv(enum pald_log_level lvl, const char *msg, const struct pald_kv *kv, size_t n);
/* One policy diagnostic: text form is the compiler-style line (FILE:LINE:COL: error: MESSAGE
 * [at PATH]); JSON form has fields file, line, column, path, severity. Errors log at error
 * level, warnings at warn. */
void pald_log_diag(const struct pal_diag *dg);
void pald_log_diags(const struct pal_diags *d);

/* The pure formatter behind the two functions above (unit-tested). Writes one line ending in
 * '\n' and a NUL into buf (size >= 64); returns its length without the NUL. */
size_t pald_log_format_line(char *buf, size_t size, enum pald_log_format fmt, time_t when,
			    enum pald_log_level lvl, const char *msg, const struct pald_kv *kv,
			    size_t n);
/* The compiler-style text of a diagnostic (no newline) into buf; returns buf. */
const char *pald_diag_text(const struct pal_diag *dg, char *buf, size_t size);

const char *pald_log_level_name(enum pald_log_level lvl);
/* "debug", "info", "warn" (or "warning"), "error"; 0 or -EINVAL. */
int pald_log_level_parse(const char *s, enum pald_log_level *out);
int pald_log_format_parse(const char *s, enum pald_log_format *out);

#endif
