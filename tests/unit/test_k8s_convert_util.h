/* Helpers shared by test_k8s_convert*.c: run pal_k8s_convert on JSON text, find and read the
 * documents it produced. */
#ifndef TEST_K8S_CONVERT_UTIL_H
#define TEST_K8S_CONVERT_UTIL_H

#include <jansson.h>
#include "convert.h"

/* Node "node-1", Calico veth names, no auto host endpoints. */
extern const struct pal_k8s_convert_cfg kc_cfg;

json_t *kc_parse(const char *text);
/* Converts obj; asserts success and returns the documents (caller json_decref's). */
json_t *kc_ok(const json_t *obj, const struct pal_k8s_convert_cfg *cfg);
/* Same for JSON text. */
json_t *kc_ok_text(const char *text, const struct pal_k8s_convert_cfg *cfg);
/* Asserts -EINVAL, an error containing want, and nothing appended. */
void kc_fails(const json_t *obj, const struct pal_k8s_convert_cfg *cfg, const char *want);
/* The document of kind `kind` (the n-th one), or NULL. */
const json_t *kc_doc(const json_t *docs, const char *kind, size_t n);
/* Follows object keys (NULL-terminated list; keys may contain dots and slashes). */
const json_t *kc_get(const json_t *o, ...) __attribute__((sentinel));
/* kc_get's string value (NULL when missing or not a string). */
#define kc_str(...) json_string_value(kc_get(__VA_ARGS__))
/* Sets a (dotted) path "spec.nodeName" in obj to value (taken), creating objects on the way. */
void kc_set(json_t *obj, const char *path, json_t *value);
/* Loads docs with pal_model_load_buffer, validates and compiles them for node-1; asserts no
 * errors. Returns the number of endpoints of node-1 in the IR. */
size_t kc_load_compile(const json_t *docs);

#endif
