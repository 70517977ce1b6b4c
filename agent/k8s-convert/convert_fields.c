/* The field helpers of convert_internal.h every per-kind converter uses: typed reads with a
 * path for the error, metadata, and the output documents. Apart from convert.c, which dispatches
 * to the converters, so that the converters do not call back into it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "convert_internal.h"
#include "model.h"
#include "net.h"

int k8s_fail(struct k8s_conv *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->errlen == 0)
		return -EINVAL;
	if (path && *path)
		n = snprintf(c->err, c->errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The field, NULL when absent or null. */
static const json_t *field(const json_t *parent, const char *key)
{
	const json_t *v = json_is_object(parent) ? json_object_get(parent, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static int get_typed(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		     json_type type, const char *what, const json_t **out)
{
	const json_t *v = field(parent, key);

	*out = NULL;
	if (!v)
		return 0;
	if (json_typeof(v) != type)
		return k8s_fail(c, path, "not %s", what);
	*out = v;
	return 1;
}

int k8s_get_object(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		   const json_t **out)
{
	return get_typed(c, parent, key, path, JSON_OBJECT, "an object", out);
}

int k8s_get_array(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		  const json_t **out)
{
	return get_typed(c, parent, key, path, JSON_ARRAY, "a list", out);
}

int k8s_get_string(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		   const char **out)
{
	const json_t *v;
	int r = get_typed(c, parent, key, path, JSON_STRING, "a string", &v);

	*out = r > 0 ? json_string_value(v) : NULL;
	if (r > 0 && strlen(*out) != json_string_length(v))
		return k8s_fail(c, path, "contains a NUL character");
	return r;
}

int k8s_item_object(struct k8s_conv *c, const json_t *item, const char *base, size_t i)
{
	char path[128];

	if (json_is_object(item))
		return 0;
	snprintf(path, sizeof(path), "%s[%zu]", base, i);
	return k8s_fail(c, path, "not an object");
}

int k8s_get_item_string(struct k8s_conv *c, const json_t *item, const char *base, size_t i,
			const char *key, char *path, size_t path_size, const char **out)
{
	snprintf(path, path_size, "%s[%zu].%s", base, i, key);
	return k8s_get_string(c, item, key, path, out);
}

int k8s_get_bool(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		 bool *out)
{
	const json_t *v = field(parent, key);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return k8s_fail(c, path, "not a boolean");
	*out = json_is_true(v);
	return 1;
}

int k8s_get_int(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		long long min, long long max, long long *out)
{
	const json_t *v = field(parent, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return k8s_fail(c, path, "not an integer");
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return k8s_fail(c, path, "%lld is out of range (%lld-%lld)", *out, min, max);
	return 1;
}

static int k8s_get_string_map(struct k8s_conv *c, const json_t *parent, const char *key,
		       const char *path, const json_t **out)
{
	const char *k;
	json_t *v;
	int r = k8s_get_object(c, parent, key, path, out);

	if (r <= 0)
		return r;
	json_object_foreach((json_t *)*out, k, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			*out = NULL;
			return k8s_fail(c, NULL, "%s.%s: not a string", path, k);
		}
	}
	return 1;
}

int k8s_get_meta(struct k8s_conv *c, bool namespaced, struct k8s_meta *m)
{
	const json_t *meta, *deletion;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = k8s_get_object(c, c->obj, "metadata", "metadata", &meta)) < 0)
		return r;
	if (r == 0)
		return k8s_fail(c, "metadata", "missing");
	if ((r = k8s_get_string(c, meta, "name", "metadata.name", &m->name)) < 0)
		return r;
	if (r == 0 || !*m->name)
		return k8s_fail(c, "metadata.name", "missing");
	if ((r = k8s_get_string(c, meta, "namespace", "metadata.namespace", &m->ns)) < 0)
		return r;
	if (namespaced && (r == 0 || !*m->ns))
		return k8s_fail(c, "metadata.namespace", "missing");
	if (!namespaced)
		m->ns = NULL;
	if ((r = k8s_get_string_map(c, meta, "labels", "metadata.labels", &m->labels)) < 0 ||
	    (r = k8s_get_string_map(c, meta, "annotations", "metadata.annotations",
				    &m->annotations)) < 0)
		return r;
	deletion = field(meta, "deletionTimestamp");
	m->deleting = deletion != NULL;
	return 0;
}

const char *k8s_annotation(const struct k8s_meta *m, const char *key)
{
	const json_t *v = m->annotations ? json_object_get(m->annotations, key) : NULL;

	return v ? json_string_value(v) : NULL;
}

int k8s_parse_addr(struct k8s_conv *c, const char *text, const char *path, struct pal_addr *out)
{
	char buf[PAL_CIDR_STRLEN];
	size_t len = strcspn(text, "/");
	struct pal_cidr cidr;

	if (len >= sizeof(buf) || (text[len] && !pal_cidr_parse(text, &cidr, NULL)))
		return k8s_fail(c, path, "\"%s\" is not an IP address", text);
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (!pal_addr_parse(buf, out))
		return k8s_fail(c, path, "\"%s\" is not an IP address", text);
	return 0;
}

int k8s_put(json_t *o, const char *key, json_t *value)
{
	if (!value)
		return -ENOMEM;
	return json_object_set_new(o, key, value) ? -ENOMEM : 0;
}

int k8s_put_str(json_t *o, const char *key, const char *value)
{
	return k8s_put(o, key, json_string(value));
}

int k8s_new_doc(struct k8s_conv *c, const char *api_version, const char *kind, const char *name,
		const char *ns, const json_t *labels, json_t **doc)
{
	json_t *d = json_object(), *meta = json_object();
	int err;

	if (!d || !meta || json_array_append_new(c->docs, d)) {
		json_decref(meta);
		return -ENOMEM;
	}
	if ((err = k8s_put(d, "metadata", meta)))
		return err;
	if ((err = k8s_put_str(d, "apiVersion", api_version)) ||
	    (err = k8s_put_str(d, "kind", kind)) || (err = k8s_put_str(meta, "name", name)))
		return err;
	if (ns && (err = k8s_put_str(meta, "namespace", ns)))
		return err;
	if (labels && json_object_size(labels) &&
	    (err = k8s_put(meta, "labels", json_deep_copy(labels))))
		return err;
	*doc = d;
	return 0;
}
