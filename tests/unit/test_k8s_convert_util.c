/* Helpers shared by test_k8s_convert*.c (no tests here). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "compiler.h"
#include "ir.h"
#include "model.h"
#include "test_k8s_convert_util.h"

const struct pal_k8s_convert_cfg kc_cfg = { .node_name = "node-1",
					    .iface_naming = PAL_K8S_IFACE_CALICO };

json_t *kc_parse(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);

	cr_assert_not_null(o, "fixture: %s (line %d)", e.text, e.line);
	return o;
}

json_t *kc_ok(const json_t *obj, const struct pal_k8s_convert_cfg *cfg)
{
	json_t *out = json_array();
	char err[256];
	int r = pal_k8s_convert(obj, cfg, out, err, sizeof(err));

	cr_assert_eq(r, 0, "convert: %d %s", r, err);
	return out;
}

json_t *kc_ok_text(const char *text, const struct pal_k8s_convert_cfg *cfg)
{
	json_t *o = kc_parse(text), *out = kc_ok(o, cfg);

	json_decref(o);
	return out;
}

void kc_fails(const json_t *obj, const struct pal_k8s_convert_cfg *cfg, const char *want)
{
	json_t *out = json_array();
	char err[256];
	int r = pal_k8s_convert(obj, cfg, out, err, sizeof(err));

	cr_assert_eq(r, -EINVAL, "convert returned %d (%s), want -EINVAL", r, err);
	cr_assert(strstr(err, want), "error \"%s\" lacks \"%s\"", err, want);
	cr_assert_eq(json_array_size(out), 0, "documents appended on error");
	json_decref(out);
}

const json_t *kc_doc(const json_t *docs, const char *kind, size_t n)
{
	size_t i;
	const json_t *d;

	json_array_foreach(docs, i, d) {
		const char *k = json_string_value(json_object_get(d, "kind"));

		if (k && !strcmp(k, kind) && n-- == 0)
			return d;
	}
	return NULL;
}

const json_t *kc_get(const json_t *o, ...)
{
	const char *k;
	va_list ap;

	va_start(ap, o);
	while (o && (k = va_arg(ap, const char *)))
		o = json_object_get(o, k);
	va_end(ap);
	return o;
}

void kc_set(json_t *obj, const char *path, json_t *value)
{
	char *p = strdup(path), *save = NULL, *k = strtok_r(p, ".", &save), *next;

	while ((next = strtok_r(NULL, ".", &save))) {
		json_t *child = json_object_get(obj, k);

		if (!json_is_object(child)) {
			child = json_object();
			json_object_set_new(obj, k, child);
		}
		obj = child;
		k = next;
	}
	json_object_set_new(obj, k, value);
	free(p);
}

size_t kc_load_compile(const json_t *docs)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	struct pal_compile_opts opts = { .node = "node-1" };
	struct pal_ir ir = { 0 };
	char *text = json_dumps(docs, JSON_INDENT(1));
	size_t n;

	pal_model_init(&m);
	cr_assert_eq(pal_model_load_buffer(&m, "k8s.json", text, strlen(text), &d), 0);
	pal_model_validate(&m, &d);
	if (!d.n_errors)
		cr_assert_eq(pal_compile(&m, &opts, &ir, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		cr_log_error("%s: %s", d.v[i].path ? d.v[i].path : "", d.v[i].message);
	cr_assert_eq(d.n_errors, 0, "converted documents do not load and compile:\n%s", text);
	n = ir.n_endpoints;
	pal_ir_free(&ir);
	pal_diags_free(&d);
	pal_model_free(&m);
	free(text);
	return n;
}
