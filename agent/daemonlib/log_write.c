/* Log line formatting and writing (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
	enum pald_log_format fmt;
	enum pald_log_level min;
	int fd;
} g_log = { PALD_LOG_TEXT, PALD_LOG_INFO, 2 };

/* A bounded line under construction: appends never overflow, a cut line is marked. */
struct line {
	char *p;
	size_t len, size; /* size excludes room kept for the "...\n" tail and NUL */
	bool cut;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->len + n > l->size) {
		n = l->size - l->len;
		l->cut = true;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct line *l, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_json_str(struct line *l, const char *s)
{
	put(l, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		switch (*c) {
		case '"': puts_(l, "\\\""); break;
		case '\\': puts_(l, "\\\\"); break;
		case '\n': puts_(l, "\\n"); break;
		case '\r': puts_(l, "\\r"); break;
		case '\t': puts_(l, "\\t"); break;
		default:
			if (*c < 0x20)
				putf(l, "\\u%04x", *c);
			else
				put(l, (const char *)c, 1);
		}
	}
	put(l, "\"", 1);
}

/* Text values are bare when they are one simple token, else double-quoted with escapes, so
 * `key=value` pairs always split unambiguously. */
static void put_text_value(struct line *l, const char *s)
{
	bool bare = s && *s;

	for (const char *c = s; bare && *c; c++)
		if (*c == ' ' || *c == '"' || *c == '=' || *c == '\\' || (unsigned char)*c < 0x20)
			bare = false;
	if (bare)
		puts_(l, s);
	else
		put_json_str(l, s);
}

static void put_double(struct line *l, double f)
{
	putf(l, "%.6g", f);
}

static void put_time(struct line *l, time_t when)
{
	struct tm tm;
	char ts[32];

	gmtime_r(&when, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	puts_(l, ts);
}

static void put_json_value(struct line *l, const char *s)
{
	if (s)
		put_json_str(l, s);
	else
		puts_(l, "null");
}

/* How the fields after the message are written: JSON members or text key=value pairs. */
struct field_style {
	char sep, assign;
	void (*put_key)(struct line *l, const char *key);
	void (*put_string)(struct line *l, const char *s); /* s may be NULL */
};

static const struct field_style json_fields = { ',', ':', put_json_str, put_json_value };
static const struct field_style text_fields = { ' ', '=', puts_, put_text_value };

static void put_fields(struct line *l, const struct field_style *st, const struct pald_kv *kv,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put(l, &st->sep, 1);
		st->put_key(l, kv[i].key);
		put(l, &st->assign, 1);
		if (kv[i].type == PALD_KV_INT)
			putf(l, "%lld", kv[i].i);
		else if (kv[i].type == PALD_KV_FLOAT)
			put_double(l, kv[i].f);
		else
			st->put_string(l, kv[i].s);
	}
}

size_t pald_log_format_line(char *buf, size_t size, enum pald_log_format fmt, time_t when,
			    enum pald_log_level lvl, const char *msg, const struct pald_kv *kv,
			    size_t n)
{
	static const char tail[] = "...";
	struct line l = { .p = buf, .size = size - sizeof(tail) - 2 };

	if (fmt == PALD_LOG_JSON) {
		puts_(&l, "{\"time\":\"");
		put_time(&l, when);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, pald_log_level_name(lvl));
		puts_(&l, "\",\"msg\":");
		put_json_str(&l, msg);
		put_fields(&l, &json_fields, kv, n);
		put(&l, "}", 1);
	} else {
		put_time(&l, when);
		put(&l, " ", 1);
		puts_(&l, pald_log_level_name(lvl));
		put(&l, " ", 1);
		puts_(&l, msg ? msg : "");
		put_fields(&l, &text_fields, kv, n);
	}
	/* A cut JSON line is no longer valid JSON; say so plainly rather than emit half an object
	 * that a collector would reject silently. */
	if (l.cut) {
		memcpy(l.p + l.len, tail, sizeof(tail) - 1);
		l.len += sizeof(tail) - 1;
	}
	l.p[l.len++] = '\n';
	l.p[l.len] = '\0';
	return l.len;
}

void pald_log_setup(enum pald_log_format fmt, enum pald_log_level min_level, int fd)
{
	g_log.fmt = fmt;
	g_log.min = min_level;
	g_log.fd = fd;
}

bool pald_log_enabled(enum pald_log_level lvl)
{
	return lvl >= g_log.min;
}

void pald_log_kv(enum pald_log_level lvl, const char *msg, const struct pald_kv *kv, size_t n)
{
	char buf[PALD_LOG_LINE_MAX];
	size_t len, off = 0;

	if (!pald_log_enabled(lvl))
		return;
	len = pald_log_format_line(buf, sizeof(buf), g_log.fmt, time(NULL), lvl, msg, kv, n);
	while (off < len) {
		ssize_t w = write(g_log.fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to complain to */
		off += (size_t)w;
	}
}

const char *pald_diag_text(const struct pal_diag *dg, char *buf, size_t size)
{
	const char *sev = dg->severity == PAL_SEV_ERROR ? "error" : "warning";
	char where[512] = "";

	if (dg->file && dg->line > 0 && dg->col > 0)
		snprintf(where, sizeof(where), "%s:%d:%d: ", dg->file, dg->line, dg->col);
	else if (dg->file && dg->line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", dg->file, dg->line);
	else if (dg->file)
		snprintf(where, sizeof(where), "%s: ", dg->file);
	snprintf(buf, size, "%s%s: %s%s%s%s", where, sev, dg->message ? dg->message : "",
		 dg->path ? " [at " : "", dg->path ? dg->path : "", dg->path ? "]" : "");
	return buf;
}

void pald_log_diag(const struct pal_diag *dg)
{
	enum pald_log_level lvl = dg->severity == PAL_SEV_ERROR ? PALD_LOG_ERROR : PALD_LOG_WARN;

	if (g_log.fmt == PALD_LOG_TEXT) {
		char text[PALD_LOG_LINE_MAX - 64];

		pald_log_kv(lvl, pald_diag_text(dg, text, sizeof(text)), NULL, 0);
		return;
	}
	pald_log(lvl, dg->message ? dg->message : "",
		 PALD_S("severity", dg->severity == PAL_SEV_ERROR ? "error" : "warning"),
		 PALD_S("file", dg->file), PALD_I("line", dg->line), PALD_I("column", dg->col),
		 PALD_S("path", dg->path));
}

void pald_log_diags(const struct pal_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		pald_log_diag(&d->v[i]);
}

const char *pald_log_level_name(enum pald_log_level lvl)
{
	switch (lvl) {
	case PALD_LOG_DEBUG: return "debug";
	case PALD_LOG_INFO: return "info";
	case PALD_LOG_WARN: return "warn";
	case PALD_LOG_ERROR: return "error";
	}
	return "?";
}

int pald_log_level_parse(const char *s, enum pald_log_level *out)
{
	static const struct {
		const char *name;
		enum pald_log_level lvl;
	} names[] = {
		{ "debug", PALD_LOG_DEBUG }, { "info", PALD_LOG_INFO },   { "warn", PALD_LOG_WARN },
		{ "warning", PALD_LOG_WARN }, { "error", PALD_LOG_ERROR },
	};

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	return -EINVAL;
}

int pald_log_format_parse(const char *s, enum pald_log_format *out)
{
	if (s && strcmp(s, "text") == 0)
		*out = PALD_LOG_TEXT;
	else if (s && strcmp(s, "json") == 0)
		*out = PALD_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}
