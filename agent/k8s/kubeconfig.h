/* Where the Kubernetes API server is and how to authenticate to it: a kubeconfig file
 * (--kubeconfig) or the pod's in-cluster service account.
 *
 * Pure: text in, struct out (the in-cluster form reads the service-account directory it is given).
 * The transport (k8s_http.c) hands the file and -data forms to libcurl as they are, and re-reads
 * token_file when it changes on disk (the kubelet rotates projected tokens).
 */
#ifndef PAL_K8S_KUBECONFIG_H
#define PAL_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* A byte string (decoded *-data fields: PEM text). */
struct pal_k8s_blob {
	char *data;
	size_t len;
};

struct pal_k8s_conn {
	char *server;                  /* "https://host:port" without a trailing '/' */
	char *ca_file;                 /* certificate-authority (path), or NULL */
	struct pal_k8s_blob ca_data;   /* certificate-authority-data, decoded */
	char *token;                   /* a static bearer token, or NULL */
	char *token_file;              /* tokenFile / the service-account token, or NULL */
	char *cert_file, *key_file;    /* client-certificate / client-key (paths) */
	struct pal_k8s_blob cert_data, key_data; /* client-certificate-data / client-key-data */
	bool insecure;                 /* insecure-skip-tls-verify */
	char *namespace;               /* the context's namespace or the in-cluster one; may be NULL */
	char *context;                 /* the context used (kubeconfig), for messages */
};

/* Parses a kubeconfig's text (YAML or JSON). `name` (the file name) prefixes messages; relative
 * paths in the file are resolved against base_dir (the file's directory), as kubectl does. The
 * context is `context` when non-NULL, else current-context. Returns 0; -EINVAL with
 * "NAME:LINE:COL: FIELD: problem" in err (or "NAME: problem" without a position); -ENOMEM. */
int pal_k8s_kubeconfig_parse(const char *name, const char *text, size_t len, const char *base_dir,
			     const char *context, struct pal_k8s_conn *out, char *err, size_t errlen);

/* The in-cluster configuration: host and port from KUBERNETES_SERVICE_HOST/PORT (passed in),
 * the token file, ca.crt and namespace from sa_dir (normally
 * /var/run/secrets/kubernetes.io/serviceaccount). Returns 0, -EINVAL (message in err), -ENOMEM. */
int pal_k8s_incluster(const char *host, const char *port, const char *sa_dir,
		      struct pal_k8s_conn *out, char *err, size_t errlen);

void pal_k8s_conn_free(struct pal_k8s_conn *c);

/* Standard base64 (padding optional, whitespace skipped). Returns 0, -EINVAL, -ENOMEM. */
int pal_k8s_base64_decode(const char *in, size_t len, struct pal_k8s_blob *out);

#endif
