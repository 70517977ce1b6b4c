/* The null backend: programs nothing, remembers what it was given. TEST ONLY.
 *
 * Process tests select it with --backend=null (or env PALISADED_BACKEND=null) and, when env
 * PALISADED_NULL_RECORD names a file, read back after every call a JSON record:
 *   {"applies":N,"generation":G,"endpoints":E,"rules":R,"rule_refs":F,"apply_realtime_ns":T,
 *    "interfaces":["eth0",...],"uninstalled":false}
 * written atomically (temp file + rename), so a reader never sees half a record.
 * rules is the IR's rule id count; rule_refs counts rules per endpoint and stage (a policy that
 * selects two endpoints counts twice). apply_realtime_ns (CLOCK_REALTIME) lets a test measure
 * file-change-to-apply latency.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "backend.h"
#include "cfg.h"
#include "log.h"

/* What the backend was given. */
struct pald_null_record {
	uint64_t applies, generation;
	size_t n_endpoints, n_rules, n_rule_refs;
	size_t n_ifaces;
	char ifaces[64][IFNAMSIZ];
	bool watched[64]; /* ifaces[i] was chosen only by the forward watch */
	bool uninstalled;
};

struct null_ctx {
	struct pald_null_record rec;
	char *record_path;
	unsigned long long apply_realtime_ns;
};

static size_t count_rules(const struct pal_ir_tierlist *tl)
{
	size_t n = 0;

	for (size_t t = 0; t < tl->n_tiers; t++)
		for (size_t p = 0; p < tl->tiers[t].n_policies; p++)
			n += tl->tiers[t].policies[p].n_rules;
	return n;
}

/* The chosen interfaces (watched: those chosen only by the forward watch) as a JSON array. */
static json_t *iface_names(const struct null_ctx *c, bool watched)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < c->rec.n_ifaces; i++)
		if (c->rec.watched[i] == watched &&
		    json_array_append_new(a, json_string(c->rec.ifaces[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static void write_record(struct null_ctx *c)
{
	char tmp[4096 + 8];
	json_t *rec;
	int err;

	if (!c->record_path)
		return;
	rec = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:b}",
			"applies", (json_int_t)c->rec.applies,
			"generation", (json_int_t)c->rec.generation,
			"endpoints", (json_int_t)c->rec.n_endpoints,
			"rules", (json_int_t)c->rec.n_rules,
			"rule_refs", (json_int_t)c->rec.n_rule_refs,
			"apply_realtime_ns", (json_int_t)c->apply_realtime_ns,
			"interfaces", iface_names(c, false),
			"watched", iface_names(c, true),
			"uninstalled", c->rec.uninstalled);
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->record_path);
	err = rec ? json_dump_file(rec, tmp, JSON_COMPACT) : -1;
	json_decref(rec);
	if (err) {
		pald_log(PALD_LOG_WARN, "null backend: cannot write record", PALD_S("file", tmp));
		return;
	}
	rename(tmp, c->record_path);
}

static int null_apply(void *ctx, const struct pal_ir *ir, uint64_t generation,
		      struct pal_diags *diags)
{
	struct null_ctx *c = ctx;
	struct timespec ts;
	size_t rules = 0;
	(void)diags;

	for (size_t i = 0; i < ir->n_endpoints; i++)
		for (int d = 0; d < PAL_DIR_COUNT; d++) {
			rules += count_rules(&ir->endpoints[i].untracked[d]);
			rules += count_rules(&ir->endpoints[i].prednat[d]);
			rules += count_rules(&ir->endpoints[i].forward[d]);
			rules += count_rules(&ir->endpoints[i].normal[d]);
		}
	c->rec.applies++;
	c->rec.generation = generation;
	c->rec.n_endpoints = ir->n_endpoints;
	c->rec.n_rules = pal_ir_n_rules(ir);
	c->rec.n_rule_refs = rules;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->apply_realtime_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	pald_log(PALD_LOG_DEBUG, "null backend: apply", PALD_I("generation", generation),
		 PALD_I("endpoints", ir->n_endpoints), PALD_I("rules", c->rec.n_rules), PALD_I("rule_refs", rules));
	write_record(c);
	return 0;
}

static int null_sync_interfaces(void *ctx, const struct pald_iface *ifaces, size_t n)
{
	struct null_ctx *c = ctx;
	size_t keep = n < 64 ? n : 64;

	for (size_t i = 0; i < keep; i++) {
		memcpy(c->rec.ifaces[i], ifaces[i].name, IFNAMSIZ);
		c->rec.watched[i] = ifaces[i].watched;
	}
	c->rec.n_ifaces = keep; /* the record keeps the first 64 names; all count as attached */
	write_record(c);
	return (int)n;
}

static void null_render_metrics(void *ctx, struct pal_strbuf *out)
{
	struct null_ctx *c = ctx;

	pal_strbuf_printf(out,
			  "# HELP palisade_null_backend_applies_total Applies seen by the test-only "
			  "null backend.\n# TYPE palisade_null_backend_applies_total counter\n"
			  "palisade_null_backend_applies_total %llu\n",
			  (unsigned long long)c->rec.applies);
}

static int null_uninstall(void *ctx)
{
	struct null_ctx *c = ctx;

	c->rec.uninstalled = true;
	write_record(c);
	return 0;
}

static void null_close(void *ctx)
{
	struct null_ctx *c = ctx;

	free(c->record_path);
	free(c);
}

static const struct pald_backend_ops null_ops = {
	.name = "null",
	.apply = null_apply,
	.sync_interfaces = null_sync_interfaces,
	.render_metrics = null_render_metrics,
	.uninstall = null_uninstall,
	.close = null_close,
};

int pald_backend_null_open(const struct pald_config *cfg, struct pald_backend *be)
{
	struct null_ctx *c = calloc(1, sizeof(*c));
	const char *path = getenv("PALISADED_NULL_RECORD");
	(void)cfg;

	if (!c)
		return -ENOMEM;
	if (path && *path && !(c->record_path = strdup(path))) {
		free(c);
		return -ENOMEM;
	}
	pald_log(PALD_LOG_WARN, "using the null datapath backend: nothing is enforced (tests only)");
	be->ops = &null_ops;
	be->ctx = c;
	return 0;
}
