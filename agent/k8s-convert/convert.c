/* pal_k8s_convert: dispatch on (apiVersion, kind) and the last step every conversion takes (the
 * field helpers are convert_fields.c): the documents are run through the policy-file loader, so an
 * object the loader would reject is reported here, against this one object, instead of making
 * the whole datastore fail to load later.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "convert_internal.h"
#include "model.h"
#include "net.h"

struct k8s_kind {
	const char *api_version, *kind;
	int (*convert)(struct k8s_conv *c);
};

static const struct k8s_kind k8s_kinds[] = {
	{ "v1", "Pod", k8s_convert_pod },
	{ "v1", "Namespace", k8s_convert_namespace },
	{ "v1", "ServiceAccount", k8s_convert_service_account },
	{ "networking.k8s.io/v1", "NetworkPolicy", k8s_convert_k8s_network_policy },
	{ "v1", "Node", k8s_convert_node },
	{ "v1", "Service", k8s_convert_service },
	{ "discovery.k8s.io/v1", "EndpointSlice", k8s_convert_endpoint_slice },
};

/* Reports a loader error against the object. The loader's path starts with the document's index
 * ("[1].spec.ports[0].name"); for a document of the object's own kind the rest is the object's own
 * path, for a derived one (a Pod's WorkloadEndpoint) the message names the document. */
static int loader_error(struct k8s_conv *c, const struct pal_diag *dg)
{
	const char *path = dg->path ? dg->path : "", *close = strchr(path, ']');
	const json_t *doc = NULL;
	const char *kind, *name;

	if (path[0] == '[' && close) {
		doc = json_array_get(c->docs, strtoul(path + 1, NULL, 10));
		path = close + 1 + (close[1] == '.');
	}
	kind = json_string_value(json_object_get(doc, "kind"));
	name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
	if (!kind || !name || !strcmp(kind, json_string_value(json_object_get(c->obj, "kind"))))
		return k8s_fail(c, path, "%s", dg->message);
	return k8s_fail(c, NULL, "as %s %s: %s: %s", kind, name, path, dg->message);
}

/* Loads the documents with the policy-file loader; its first error becomes this object's error. */
static int check_with_loader(struct k8s_conv *c)
{
	struct pal_model m;
	struct pal_diags d = { 0 };
	char *text;
	int err = 0;

	if (json_array_size(c->docs) == 0)
		return 0;
	text = json_dumps(c->docs, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	pal_model_init(&m);
	pal_model_load_buffer(&m, "converted", text, strlen(text), &d);
	for (size_t i = 0; i < d.n && !err; i++)
		if (d.v[i].severity == PAL_SEV_ERROR)
			err = loader_error(c, &d.v[i]);
	pal_diags_free(&d);
	pal_model_free(&m);
	free(text);
	return err;
}

static int dispatch(struct k8s_conv *c)
{
	const char *api, *kind;
	int r;

	if (!json_is_object(c->obj))
		return k8s_fail(c, NULL, "not a JSON object");
	if ((r = k8s_get_string(c, c->obj, "apiVersion", "apiVersion", &api)) < 0)
		return r;
	if (r == 0)
		return k8s_fail(c, "apiVersion", "missing");
	if ((r = k8s_get_string(c, c->obj, "kind", "kind", &kind)) < 0)
		return r;
	if (r == 0)
		return k8s_fail(c, "kind", "missing");
	if (!strcmp(api, K8S_CALICO_CRD) || !strcmp(api, K8S_CALICO_V3))
		return k8s_convert_calico(c, kind);
	for (size_t i = 0; i < sizeof(k8s_kinds) / sizeof(k8s_kinds[0]); i++)
		if (!strcmp(k8s_kinds[i].api_version, api) && !strcmp(k8s_kinds[i].kind, kind))
			return k8s_kinds[i].convert(c);
	return k8s_fail(c, "kind", "%s %s is not a kind palisade converts", api, kind);
}

int pal_k8s_convert(const json_t *obj, const struct pal_k8s_convert_cfg *cfg, json_t *out,
		    char *err, size_t errlen)
{
	struct k8s_conv c = { .obj = obj, .cfg = cfg, .err = err, .errlen = errlen };
	int r;

	if (errlen)
		err[0] = '\0';
	if (!cfg || !json_is_array(out))
		return k8s_fail(&c, NULL, "no configuration or output array");
	c.docs = json_array();
	if (!c.docs)
		return -ENOMEM;
	r = dispatch(&c);
	if (r == 0)
		r = check_with_loader(&c);
	if (r == 0 && json_array_extend(out, c.docs))
		r = -ENOMEM;
	json_decref(c.docs);
	return r;
}
