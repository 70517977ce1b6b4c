/* kubeconfig and in-cluster configuration (see kubeconfig.h). */
#include "kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_tree.h"

#define PAL_K8S_DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kc_parse {
	const char *name;
	const char *base_dir;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 4, 5))) static int kc_error(const struct kc_parse *p,
							  const struct yt_node *at,
							  const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		snprintf(p->err, p->errlen, "%s:%d:%d: %s: %s", p->name, at->line, at->col,
			 field, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s%s%s", p->name, field ? field : "",
			 field ? ": " : "", msg);
	return -EINVAL;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pal_k8s_base64_decode(const char *in, size_t len, struct pal_k8s_blob *out)
{
	char *buf = malloc(len / 4 * 3 + 4);
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;
	bool padded = false;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			padded = true;
			continue;
		}
		if (padded || (v = b64_value(c)) < 0)
			goto bad; /* data after padding, or not base64 */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6)
		goto bad; /* a lone 6-bit group encodes no byte */
	buf[n] = '\0';
	out->data = buf;
	out->len = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* A scalar field's text, or NULL when absent or null. A non-scalar is an error. */
static int kc_string(const struct kc_parse *p, const struct yt_node *map, const char *key,
		     const char *path, const char **out)
{
	const struct yt_node *v = yt_map_get(map, key);

	*out = NULL;
	if (!v || yt_is_null(v))
		return 0;
	if (v->kind != YT_SCALAR)
		return kc_error(p, v, path, "expected a string, found %s", yt_kind_name(v));
	*out = v->text;
	return 0;
}

static int kc_dup(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

__attribute__((format(printf, 2, 3))) static int kc_format(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		*out = NULL;
	return n < 0 ? -ENOMEM : 0;
}

/* A path field: relative paths are taken from the kubeconfig's directory. */
static int kc_path(const struct kc_parse *p, const struct yt_node *map, const char *key,
		   const char *path, char **out)
{
	const char *s;
	int rc = kc_string(p, map, key, path, &s);

	*out = NULL;
	if (rc || !s || !*s)
		return rc;
	if (s[0] == '/' || !p->base_dir || !*p->base_dir)
		return kc_dup(s, out);
	return kc_format(out, "%s/%s", p->base_dir, s);
}

static int kc_data(const struct kc_parse *p, const struct yt_node *map, const char *key,
		   const char *path, struct pal_k8s_blob *out)
{
	const struct yt_node *v = yt_map_get(map, key);
	const char *s;
	int rc = kc_string(p, map, key, path, &s);

	if (rc || !s || !*s)
		return rc;
	rc = pal_k8s_base64_decode(s, strlen(s), out);
	if (rc == -EINVAL)
		return kc_error(p, v, path, "not base64");
	return rc;
}

/* The entry of a named list (clusters, users, contexts) called `want`, and its inner mapping. */
static int kc_find(const struct kc_parse *p, const struct yt_node *root, const char *list,
		   const char *inner, const char *want, const struct yt_node **out, char *path,
		   size_t pathlen)
{
	const struct yt_node *seq = yt_map_get(root, list);

	*out = NULL;
	if (!seq || yt_is_null(seq))
		return kc_error(p, NULL, list, "missing (no entry named \"%s\")", want);
	if (seq->kind != YT_SEQ)
		return kc_error(p, seq, list, "expected a list, found %s", yt_kind_name(seq));
	for (size_t i = 0; i < seq->n_items; i++) {
		const struct yt_node *e = seq->items[i], *n, *in;

		if (e->kind != YT_MAP)
			continue;
		n = yt_map_get(e, "name");
		if (!n || n->kind != YT_SCALAR || strcmp(n->text, want))
			continue;
		snprintf(path, pathlen, "%s[%zu].%s", list, i, inner);
		in = yt_map_get(e, inner);
		if (!in || in->kind != YT_MAP)
			return kc_error(p, in ? in : e, path, "expected a mapping");
		*out = in;
		return 0;
	}
	return kc_error(p, seq, list, "no entry named \"%s\"", want);
}

#define FIELD(buf, base, key) (snprintf((buf), sizeof(buf), "%s.%s", (base), (key)), (buf))

static int kc_cluster(const struct kc_parse *p, const struct yt_node *c, const char *base,
		      struct pal_k8s_conn *out)
{
	char f[160];
	const char *server, *insecure;
	int rc;

	if ((rc = kc_string(p, c, "server", FIELD(f, base, "server"), &server)))
		return rc;
	if (!server || !*server)
		return kc_error(p, c, FIELD(f, base, "server"), "missing");
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return kc_error(p, yt_map_get(c, "server"), f, "\"%s\" is not an http(s) URL", server);
	if (!(out->server = strdup(server)))
		return -ENOMEM;
	for (size_t n = strlen(out->server); n > 0 && out->server[n - 1] == '/'; n--)
		out->server[n - 1] = '\0';
	if ((rc = kc_path(p, c, "certificate-authority", FIELD(f, base, "certificate-authority"),
			  &out->ca_file)) ||
	    (rc = kc_data(p, c, "certificate-authority-data",
			  FIELD(f, base, "certificate-authority-data"), &out->ca_data)) ||
	    (rc = kc_string(p, c, "insecure-skip-tls-verify",
			    FIELD(f, base, "insecure-skip-tls-verify"), &insecure)))
		return rc;
	if (insecure && strcmp(insecure, "true") && strcmp(insecure, "false"))
		return kc_error(p, yt_map_get(c, "insecure-skip-tls-verify"), f,
				"expected true or false, found \"%s\"", insecure);
	out->insecure = insecure && strcmp(insecure, "true") == 0;
	return 0;
}

static int kc_user(const struct kc_parse *p, const struct yt_node *u, const char *base,
		   struct pal_k8s_conn *out)
{
	static const char *const unsupported[] = { "exec", "auth-provider", "username", "password",
						   "as" };
	char f[160];
	const char *token;
	int rc;

	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (yt_map_get(u, unsupported[i]))
			return kc_error(p, yt_map_get(u, unsupported[i]),
					FIELD(f, base, unsupported[i]),
					"not supported by palisaded (use a token, tokenFile or a "
					"client certificate)");
	if ((rc = kc_string(p, u, "token", FIELD(f, base, "token"), &token)) ||
	    (rc = kc_dup(token && *token ? token : NULL, &out->token)) ||
	    (rc = kc_path(p, u, "tokenFile", FIELD(f, base, "tokenFile"), &out->token_file)) ||
	    (rc = kc_path(p, u, "client-certificate", FIELD(f, base, "client-certificate"),
			  &out->cert_file)) ||
	    (rc = kc_path(p, u, "client-key", FIELD(f, base, "client-key"), &out->key_file)) ||
	    (rc = kc_data(p, u, "client-certificate-data",
			  FIELD(f, base, "client-certificate-data"), &out->cert_data)) ||
	    (rc = kc_data(p, u, "client-key-data", FIELD(f, base, "client-key-data"),
			  &out->key_data)))
		return rc;
	if ((out->cert_file || out->cert_data.data) != (out->key_file || out->key_data.data))
		return kc_error(p, u, base, "a client certificate needs its key and a key its "
					    "certificate");
	return 0;
}

int pal_k8s_kubeconfig_parse(const char *name, const char *text, size_t len, const char *base_dir,
			     const char *context, struct pal_k8s_conn *out, char *err, size_t errlen)
{
	struct kc_parse p = { name, base_dir, err, errlen };
	struct yt_stream s = { 0 };
	const struct yt_node *root, *ctx, *cluster, *user;
	const char *ctx_name, *cluster_name, *user_name, *ns;
	char ctx_path[64], cluster_path[64], user_path[64];
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if ((rc = yt_parse(text, len, &s)))
		return rc;
	if (s.has_error) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, s.err_line, s.err_col, s.err_msg);
		rc = -EINVAL;
		goto out;
	}
	root = s.n_docs ? s.docs[0] : NULL;
	if (!root || root->kind != YT_MAP) {
		rc = kc_error(&p, NULL, NULL, "not a kubeconfig (expected a mapping)");
		goto out;
	}
	if (context)
		ctx_name = context;
	else if ((rc = kc_string(&p, root, "current-context", "current-context", &ctx_name)))
		goto out;
	if (!ctx_name || !*ctx_name) {
		rc = kc_error(&p, NULL, "current-context", "missing (no context to use)");
		goto out;
	}
	if ((rc = kc_find(&p, root, "contexts", "context", ctx_name, &ctx, ctx_path,
			  sizeof(ctx_path))))
		goto out;
	if ((rc = kc_string(&p, ctx, "cluster", "context.cluster", &cluster_name)) ||
	    (rc = kc_string(&p, ctx, "user", "context.user", &user_name)) ||
	    (rc = kc_string(&p, ctx, "namespace", "context.namespace", &ns)))
		goto out;
	if (!cluster_name) {
		rc = kc_error(&p, ctx, ctx_path, "names no cluster");
		goto out;
	}
	if ((rc = kc_find(&p, root, "clusters", "cluster", cluster_name, &cluster, cluster_path,
			  sizeof(cluster_path))) ||
	    (rc = kc_cluster(&p, cluster, cluster_path, out)))
		goto out;
	if (user_name && *user_name &&
	    ((rc = kc_find(&p, root, "users", "user", user_name, &user, user_path,
			   sizeof(user_path))) ||
	     (rc = kc_user(&p, user, user_path, out))))
		goto out;
	if ((rc = kc_dup(ns, &out->namespace)) || (rc = kc_dup(ctx_name, &out->context)))
		goto out;
out:
	yt_stream_free(&s);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", name);
		pal_k8s_conn_free(out);
	}
	return rc;
}

/* The first line of a small file, trimmed; NULL into *out when the file is absent. */
static int read_small_file(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char buf[4096];
	size_t n;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

int pal_k8s_incluster(const char *host, const char *port, const char *sa_dir,
		      struct pal_k8s_conn *out, char *err, size_t errlen)
{
	bool v6;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sa_dir)
		sa_dir = PAL_K8S_DEFAULT_SA_DIR;
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen, "not in a cluster: KUBERNETES_SERVICE_HOST and "
				      "KUBERNETES_SERVICE_PORT are not set (use --kubeconfig FILE)");
		return -EINVAL;
	}
	v6 = strchr(host, ':') != NULL;
	if ((rc = kc_format(&out->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
			    port)) ||
	    (rc = kc_format(&out->token_file, "%s/token", sa_dir)) ||
	    (rc = kc_format(&out->ca_file, "%s/ca.crt", sa_dir)))
		goto fail;
	char ns_path[4096];

	snprintf(ns_path, sizeof(ns_path), "%s/namespace", sa_dir);
	if ((rc = read_small_file(ns_path, &out->namespace)) < 0 && rc != -ENOMEM) {
		snprintf(err, errlen, "%s: %s", ns_path, strerror(-rc));
		goto fail;
	}
	if (rc == 0)
		return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	pal_k8s_conn_free(out);
	return rc;
}

void pal_k8s_conn_free(struct pal_k8s_conn *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_data.data);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data.data);
	free(c->key_data.data);
	free(c->namespace);
	free(c->context);
	memset(c, 0, sizeof(*c));
}
