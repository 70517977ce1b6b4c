/* v1 Service and discovery.k8s.io/v1 EndpointSlice, for Calico's `services:` rule match.
 *
 * Felix resolves a Service through the EndpointSlices labelled kubernetes.io/service-name, taking
 * every endpoint address whatever its conditions (ready or not) and every numbered port; the
 * Service object itself is not read. So a Service becomes just its name, and a slice keeps its
 * labels, addressType, its endpoints' addresses and its ports' name, protocol and number. The
 * rest (conditions, topology, hints, targetRef) is dropped, so a field a newer API server adds
 * cannot make a slice fail to load. Lists keep their order: an error names the API object's own
 * path (endpoints[2].addresses[0]).
 */
#include <errno.h>
#include <stdio.h>
#include "convert_internal.h"

int k8s_convert_service(struct k8s_conv *c)
{
	struct k8s_meta m;
	json_t *doc;
	int err = k8s_get_meta(c, true, &m);

	return err ? err : k8s_new_doc(c, "v1", "Service", m.name, m.ns, m.labels, &doc);
}

/* A copy of list (of objects) keeping only the given keys of each item. */
static int copy_items(struct k8s_conv *c, const char *key, const char *const *keep, json_t *doc)
{
	const json_t *list, *item;
	json_t *out;
	size_t i;
	int r = k8s_get_array(c, c->obj, key, key, &list);

	if (r <= 0)
		return r;
	out = json_array();
	if ((r = k8s_put(doc, key, out)))
		return r;
	json_array_foreach(list, i, item) {
		json_t *copy;

		if ((r = k8s_item_object(c, item, key, i)))
			return r;
		copy = json_object();
		if (!copy || json_array_append_new(out, copy))
			return -ENOMEM;
		for (const char *const *k = keep; *k; k++) {
			json_t *v = json_object_get(item, *k);

			if (v && !json_is_null(v) && json_object_set(copy, *k, v))
				return -ENOMEM;
		}
	}
	return 0;
}

int k8s_convert_endpoint_slice(struct k8s_conv *c)
{
	static const char *const endpoint_keep[] = { "addresses", NULL };
	static const char *const port_keep[] = { "name", "protocol", "port", NULL };
	struct k8s_meta m;
	const char *type;
	json_t *doc;
	int err;

	if ((err = k8s_get_meta(c, true, &m)))
		return err;
	if ((err = k8s_get_string(c, c->obj, "addressType", "addressType", &type)) < 0)
		return err;
	if (err == 0)
		return k8s_fail(c, "addressType", "missing");
	if ((err = k8s_new_doc(c, "discovery.k8s.io/v1", "EndpointSlice", m.name, m.ns, m.labels,
			       &doc)) ||
	    (err = k8s_put_str(doc, "addressType", type)) ||
	    (err = copy_items(c, "endpoints", endpoint_keep, doc)) ||
	    (err = copy_items(c, "ports", port_keep, doc)))
		return err;
	return 0;
}
