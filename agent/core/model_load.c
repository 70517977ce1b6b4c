/* Loading: buffers, files and directories -> yaml_tree -> per-kind decoders (see model.h).
 *
 * Decisions (Calico/kubectl behaviour where there is one):
 *  - Namespaced kinds without metadata.namespace get "default", as calicoctl and kubectl do.
 *  - Cluster-scoped kinds with metadata.namespace are an error (the field would be ignored).
 *  - Server-set metadata (uid, resourceVersion, ...) is accepted and ignored, so the output of
 *    `kubectl get -o yaml` loads.
 *  - `kind: List` (apiVersion v1 or projectcalico.org/v3) with `items` is expanded, and so is
 *    `kind: <Kind>List` (GlobalNetworkPolicyList...) as calicoctl prints it.
 *  - crd.projectcalico.org/v1, the form Calico's Kubernetes datastore stores (`kubectl get
 *    globalnetworkpolicies.crd.projectcalico.org -o yaml`), is read as projectcalico.org/v3 for
 *    the kinds that datastore serves as policy (as --datastore kubernetes reads them: the CRDs
 *    hold the v3 spec; a "default." name prefix is the default tier's, as a v3 name's is).
 *  - A document that is a plain sequence of resources (`- apiVersion: ...`), which calicoctl
 *    accepts and Calico's docs use, loads like a List; field paths start with the item's index
 *    ("[1].spec.selector").
 */
#include "decode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CALICO_V3 "projectcalico.org/v3"
#define CALICO_CRD "crd.projectcalico.org/v1"
#define K8S_NETWORKING_V1 "networking.k8s.io/v1"
#define K8S_CORE_V1 "v1"
#define K8S_DISCOVERY_V1 "discovery.k8s.io/v1"
/* Larger inputs are rejected rather than read: a policy file of this size is a mistake. */
#define MAX_FILE_SIZE (64u << 20)

static const char *const top_fields[] = { "apiVersion", "kind", "metadata", "spec", NULL };
static const char *const top_ignored_k8s[] = { "status", NULL };
/* An EndpointSlice has no spec: its fields are at the top. */
static const char *const slice_top_fields[] = { "apiVersion", "kind", "metadata", "addressType",
						"endpoints", "ports", NULL };
static const char *const list_fields[] = { "apiVersion", "kind", "items", "metadata", NULL };

/* The resource kinds palisade reads, and the decoder of each. */
static const struct kind_info {
	const char *api_version, *kind;
	void (*decode)(struct dctx *c, struct resource_head *h);
	bool namespaced;
	bool k8s; /* Kubernetes objects may carry status */
} kinds[] = {
	{ CALICO_V3, "GlobalNetworkPolicy", decode_policy, false, false },
	{ CALICO_V3, "NetworkPolicy", decode_policy, true, false },
	{ CALICO_V3, "Tier", decode_tier, false, false },
	{ CALICO_V3, "HostEndpoint", decode_host_endpoint, false, false },
	{ CALICO_V3, "WorkloadEndpoint", decode_workload_endpoint, true, false },
	{ CALICO_V3, "Profile", decode_profile, false, false },
	{ CALICO_V3, "GlobalNetworkSet", decode_network_set, false, false },
	{ CALICO_V3, "NetworkSet", decode_network_set, true, false },
	/* The same resources as Calico's Kubernetes datastore stores them (agent/k8s-convert's
	 * convert_calico.c reads the same six kinds from there). */
	{ CALICO_CRD, "GlobalNetworkPolicy", decode_policy, false, false },
	{ CALICO_CRD, "NetworkPolicy", decode_policy, true, false },
	{ CALICO_CRD, "Tier", decode_tier, false, false },
	{ CALICO_CRD, "HostEndpoint", decode_host_endpoint, false, false },
	{ CALICO_CRD, "GlobalNetworkSet", decode_network_set, false, false },
	{ CALICO_CRD, "NetworkSet", decode_network_set, true, false },
	{ K8S_NETWORKING_V1, "NetworkPolicy", decode_k8s_policy, true, true },
	{ K8S_CORE_V1, "Namespace", decode_namespace, false, true },
	{ K8S_CORE_V1, "Service", decode_service, true, true },
	{ K8S_DISCOVERY_V1, "EndpointSlice", decode_endpoint_slice, true, true },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const kind_names[] = { "GlobalNetworkPolicy", "NetworkPolicy", "Tier",
					  "HostEndpoint", "WorkloadEndpoint", "Profile",
					  "GlobalNetworkSet", "NetworkSet", "Namespace", "Service",
					  "EndpointSlice", "List", NULL };

/* Calico's other projectcalico.org/v3 kinds: they configure networking, IPAM, BGP or felix, or
 * stage a policy without enforcing it, so no packet's verdict depends on them. A manifest that
 * mixes them with policy loads with a warning instead of failing, as calicoctl applies it. */
static const char *const calico_kinds_without_policy[] = {
	"BGPConfiguration", "BGPFilter", "BGPPeer", "BlockAffinity", "CalicoNodeStatus",
	"ClusterInformation", "FelixConfiguration", "IPAMConfiguration", "IPPool",
	"IPReservation", "KubeControllersConfiguration", "Node", "StagedGlobalNetworkPolicy",
	"StagedKubernetesNetworkPolicy", "StagedNetworkPolicy", NULL
};
/* The CRDs of Calico's Kubernetes datastore that only it has (IPAM's bookkeeping). */
static const char *const calico_crd_kinds_without_policy[] = { "IPAMBlock", "IPAMConfig",
							       "IPAMHandle", NULL };

static bool in_names(const char *kind, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (strcmp(kind, names[i]) == 0)
			return true;
	return false;
}

static bool is_calico_kind_without_policy(const char *api, const char *kind)
{
	if (strcmp(api, CALICO_V3) == 0)
		return in_names(kind, calico_kinds_without_policy);
	if (strcmp(api, CALICO_CRD) == 0)
		return in_names(kind, calico_kinds_without_policy) ||
		       in_names(kind, calico_crd_kinds_without_policy);
	return false;
}

static void warn_kind_ignored(struct dctx *c, const struct yt_node *root, const char *kind)
{
	const struct yt_node *n = yt_map_get(root, "kind");
	const char *why = "";
	size_t old = path_push(c, "kind");

	if (strncmp(kind, "Staged", 6) == 0)
		why = " (Calico does not enforce staged policy either)";
	else if (strcmp(kind, "FelixConfiguration") == 0)
		why = " (palisaded's flags set the policy options felix reads from it)";
	pal_warn(c->d, node_pos(c, n), c->path, "%s is not policy palisade enforces%s; ignored", kind,
		 why);
	path_pop(c, old);
}

static void decode_resource(struct dctx *c, const struct yt_node *root);

static void decode_list(struct dctx *c, const struct yt_node *root)
{
	const struct yt_node *items = yt_map_get(root, "items");
	size_t old;

	check_fields(c, root, list_fields, NULL);
	if (yt_is_null(items))
		return; /* an empty List */
	old = path_push(c, "items");
	if (expect_seq(c, items)) {
		for (size_t i = 0; i < items->n_items; i++) {
			size_t o2 = path_push_index(c, i);

			decode_resource(c, items->items[i]);
			path_pop(c, o2);
		}
	}
	path_pop(c, old);
}

static const struct kind_info *find_kind(const char *api, const char *kind)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i].api_version, api) == 0 && strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

/* "<Kind>List" with the kind's apiVersion, as `calicoctl get -o yaml` prints several resources. */
static bool is_typed_list(const char *api, const char *kind)
{
	size_t l = strlen(kind);
	char base[64];

	if (l <= 4 || l - 4 >= sizeof(base) || strcmp(kind + l - 4, "List") != 0)
		return false;
	memcpy(base, kind, l - 4);
	base[l - 4] = '\0';
	return find_kind(api, base) != NULL || is_calico_kind_without_policy(api, base);
}

/* Reports why (apiVersion, kind) is not a known pair, suggesting the right one. */
static void report_kind(struct dctx *c, const struct yt_node *root, const char *api,
			const char *kind)
{
	char apis[256];
	size_t n = 0, total = 0, len = 0;

	/* The apiVersions the kind has: "A", "A or B", "A, B or C", in the table's order. */
	apis[0] = '\0';
	for (size_t i = 0; i < N_KINDS; i++)
		total += strcmp(kinds[i].kind, kind) == 0;
	for (size_t i = 0; i < N_KINDS && len < sizeof(apis) - 1; i++) {
		int w;

		if (strcmp(kinds[i].kind, kind) != 0)
			continue;
		w = snprintf(apis + len, sizeof(apis) - len, "%s%s",
			     n == 0 ? "" : n + 1 == total ? " or " : ", ", kinds[i].api_version);
		if (w > 0)
			len += (size_t)w;
		n++;
	}
	if (n > 0) {
		derr_field(c, root, "apiVersion", "kind %s needs apiVersion %s, not \"%s\"", kind,
			   apis, api);
	} else {
		derr_choice(c, root, "kind", "unknown kind", kind, kind_names,
			    "expected one of GlobalNetworkPolicy, NetworkPolicy, Tier, HostEndpoint, "
			    "WorkloadEndpoint, Profile, GlobalNetworkSet, NetworkSet, Namespace, "
			    "Service, EndpointSlice or List");
	}
}

static void decode_resource(struct dctx *c, const struct yt_node *root)
{
	struct resource_head h;
	const struct kind_info *ki;
	char *api = NULL, *kind = NULL;

	memset(&h, 0, sizeof(h));
	if (!expect_map(c, root))
		return;
	if (get_str(c, root, "apiVersion", &api) == 0)
		derr(c, root, "missing required field \"apiVersion\"");
	if (get_str(c, root, "kind", &kind) == 0)
		derr(c, root, "missing required field \"kind\"");
	if (!api || !kind)
		goto out;
	if (strcmp(kind, "List") == 0 &&
	    (strcmp(api, K8S_CORE_V1) == 0 || strcmp(api, CALICO_V3) == 0)) {
		decode_list(c, root);
		goto out;
	}
	ki = find_kind(api, kind);
	if (!ki && is_typed_list(api, kind)) {
		decode_list(c, root);
		goto out;
	}
	if (!ki && is_calico_kind_without_policy(api, kind)) {
		warn_kind_ignored(c, root, kind);
		goto out;
	}
	if (!ki) {
		report_kind(c, root, api, kind);
		goto out;
	}
	check_fields(c, root, ki->decode == decode_endpoint_slice ? slice_top_fields : top_fields,
		     ki->k8s ? top_ignored_k8s : NULL);
	h.root = root;
	h.kind_node = yt_map_get(root, "kind");
	h.metadata = yt_map_get(root, "metadata");
	h.spec = yt_map_get(root, "spec");
	if (yt_is_null(h.spec))
		h.spec = NULL;
	if (h.spec && h.spec->kind != YT_MAP) {
		size_t old = path_push(c, "spec");

		expect_map(c, h.spec);
		path_pop(c, old);
		goto out;
	}
	if (!decode_metadata(c, &h, ki->namespaced))
		goto out;
	ki->decode(c, &h);
out:
	resource_head_free(&h);
	free(api);
	free(kind);
}

/* One YAML document: a resource, or a plain sequence of resources. */
static void decode_document(struct dctx *c, const struct yt_node *doc)
{
	if (doc->kind != YT_SEQ) {
		decode_resource(c, doc);
		return;
	}
	for (size_t i = 0; i < doc->n_items; i++) {
		size_t old = path_push_index(c, i);

		decode_resource(c, doc->items[i]);
		path_pop(c, old);
	}
}

static const char *intern_file(struct pal_model *m, const char *name)
{
	char *s;

	/* Callers load each name once (a directory's files, the Kubernetes datastore's objects), so
	 * only the latest name is worth reusing: comparing with every earlier one made loading n
	 * buffers quadratic (seconds for 12,000 objects). */
	if (m->files.n && strcmp(m->files.v[m->files.n - 1], name) == 0)
		return m->files.v[m->files.n - 1];
	s = xstrdup(name);
	VEC_PUSH(m->files, s);
	return s;
}

/* pal_model_load_buffer's work; ys is the caller's, which frees it. *n_docs counts the documents
 * that hold something. */
static int load_buffer(struct pal_model *m, const char *name, const char *buf, size_t len,
		       struct pal_diags *diags, struct yt_stream *ys, size_t *n_docs)
{
	struct dctx c;
	int r;

	memset(&c, 0, sizeof(c));
	c.m = m;
	c.d = diags;
	c.file = intern_file(m, name);
	c.buf = buf;
	c.len = len;
	r = yt_parse(buf, len, ys);
	if (r < 0) {
		struct pal_pos p = { .file = c.file };

		pal_error(diags, p, NULL, "out of memory while parsing");
		return r;
	}
	for (size_t i = 0; i < ys->n_docs; i++) {
		/* An empty document (a trailing "---", a comment-only file) holds nothing. */
		if (!ys->docs[i] || yt_is_null(ys->docs[i]))
			continue;
		(*n_docs)++;
		decode_document(&c, ys->docs[i]);
	}
	if (ys->has_error) {
		struct pal_pos p = { .file = c.file, .line = ys->err_line, .col = ys->err_col };

		pal_error(diags, p, NULL, "%s", ys->err_msg);
	}
	return 0;
}

/* Out of memory anywhere below (oom.h) ends here: -ENOMEM, reported when the report fits. */
static int load_buffer_guarded(struct pal_model *m, const char *name, const char *buf, size_t len,
			       struct pal_diags *diags, size_t *n_docs)
{
	struct yt_stream ys;
	jmp_buf oom;
	jmp_buf *outer = pal_oom_exit_swap(&oom);
	volatile int r; /* set after setjmp returns: kept in memory across the longjmp */

	memset(&ys, 0, sizeof(ys));
	if (setjmp(oom) == 0) {
		r = load_buffer(m, name ? name : "<input>", buf, len, diags, &ys, n_docs);
	} else {
		r = -ENOMEM;
		if (setjmp(oom) == 0)
			pal_error(diags, (struct pal_pos){ .file = NULL }, NULL,
				  "%s: out of memory while decoding", name ? name : "<input>");
	}
	pal_oom_exit_swap(outer);
	yt_stream_free(&ys);
	return r;
}

int pal_model_load_buffer(struct pal_model *m, const char *name, const char *buf, size_t len,
			  struct pal_diags *diags)
{
	size_t n_docs = 0;

	return load_buffer_guarded(m, name, buf, len, diags, &n_docs);
}

int pal_model_load_file(struct pal_model *m, const char *path, struct pal_diags *diags)
{
	struct pal_pos pos = { .file = path };
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pal_error(diags, pos, NULL, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		pal_error(diags, pos, NULL, "cannot stat: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		pal_error(diags, pos, NULL, "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > MAX_FILE_SIZE) {
		r = -EFBIG;
		pal_error(diags, pos, NULL, "file too large (%lld bytes, at most %u)",
			  (long long)st.st_size, MAX_FILE_SIZE);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			pal_error(diags, pos, NULL, "read error: %s", strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	{
		size_t n_docs = 0, errors = diags->n_errors;

		r = load_buffer_guarded(m, path, buf, len, diags, &n_docs);
		/* A policy file that holds nothing is more likely a truncated write (`kubectl get
		 * ... > f` that failed, a copy cut short) than a wish to enforce nothing: its old
		 * policies must not silently go. kubectl and calicoctl refuse an empty file too. An
		 * empty List ("items: []") is a resource and loads. */
		if (r == 0 && n_docs == 0 && diags->n_errors == errors)
			pal_error(diags, pos, NULL,
				  "the file holds no resources (empty, or only comments and "
				  "\"---\"); delete it, or give it another extension than .yaml, "
				  ".yml or .json to keep it in the directory unread");
	}
out:
	free(buf);
	close(fd);
	return r;
}

/* ---- directories ---- */

struct file_list {
	char **v;
	size_t n, cap;
};

struct dir_seen {
	struct {
		dev_t dev;
		ino_t ino;
	} * v;
	size_t n, cap;
};

static bool has_policy_ext(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 ||
		       strcmp(dot, ".json") == 0);
}

/* Collects policy files below dir. Names starting with '.' are skipped: that also skips a
 * Kubernetes ConfigMap mount's "..data" link and "..<timestamp>" directory, whose files are
 * read once through the visible top-level symlinks (stat follows them). Directories reached
 * twice (symlink loops) are read once. */
static int collect(const char *dir, struct file_list *out, struct dir_seen *seen,
		   struct pal_diags *diags, int depth)
{
	struct pal_pos pos = { .file = dir };
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if (depth > 32) {
		pal_error(diags, pos, NULL, "directory tree too deep");
		return -ELOOP;
	}
	d = opendir(dir);
	if (!d) {
		r = -errno;
		pal_error(diags, pos, NULL, "cannot open directory: %s", strerror(-r));
		return r;
	}
	if (fstat(dirfd(d), &st) == 0) {
		for (size_t i = 0; i < seen->n; i++) {
			if (seen->v[i].dev == st.st_dev && seen->v[i].ino == st.st_ino) {
				closedir(d);
				return 0;
			}
		}
		vec_reserve((void **)&seen->v, &seen->cap, seen->n + 1, sizeof(*seen->v));
		seen->v[seen->n].dev = st.st_dev;
		seen->v[seen->n].ino = st.st_ino;
		seen->n++;
	}
	while ((de = readdir(d))) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			pal_out_of_memory();
		if (stat(path, &st) < 0) {
			int e = -errno;
			struct pal_pos p = { .file = path };

			/* A dangling symlink: report, keep going with the rest. */
			pal_error(diags, p, NULL, "cannot stat: %s", strerror(-e));
			if (!r)
				r = e;
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int e = collect(path, out, seen, diags, depth + 1);

			if (e && !r)
				r = e;
			free(path);
		} else if (S_ISREG(st.st_mode) && has_policy_ext(de->d_name)) {
			VEC_PUSH(*out, path);
		} else {
			free(path);
		}
	}
	closedir(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* collect() with out of memory caught (decode.h out_of_memory): -ENOMEM, reported. */
static int collect_files(const char *dir, struct file_list *files, struct dir_seen *seen,
			 struct pal_diags *diags)
{
	jmp_buf oom;
	jmp_buf *outer = pal_oom_exit_swap(&oom);
	int r;

	if (setjmp(oom)) {
		pal_oom_exit_swap(outer);
		pal_error(diags, (struct pal_pos){ .file = dir }, NULL,
			  "out of memory while listing the directory");
		return -ENOMEM;
	}
	r = collect(dir, files, seen, diags, 0);
	pal_oom_exit_swap(outer);
	return r;
}

int pal_model_load_dir(struct pal_model *m, const char *dir, struct pal_diags *diags)
{
	struct file_list files = { 0 };
	struct dir_seen seen = { 0 };
	int r = collect_files(dir, &files, &seen, diags);

	if (files.n)
		qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	for (size_t i = 0; i < files.n; i++) {
		int e = pal_model_load_file(m, files.v[i], diags);

		if (e && !r)
			r = e;
		free(files.v[i]);
	}
	free(files.v);
	free(seen.v);
	return r;
}
