/* The resource head every per-kind decoder shares: metadata (name, namespace, labels,
 * annotations) decoded and handed over, and errors reported at metadata.name. Its own file so the
 * decoders and the loader (model_load.c), which calls them, do not call back into each other. */
#include "decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const metadata_fields[] = { "name", "namespace", "labels", "annotations",
					       NULL };
/* Set by the API server; present in `kubectl get -o yaml` output. */
static const char *const metadata_ignored[] = {
	"uid",		 "resourceVersion", "creationTimestamp", "generation",
	"generateName",	 "finalizers",	    "ownerReferences",	 "managedFields",
	"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", NULL
};
void resource_head_free(struct resource_head *h)
{
	free(h->name);
	free(h->namespace);
	pal_labels_free(&h->labels);
	pal_labels_free(&h->annotations);
}

size_t decode_open(struct dctx *c, struct resource_head *h, struct pal_pos *pos, char **name,
		   char **namespace, struct pal_labels *labels)
{
	*pos = node_pos(c, h->root);
	*name = h->name;
	h->name = NULL;
	if (namespace) {
		*namespace = h->namespace;
		h->namespace = NULL;
	}
	if (labels) {
		*labels = h->labels;
		memset(&h->labels, 0, sizeof(h->labels));
	}
	return c->d->n_errors;
}

void check_subdomain_name(struct dctx *c, const struct resource_head *h, const char *what,
			  const char *name)
{
	if (!is_dns_subdomain(name))
		derr_name(c, h, "invalid %s \"%s\": must be lower case alphanumeric characters, '-' "
				"or '.'", what, name);
}

void derr_name(struct dctx *c, const struct resource_head *h, const char *fmt, ...)
{
	const struct yt_node *n = yt_map_get(h->metadata, "name");
	size_t old = path_push(c, "metadata");
	char msg[1024];
	va_list ap;

	path_push(c, "name");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	derr(c, n ? n : h->metadata, "%s", msg);
	path_pop(c, old);
}

bool decode_metadata(struct dctx *c, struct resource_head *h, bool namespaced)
{
	size_t errors = c->d->n_errors, old;

	h->namespaced = namespaced;
	if (!h->metadata) {
		derr(c, h->root, "missing required field \"metadata\" (with at least a name)");
		return false;
	}
	old = path_push(c, "metadata");
	if (!check_fields(c, h->metadata, metadata_fields, metadata_ignored)) {
		path_pop(c, old);
		return false;
	}
	if (get_str(c, h->metadata, "name", &h->name) == 0)
		derr_field(c, h->metadata, "name", "missing required field \"name\"");
	else if (h->name && h->name[0] == '\0')
		derr_field(c, h->metadata, "name", "name must not be empty");
	if (get_opt_str(c, h->metadata, "namespace", &h->namespace) > 0) {
		if (!namespaced)
			derr_field(c, h->metadata, "namespace",
				   "this kind is not namespaced; remove metadata.namespace");
		else if (!is_dns_label(h->namespace))
			derr_field(c, h->metadata, "namespace",
				   "invalid namespace \"%s\": must be a DNS label (lower case "
				   "alphanumeric characters or '-')",
				   h->namespace);
	} else if (namespaced) {
		h->namespace = xstrdup("default"); /* as calicoctl and kubectl default it */
	}
	get_labels(c, h->metadata, "labels", &h->labels, LABELS_LABELS);
	get_labels(c, h->metadata, "annotations", &h->annotations, LABELS_ANNOTATIONS);
	path_pop(c, old);
	return c->d->n_errors == errors;
}
