/* Private to the converter (agent/k8s-convert/): the state of one pal_k8s_convert() call and
 * the helpers every per-kind converter uses.
 *
 * Reading: the get_* helpers look up one field of a JSON object, check its type and report a bad
 * one as "<path>: <problem>" in the caller's error buffer. They return 1 when the field is
 * present, 0 when it is absent or JSON null (the API server omits empty fields, and null means the
 * same), -EINVAL after reporting. Writing: the put_* helpers build the output documents and return
 * 0 or -ENOMEM.
 */
#ifndef PALISADE_K8S_CONVERT_INTERNAL_H
#define PALISADE_K8S_CONVERT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "convert.h"

/* Library symbols: the short names below are for this code only; every program that links the
 * core library shares one namespace of globals, so the library exports them prefixed. */
#define k8s_annotation                 pal_k8sc_annotation
#define k8s_convert_calico             pal_k8sc_convert_calico
#define k8s_convert_endpoint_slice     pal_k8sc_convert_endpoint_slice
#define k8s_convert_k8s_network_policy pal_k8sc_convert_k8s_network_policy
#define k8s_convert_namespace          pal_k8sc_convert_namespace
#define k8s_convert_node               pal_k8sc_convert_node
#define k8s_convert_pod                pal_k8sc_convert_pod
#define k8s_convert_service            pal_k8sc_convert_service
#define k8s_convert_service_account    pal_k8sc_convert_service_account
#define k8s_fail                       pal_k8sc_fail
#define k8s_get_array                  pal_k8sc_get_array
#define k8s_get_bool                   pal_k8sc_get_bool
#define k8s_get_int                    pal_k8sc_get_int
#define k8s_get_item_string            pal_k8sc_get_item_string
#define k8s_get_meta                   pal_k8sc_get_meta
#define k8s_get_object                 pal_k8sc_get_object
#define k8s_get_string                 pal_k8sc_get_string
#define k8s_item_object                pal_k8sc_item_object
#define k8s_new_doc                    pal_k8sc_new_doc
#define k8s_parse_addr                 pal_k8sc_parse_addr
#define k8s_put                        pal_k8sc_put
#define k8s_put_str                    pal_k8sc_put_str

#define K8S_CALICO_V3 "projectcalico.org/v3"
#define K8S_CALICO_CRD "crd.projectcalico.org/v1"
#define K8S_LABEL_SERVICE_NAME "kubernetes.io/service-name"

struct k8s_conv {
	const json_t *obj;
	const struct pal_k8s_convert_cfg *cfg;
	json_t *docs; /* what this object becomes; appended to the caller's array only on success */
	char *err;
	size_t errlen;
};

/* The parts of metadata every converter needs (borrowed from the object). */
struct k8s_meta {
	const char *name;
	const char *ns;            /* NULL when absent */
	const json_t *labels;      /* object of strings, or NULL */
	const json_t *annotations; /* object of strings, or NULL */
	bool deleting;             /* metadata.deletionTimestamp is set */
};

/* Writes "path: message" into the error buffer; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) int k8s_fail(struct k8s_conv *c, const char *path,
						  const char *fmt, ...);

int k8s_get_object(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		   const json_t **out);
int k8s_get_array(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		  const json_t **out);
int k8s_get_string(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		   const char **out);
/* Item i of the array read at path base must be an object: 0, or the error "base[i]: not an
 * object". */
int k8s_item_object(struct k8s_conv *c, const json_t *item, const char *base, size_t i);
/* k8s_get_string of field key of item i of the array at base, with path set to "base[i].key" (the
 * caller's buffer, for later messages about the value). */
int k8s_get_item_string(struct k8s_conv *c, const json_t *item, const char *base, size_t i,
			const char *key, char *path, size_t path_size, const char **out);
int k8s_get_bool(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		 bool *out);
/* An integer in [min, max]. */
int k8s_get_int(struct k8s_conv *c, const json_t *parent, const char *key, const char *path,
		long long min, long long max, long long *out);
/* metadata: name (required), namespace (required when namespaced), labels, annotations. */
int k8s_get_meta(struct k8s_conv *c, bool namespaced, struct k8s_meta *m);
/* The value of annotation key, or NULL. */
const char *k8s_annotation(const struct k8s_meta *m, const char *key);

/* "addr" or "addr/len" -> the address itself (Calico keeps a pod's or node's address, not the
 * network around it). */
struct pal_addr;
int k8s_parse_addr(struct k8s_conv *c, const char *text, const char *path, struct pal_addr *out);

/* Output. */
int k8s_put_str(json_t *o, const char *key, const char *value);
int k8s_put(json_t *o, const char *key, json_t *value); /* takes value, even on failure */
/* A new document {apiVersion, kind, metadata: {name[, namespace][, labels]}} in *doc, appended
 * to c->docs (which owns it); labels is copied (NULL: none). */
int k8s_new_doc(struct k8s_conv *c, const char *api_version, const char *kind, const char *name,
		const char *ns, const json_t *labels, json_t **doc);

/* Per-kind converters (each validates what it reads and fills c->docs). */
int k8s_convert_pod(struct k8s_conv *c);
int k8s_convert_namespace(struct k8s_conv *c);
int k8s_convert_service_account(struct k8s_conv *c);
/* crd.projectcalico.org/v1 and projectcalico.org/v3 kinds. */
int k8s_convert_calico(struct k8s_conv *c, const char *kind);
int k8s_convert_k8s_network_policy(struct k8s_conv *c);
int k8s_convert_node(struct k8s_conv *c);
int k8s_convert_service(struct k8s_conv *c);
int k8s_convert_endpoint_slice(struct k8s_conv *c);

#endif
