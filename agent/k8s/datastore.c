/* The Kubernetes datastore: informers -> converted objects -> the policy model (see datastore.h). */
#include "datastore.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "k8s_state.h"
#include "log.h"
#include "oom.h"
#include "strbuf.h"
#include "vec.h"

/* What palisade watches. Pods of every node: local ones become endpoints, all of them feed the
 * selector address sets. Calico's CRDs are optional (a cluster without Calico has none). */
static const struct pal_k8s_resource watched[] = {
	{ "v1", "Namespace", "namespaces", false, NULL },
	{ "v1", "ServiceAccount", "serviceaccounts", false, NULL },
	{ "v1", "Pod", "pods", false, NULL },
	{ "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", false, NULL },
	{ "crd.projectcalico.org/v1", "Tier", "tiers", true, NULL },
	{ "crd.projectcalico.org/v1", "GlobalNetworkPolicy", "globalnetworkpolicies", true, NULL },
	{ "crd.projectcalico.org/v1", "NetworkPolicy", "networkpolicies", true, NULL },
	{ "crd.projectcalico.org/v1", "GlobalNetworkSet", "globalnetworksets", true, NULL },
	{ "crd.projectcalico.org/v1", "NetworkSet", "networksets", true, NULL },
	{ "crd.projectcalico.org/v1", "HostEndpoint", "hostendpoints", true, NULL },
	{ "v1", "Service", "services", false, NULL },
	{ "discovery.k8s.io/v1", "EndpointSlice", "endpointslices", false, NULL },
};
#define CALICO_CRD "crd.projectcalico.org/v1"
#define CALICO_V3 "projectcalico.org/v3"
#define CALICO_GROUP "projectcalico.org" /* both of them, in object ids */
#define CALICO_V3_DISCOVERY "/apis/" CALICO_V3
#define DISCOVERY_TIMEOUT_MS 10000
/* A 404 runs discovery again at once, but not more often than this. */
#define DISCOVERY_MIN_GAP_NS (10ull * 1000000000ull)
/* With auto host endpoints only. */
static const struct pal_k8s_resource nodes = { "v1", "Node", "nodes", false, NULL };
_Static_assert(sizeof(watched) / sizeof(watched[0]) + 1 <= PAL_K8S_MAX_RESOURCES,
	       "PAL_K8S_MAX_RESOURCES holds every watched resource and nodes");

/* The kind with its API group, as kubectl names it ("NetworkPolicy.networking.k8s.io"; the core
 * group's kinds alone: "Pod"): two groups may have a kind of one name (Kubernetes' and Calico's
 * NetworkPolicy), and their objects of one namespace/name are different objects. Calico's two
 * groups are one: projectcalico.org/v3 serves the objects the CRDs store, and an object keeps its
 * identity when discovery moves its resource from one to the other. */
static void qualified_kind(const struct pal_k8s_informer *inf, char *out, size_t len)
{
	const char *v = inf->res.api_version, *slash = strchr(v, '/');

	if (!slash)
		snprintf(out, len, "%s", inf->res.kind);
	else if (!strcmp(v, CALICO_CRD) || !strcmp(v, CALICO_V3))
		snprintf(out, len, "%s.%s", inf->res.kind, CALICO_GROUP);
	else
		snprintf(out, len, "%s.%.*s", inf->res.kind, (int)(slash - v), v);
}

/* "Kind.group/namespace/name" (or "Kind.group/name"): the object's key in the table, its
 * documents' file name after "k8s:", and its name in logs, /readyz and polctl status. */
static void object_id(const struct pal_k8s_informer *inf, const char *key, char *id, size_t len)
{
	char kind[128];

	qualified_kind(inf, kind, sizeof(kind));
	snprintf(id, len, "%s/%s", kind, key);
}

/* The documents as one YAML stream (JSON documents separated by "---"). NULL on -ENOMEM. */
static char *documents_text(const json_t *docs)
{
	struct pal_strbuf out = { 0 };
	size_t i;
	json_t *d;

	json_array_foreach(docs, i, d) {
		char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

		if (!t) {
			pal_strbuf_free(&out);
			return NULL;
		}
		pal_strbuf_printf(&out, "---\n%s\n", t);
		free(t);
	}
	return pal_strbuf_take(&out);
}

/* One version of an object, converted and decoded once: every reload borrows its resources
 * (pal_model_borrow_kept) instead of decoding every object again. Shared by the entry's "latest"
 * and "applied" versions, hence the count. */
struct k8s_version {
	unsigned refs;
	/* The documents' digest, to tell a real change from a status update without keeping them */
	uint8_t digest[SHA256_DIGEST_SIZE];
	/* kept has resources that feed the selector candidates (they go into the match key) */
	bool feeds_candidates;
	struct pal_model_kept *kept; /* its resources, in the compact form kept models take */
	struct pal_diags warnings; /* reported again with every load, as a file's would be */
	/* Its line of the state file (k8s_state.h): id, uid, resourceVersion and the documents,
	 * written for every applied version after each apply. */
	char *record;
	bool restored; /* read from the state file: in force before this agent started */
	/* pal_k8s_convert_isolation's stand-in for a rejected policy that had no good version */
	bool isolation;
};

static bool same_documents(const struct k8s_version *a, const struct k8s_version *b)
{
	return memcmp(a->digest, b->digest, sizeof(a->digest)) == 0;
}

static void version_put(struct k8s_version *v)
{
	if (!v || --v->refs)
		return;
	pal_model_kept_free(v->kept);
	pal_diags_free(&v->warnings);
	free(v->record);
	free(v);
}

/* One object of the table: its versions and why its latest one is not in force. A plain struct
 * (the table keeps its address): 12,000 objects as JSON objects with members took ~4 MiB. */
struct k8s_entry {
	struct k8s_version *latest;  /* the latest version good on its own (NULL: none yet) */
	struct k8s_version *applied; /* the version in force at the last apply */
	char *error;       /* why the latest version is not in force; NULL when it is */
	char *model_error; /* the whole model's last rejection (logged once) */
	bool held;         /* the whole model rejected "latest": "applied" is used */
	bool no_fit;       /* held: "latest" did not fit the datapath; until a new version comes */
	/* Held with no good version in force (none, or an isolation: of an earlier selector maybe):
	 * the isolation of the policy "latest" is, used instead so the pods it selects are not left
	 * open (NULL: not a policy, or not built; "applied" is used) */
	struct k8s_version *fallback;
	unsigned held_at; /* the load (ds->loads) whose errors held it back */
	/* The state file's record of the object (k8s_state.h) while its documents differ from the
	 * API's and nothing was applied yet: decoded only if the API's version is held back. */
	json_t *seed;
	/* Hashes of the API object's metadata.uid (0: none seen) and of the apiVersion it came from:
	 * a version of another uid from the same apiVersion is another object of the same name,
	 * which inherits nothing (forget_predecessor). A Calico object moved between
	 * projectcalico.org/v3 and the CRDs is the same object whatever uid each group shows. */
	uint64_t uid_hash, group_hash;
};

/* An error text that could not be copied (out of memory) still marks the object bad. */
static char error_nomem[] = "out of memory";

static void text_free(char *t)
{
	if (t != error_nomem)
		free(t);
}

static void text_set(char **slot, const char *msg)
{
	char *t = msg ? strdup(msg) : NULL;

	text_free(*slot);
	*slot = msg && !t ? error_nomem : t;
}

static struct k8s_entry *entry_of(const json_t *v)
{
	return (struct k8s_entry *)(uintptr_t)json_integer_value(v);
}

static struct k8s_entry *entry_get(const struct pal_k8s_datastore *ds, const char *id)
{
	return entry_of(json_object_get(ds->objects, id));
}

/* A new empty entry for id (not there yet). NULL on -ENOMEM. */
static struct k8s_entry *entry_add(struct pal_k8s_datastore *ds, const char *id)
{
	struct k8s_entry *e = calloc(1, sizeof(*e));

	if (e && json_object_set_new(ds->objects, id, json_integer((json_int_t)(uintptr_t)e))) {
		free(e);
		return NULL;
	}
	return e;
}

/* Points *slot at v (one more reference), releasing what it held. */
static void entry_set_version(struct k8s_version **slot, struct k8s_version *v)
{
	if (v == *slot)
		return;
	if (v)
		v->refs++;
	version_put(*slot);
	*slot = v;
}

static void entry_free(struct k8s_entry *e)
{
	version_put(e->latest);
	version_put(e->applied);
	version_put(e->fallback);
	text_free(e->error);
	text_free(e->model_error);
	json_decref(e->seed);
	free(e);
}

/* Does a version's model feed the compiler's selector candidates? Everything but policies and
 * tiers does (endpoints, network sets, namespaces, profiles, services). */
static bool feeds_candidates(const struct pal_model *m)
{
	/* A new kind of resource in the model: decide here whether it feeds the candidates. */
	_Static_assert(offsetof(struct pal_model, files) == 9 * sizeof(m->policies),
		       "struct pal_model changed: review feeds_candidates");
	return m->host_endpoints.n || m->workload_endpoints.n || m->profiles.n ||
	       m->network_sets.n || m->namespaces.n || m->services.n || m->endpoint_slices.n;
}

static void documents_digest(const char *text, uint8_t digest[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx h;

	sha256_init(&h);
	sha256_update(&h, strlen(text), (const uint8_t *)text);
	sha256_digest(&h, SHA256_DIGEST_SIZE, digest);
}

/* Decodes an object's documents (text, as pal_k8s_convert made them, or pal_k8s_convert_isolation
 * when isolation) on their own. 0 with *out set (one reference); -EINVAL with the problem in err
 * (a field path first); -ENOMEM. */
static int decode_version(const char *id, const char *text, const char *uid, const char *rv,
			  bool isolation, struct k8s_version **out, char *err, size_t errlen)
{
	struct k8s_version *v = calloc(1, sizeof(*v));
	struct pal_diags d = { 0 };
	struct pal_model m;
	char name[720];
	int rc = 0;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->refs = 1;
	v->isolation = isolation;
	snprintf(name, sizeof(name), "k8s:%s", id);
	pal_model_init(&m);
	documents_digest(text, v->digest);
	pal_model_load_buffer(&m, name, text, strlen(text), &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		if (d.v[i].severity == PAL_SEV_ERROR) {
			pald_diag_text(&d.v[i], err, errlen);
			rc = -EINVAL;
		}
	/* Asked of m, which the kept model takes whole (pal_model_keep moves every array). */
	v->feeds_candidates = rc == 0 && feeds_candidates(&m);
	/* The warnings' positions point to the model's file names, which the kept model takes. */
	if (rc == 0 && !(v->kept = pal_model_keep(&m)))
		rc = -ENOMEM;
	if (rc == 0 && !(v->record = pal_k8s_state_record(id, uid, rv, text, isolation)))
		rc = -ENOMEM;
	pal_model_free(&m);
	if (rc) {
		pal_diags_free(&d);
		version_put(v);
		return rc;
	}
	v->warnings = d;
	*out = v;
	return 0;
}

static const char *metadata_string(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* pal_k8s_convert, or pal_k8s_convert_isolation for a rejected policy's stand-in. */
typedef int (*converter_fn)(const json_t *obj, const struct pal_k8s_convert_cfg *cfg, json_t *out,
			    char *err, size_t errlen);

/* Converts obj (with convert) and decodes its documents on their own (decode_version). */
static int convert_one(struct pal_k8s_datastore *ds, const json_t *obj, const char *id,
		       converter_fn convert, struct k8s_version **out, char *err, size_t errlen)
{
	json_t *docs = json_array();
	char *text = NULL;
	int rc;

	*out = NULL;
	if (!docs)
		return -ENOMEM;
	rc = convert(obj, &ds->convert, docs, err, errlen);
	if (rc == 0 && !(text = documents_text(docs)))
		rc = -ENOMEM;
	json_decref(docs);
	if (rc == 0)
		rc = decode_version(id, text, metadata_string(obj, "uid"),
				    metadata_string(obj, "resourceVersion"),
				    convert == pal_k8s_convert_isolation, out, err, errlen);
	free(text);
	return rc;
}

/* Adds copies of src's diagnostics to dst (a version's warnings stay with the version). */
/* The diagnostics calls below unwind when the heap is exhausted (oom.h): each runs inside a frame
 * of its own (pal_oom_catch), so the agent gets -ENOMEM instead of an abort. */
struct diags_pair {
	struct pal_diags *dst;
	struct pal_diags *src;
};

static int copy_diags_unwinding(void *arg)
{
	const struct diags_pair *p = arg;

	for (size_t i = 0; i < p->src->n; i++) {
		const struct pal_diag *dg = &p->src->v[i];

		pal_diag_add(p->dst, dg->severity,
			     (struct pal_pos){ .file = dg->file, .line = dg->line, .col = dg->col },
			     dg->path, "%s", dg->message);
	}
	return 0;
}

/* 0, or -ENOMEM with the copies that fit in dst. */
static int copy_diags(struct pal_diags *dst, const struct pal_diags *src)
{
	struct diags_pair p = { dst, (struct pal_diags *)src };

	return pal_oom_catch(copy_diags_unwinding, &p);
}

static int append_diags_unwinding(void *arg)
{
	const struct diags_pair *p = arg;

	pal_diags_append(p->dst, p->src);
	return 0;
}

/* Moves src's diagnostics to dst: 0, or -ENOMEM with dst and src as they were. */
static int append_diags(struct pal_diags *dst, struct pal_diags *src)
{
	struct diags_pair p = { dst, src };

	return pal_oom_catch(append_diags_unwinding, &p);
}

static int report_load_out_of_memory_unwinding(void *d)
{
	pal_error(d, ((struct pal_pos){ 0 }), NULL,
		  "out of memory while building the model of the kubernetes objects");
	return 0;
}

/* 0 when the error is in d, -ENOMEM when even that did not fit. */
static int report_load_out_of_memory(struct pal_diags *d)
{
	return pal_oom_catch(report_load_out_of_memory_unwinding, d);
}

static void count_bad(struct pal_k8s_datastore *ds)
{
	const char *k;
	json_t *v;

	ds->n_bad = 0;
	json_object_foreach(ds->objects, k, v)
		if (entry_of(v)->error)
			ds->n_bad++;
}

static void mark_changed(struct pal_k8s_datastore *ds)
{
	if (!ds->changed)
		ds->first_change_ns = pald_now_ns();
	ds->changed = true;
	if (ds->on_change)
		ds->on_change(ds->ctx);
}

/* What stays in force of an object whose latest version is rejected, for the log. */
static const char *in_force_name(const struct k8s_version *v)
{
	return !v ? "nothing" :
	       v->isolation && v->restored ? "isolation (from before the restart)" :
	       v->isolation ? "isolation (its selector and directions, no rules)" :
	       v->restored ? "last good version from before the restart" : "last good";
}

/* Marks e bad with msg; says so when what stays in force is a version from before the restart or
 * the isolation of a policy without a good version. */
static void set_error(struct k8s_entry *e, const char *msg, const struct k8s_version *in_force)
{
	char buf[700];

	if (in_force && (in_force->restored || in_force->isolation)) {
		snprintf(buf, sizeof(buf), "%s (in force: %s)", msg,
			 in_force->isolation && in_force->restored ?
				 "isolation of its pods, no rules, from before the restart" :
			 in_force->isolation ? "isolation of its pods, no rules" :
					       "its last good version from before the restart");
		msg = buf;
	}
	text_set(&e->error, msg);
}

/* The state file's record of an object new to this agent, taken out of the seed (used once:
 * never for a later object of that name): NULL when it has none, or one of another object (the
 * API object's uid differs: deleted and created again while no agent ran). */
static json_t *seed_take(struct pal_k8s_datastore *ds, const char *id, const json_t *obj)
{
	const char *uid = metadata_string(obj, "uid"), *other_uid;
	json_t *r = json_incref((json_t *)pal_k8s_state_find(ds->seed, id, uid, &other_uid));

	if (other_uid)
		pald_log(PALD_LOG_INFO, "kubernetes: the state file holds an earlier object of that "
					"name (another uid): not used",
			 PALD_S("object", id), PALD_S("uid", uid), PALD_S("state_uid", other_uid));
	json_object_del(ds->seed, id);
	return r;
}

/* Does the state file's record r hold the documents of v? Then decoding it would only repeat v. */
static bool seed_is_version(const json_t *r, const struct k8s_version *v)
{
	uint8_t digest[SHA256_DIGEST_SIZE];

	documents_digest(json_string_value(json_object_get(r, "documents")), digest);
	return memcmp(digest, v->digest, sizeof(digest)) == 0;
}

/* The state file's version (record r) becomes e's version in force, as if this agent had applied
 * it, so that it stays in force when the API's version is rejected. Left out when it does not
 * decode (or out of memory). */
static void entry_restore(struct k8s_entry *e, const char *id, const json_t *r)
{
	struct k8s_version *v = NULL;
	char err[512] = "";
	int rc = decode_version(id, json_string_value(json_object_get(r, "documents")),
				json_string_value(json_object_get(r, "uid")),
				json_string_value(json_object_get(r, "resourceVersion")),
				json_is_true(json_object_get(r, "isolation")), &v, err, sizeof(err));

	if (rc) {
		pald_log(PALD_LOG_WARN, "kubernetes: the state file's version does not decode: not used",
			 PALD_S("object", id), PALD_S("error", rc == -ENOMEM ? "out of memory" : err));
		return;
	}
	v->restored = true;
	entry_set_version(&e->applied, v);
	version_put(v);
}

/* A new entry for an object the state file has a record of (r, taken): the API's version v (NULL:
 * it failed) is checked against it, and the file's version is decoded only when it may be needed.
 * The same documents: v is the version in force already. Others: the record waits in the entry
 * until the API's version is held back (hold_culprits) or applied (commit). v failed: the file's
 * version is in force. NULL on -ENOMEM. */
static struct k8s_entry *entry_from_seed(struct pal_k8s_datastore *ds, const char *id, json_t *r,
					 struct k8s_version *v)
{
	struct k8s_entry *e = entry_add(ds, id);

	if (!e)
		;
	else if (!v)
		entry_restore(e, id, r);
	else if (seed_is_version(r, v))
		entry_set_version(&e->applied, v);
	else
		e->seed = json_incref(r);
	json_decref(r);
	return e;
}

/* A policy rejected with no good version in force: its isolation (pal_k8s_convert_isolation)
 * becomes its latest version, so the pods it selects are not left open. False when obj is not a
 * policy or even its isolation does not convert (said loudly; what was in force stays). */
static bool isolate_rejected(struct pal_k8s_datastore *ds, struct k8s_entry **ep, const char *id,
			     const char *kind, const json_t *obj, const char *why)
{
	struct k8s_version *v = NULL;
	char err[512] = "";
	struct k8s_entry *e;
	bool same;
	int rc = convert_one(ds, obj, id, pal_k8s_convert_isolation, &v, err, sizeof(err));

	if (rc == -ENOENT)
		return false;
	if (rc) {
		pald_log(PALD_LOG_ERROR, "kubernetes: object rejected and even its selector and "
					 "directions cannot be enforced: it isolates nothing",
			 PALD_S("kind", kind), PALD_S("object", id), PALD_S("error", why),
			 PALD_S("isolation_error", rc == -ENOMEM ? "out of memory" : err));
		return false;
	}
	e = *ep ? *ep : (*ep = entry_add(ds, id));
	same = e && e->latest && same_documents(e->latest, v);
	/* Recorded as uncommitted before "latest" changes, as on_upsert does. */
	if (!e || (!same && json_object_set_new(ds->uncommitted, id, json_true()))) {
		version_put(v);
		return false;
	}
	if (!same) {
		entry_set_version(&e->latest, v);
		e->no_fit = false;
		mark_changed(ds);
	}
	version_put(v);
	pald_log(PALD_LOG_ERROR, "kubernetes: object rejected, the policy's pods are isolated "
				 "(its selector and directions, no rules) until a good version",
		 PALD_S("kind", kind), PALD_S("object", id), PALD_S("error", why),
		 PALD_S("in_force", in_force_name(e->latest)));
	set_error(e, why, e->latest);
	count_bad(ds);
	return true;
}

/* FNV-1a of a string; 0 only for none or "". */
static uint64_t text_hash(const char *t)
{
	uint64_t h = 14695981039346656037ull;

	if (!t || !*t)
		return 0;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 1099511628211ull;
	return h ? h : 1;
}

static void on_remove(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj);

/* An object deleted and created again under its name while the informer did not watch (a relist
 * after a 410 or a failure folds both into one change of the key): the new object is another one,
 * as it is across restarts (the state file goes by uid). Its predecessor's versions are removed
 * first, so none stays in force for it when it is rejected: a rejected new policy is isolated
 * instead of enforcing the rules of the policy it replaced. Returns the entry left (NULL then). */
static struct k8s_entry *forget_predecessor(struct pal_k8s_datastore *ds,
					    struct pal_k8s_informer *inf, const char *key,
					    const char *id, struct k8s_entry *e, const json_t *obj)
{
	uint64_t uid = text_hash(metadata_string(obj, "uid"));

	if (!e || !uid || !e->uid_hash || e->uid_hash == uid ||
	    e->group_hash != text_hash(inf->res.api_version))
		return e;
	pald_log(PALD_LOG_INFO, "kubernetes: object deleted and created again (another uid): the "
				"earlier one's versions are dropped",
		 PALD_S("object", id), PALD_S("uid", metadata_string(obj, "uid")));
	on_remove(ds, inf, key, NULL);
	return NULL;
}

static void on_upsert(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj)
{
	struct pal_k8s_datastore *ds = ctx;
	char id[700], err[512] = "";
	char kind[128];
	struct k8s_version *v = NULL, *old;
	struct k8s_entry *e;
	json_t *seed;
	int rc;
	object_id(inf, key, id, sizeof(id));
	qualified_kind(inf, kind, sizeof(kind));
	e = forget_predecessor(ds, inf, key, id, entry_get(ds, id), obj);
	seed = !e && ds->seed ? seed_take(ds, id, obj) : NULL;
	rc = convert_one(ds, obj, id, pal_k8s_convert, &v, err, sizeof(err));
	if (seed)
		e = entry_from_seed(ds, id, seed, rc ? NULL : v);
	if (!e && !(e = entry_add(ds, id))) {
		version_put(v);
		return;
	}
	e->uid_hash = text_hash(metadata_string(obj, "uid"));
	e->group_hash = text_hash(inf->res.api_version);
	if (rc) {
		const char *msg = rc == -ENOMEM ? "out of memory" : err;
		/* Only an entry from the state file has a version in force and no latest one. */
		bool restored = !e->latest && e->applied;

		ds->conversions_failed++;
		if (restored)
			entry_set_version(&e->latest, e->applied);
		/* No good version of its own (an isolation stands for none): fail closed. */
		if (rc == -EINVAL && !(e->latest && !e->latest->isolation) &&
		    isolate_rejected(ds, &e, id, kind, obj, msg))
			return;
		pald_log(PALD_LOG_ERROR, "kubernetes: object rejected, its last good version stays in force",
			 PALD_S("kind", kind),
			 PALD_S("object", key), PALD_S("error", msg),
			 PALD_S("in_force", in_force_name(e->latest)));
		set_error(e, msg, e->latest);
		count_bad(ds);
		if (restored)
			mark_changed(ds);
		return;
	}
	old = e->latest;
	bool was_bad = e->error;

	/* An unchanged conversion (a pod's status update) keeps the version it has. */
	bool same = old && same_documents(old, v);

	/* Recorded as uncommitted before "latest" changes: commit must not miss it. */
	if (!same && json_object_set_new(ds->uncommitted, id, json_true())) {
		version_put(v);
		return;
	}
	if (!same) {
		entry_set_version(&e->latest, v);
		e->no_fit = false; /* a new version may fit: the next load tries it */
	}
	version_put(v);
	if (e->no_fit)
		return; /* the same version that does not fit: still held, still reported */
	text_set(&e->error, NULL);
	if (was_bad) {
		pald_log(PALD_LOG_INFO, "kubernetes: object accepted again", PALD_S("object", id));
		count_bad(ds);
	}
	if (!same)
		mark_changed(ds);
}

static void on_remove(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj)
{
	struct pal_k8s_datastore *ds = ctx;
	char id[700];
	struct k8s_entry *e;
	bool had;
	(void)obj;

	object_id(inf, key, id, sizeof(id));
	json_object_del(ds->seed, id); /* a deleted object is never restored */
	e = entry_get(ds, id);
	if (!e)
		return;
	had = e->latest != NULL;
	entry_free(e);
	json_object_del(ds->objects, id);
	count_bad(ds);
	if (had)
		mark_changed(ds);
}

static void on_synced(void *ctx, struct pal_k8s_informer *inf)
{
	struct pal_k8s_datastore *ds = ctx;

	pald_log(PALD_LOG_INFO, "kubernetes: resource synced", PALD_S("resource", inf->path),
		 PALD_S("resourceVersion", inf->rv), PALD_I("objects", json_object_size(inf->store)),
		 PALD_S("state", pal_k8s_informer_state_name(inf)));
	if (!ds->synced_once && pal_k8s_datastore_synced(ds)) {
		ds->synced_once = true;
		/* Every object the API lists has taken its record: the others' are of deleted objects. */
		json_decref(ds->seed);
		ds->seed = NULL;
		mark_changed(ds); /* the first complete view: it may now be applied */
	}
}

static bool is_calico(const struct pal_k8s_informer *inf)
{
	return strcmp(inf->res.api_version, CALICO_CRD) == 0 ||
	       strcmp(inf->res.api_version, CALICO_V3) == 0;
}

/* Discovery again soon: a Calico resource answered 404 (Calico's API server gone, or the CRDs).
 * Only schedules it: the informer calling this is still at work. */
static void on_not_found(void *ctx, struct pal_k8s_informer *inf)
{
	struct pal_k8s_datastore *ds = ctx;
	uint64_t at = ds->discovery_last_ns + DISCOVERY_MIN_GAP_NS;

	if (!is_calico(inf) || !ds->discovery_due_ns)
		return; /* not Calico's, or a discovery is running */
	if (at < ds->discovery_due_ns) {
		ds->discovery_due_ns = at;
		pal_k8s_http_wake_before(ds->http, at);
	}
}

/* The server answered an informer after an outage: the others that wait out a backoff because
 * their requests got no answer try again now, not when their own backoff (up to 30 s) ends, so
 * /readyz and every resource come back within about a second of the first. */
static void on_server_back(void *ctx, struct pal_k8s_informer *back)
{
	struct pal_k8s_datastore *ds = ctx;
	uint64_t now = pald_now_ns();
	int woken = 0;

	for (size_t i = 0; i < ds->n_inf; i++)
		if (&ds->inf[i] != back && pal_k8s_informer_retry_soon(&ds->inf[i], now))
			woken++;
	if (woken)
		pald_log(PALD_LOG_INFO, "kubernetes: the API server answers again, retrying the others now",
			 PALD_S("answered", back->path), PALD_I("retrying", woken));
}

static const struct pal_k8s_informer_ops inf_ops = { on_upsert, on_remove, on_synced,
						     on_not_found, on_server_back };

static void start_discovery(struct pal_k8s_datastore *ds);

static void tick(void *ctx, uint64_t now)
{
	struct pal_k8s_datastore *ds = ctx;
	uint64_t next = 0;

	if (ds->discovery_due_ns && ds->discovery_due_ns <= now)
		start_discovery(ds);
	for (size_t i = 0; i < ds->n_inf; i++) {
		uint64_t t = pal_k8s_informer_tick(&ds->inf[i], now);

		if (t && (!next || t < next))
			next = t;
	}
	if (ds->discovery_due_ns && (!next || ds->discovery_due_ns < next))
		next = ds->discovery_due_ns;
	pal_k8s_http_wake_at(ds->http, next);
}

/* True when the APIResourceList of projectcalico.org/v3 names plural. */
static bool v3_serves(const json_t *list, const char *plural)
{
	const json_t *r;
	size_t i;

	json_array_foreach(json_object_get(list, "resources"), i, r)
		if (json_is_string(json_object_get(r, "name")) &&
		    strcmp(json_string_value(json_object_get(r, "name")), plural) == 0)
			return true;
	return false;
}

/* Moves a Calico informer (stopped or running) to api_version, keeping what the table has been
 * told: the new informer's first list hands over only the difference, and it counts as synced
 * meanwhile when the old one was, so the last state stays in force during the move. */
static int use_group(struct pal_k8s_datastore *ds, struct pal_k8s_informer *inf,
		     const char *api_version)
{
	struct pal_k8s_resource r = inf->res;
	uint64_t resync = inf->resync_period_ns;
	json_t *told = json_incref(inf->store);
	bool synced = inf->synced, served = inf->served;
	int rc;

	r.api_version = api_version;
	pal_k8s_informer_free(inf);
	rc = pal_k8s_informer_init(inf, &r, ds->http, &inf_ops, ds);
	inf->resync_period_ns = resync;
	if (rc) {
		json_decref(told);
		return rc;
	}
	json_decref(inf->store);
	inf->store = told;
	inf->synced = synced;
	inf->served = served; /* its objects were served: a 404 in the new group keeps them too */
	return 0;
}

/* Calico's API server, where installed, serves projectcalico.org/v3 (stored as the CRDs): each
 * Calico resource it lists is watched there, the others (and all of them when the first discovery
 * fails: the CRDs hold the same objects) from crd.projectcalico.org/v1. A later discovery that
 * fails changes nothing; one that answers moves the resources whose group changed. */
static void on_discovery_done(void *ctx, long status, const char *error, const char *body,
			      size_t len)
{
	struct pal_k8s_datastore *ds = ctx;
	json_t *list = !error && status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
	bool answered = list || (!error && status == 404);
	size_t n_v3 = 0, n_moved = 0;

	ds->discovery = NULL;
	ds->discovery_due_ns = pald_now_ns() + ds->discovery_period_ns;
	pal_k8s_http_wake_before(ds->http, ds->discovery_due_ns);
	for (size_t i = 0; i < ds->n_inf; i++) {
		struct pal_k8s_informer *inf = &ds->inf[i];
		const char *want;
		bool moved = false;

		if (!is_calico(inf) || !inf->path) /* no path: a failed move (-ENOMEM) */
			continue;
		want = list && v3_serves(list, inf->res.plural) ? CALICO_V3 : CALICO_CRD;
		if (ds->calico_started && !answered)
			want = inf->res.api_version; /* a failed discovery: keep the group in use */
		if (strcmp(inf->res.api_version, want)) {
			moved = use_group(ds, inf, want) == 0;
			n_moved += moved;
		}
		n_v3 += strcmp(inf->res.api_version, CALICO_V3) == 0;
		if (inf->path && (!ds->calico_started || moved))
			pal_k8s_informer_start(inf);
	}
	json_decref(list);
	if (!ds->calico_started || n_moved)
		pald_log(PALD_LOG_INFO, "kubernetes: Calico resources",
			 PALD_S("group", n_v3 ? CALICO_V3 : CALICO_CRD), PALD_I("from_v3", n_v3),
			 PALD_I("moved", n_moved),
			 PALD_S("discovery", error ? error : status == 200 ? "served" : "not served"));
	ds->calico_started = true;
}

static const struct pal_k8s_req_ops discovery_ops = { NULL, NULL, on_discovery_done };

static void start_discovery(struct pal_k8s_datastore *ds)
{
	ds->discovery_due_ns = 0; /* on_discovery_done sets the next */
	ds->discovery_last_ns = pald_now_ns();
	ds->discovery = pal_k8s_http_get(ds->http, CALICO_V3_DISCOVERY, DISCOVERY_TIMEOUT_MS, false,
					 &discovery_ops, ds);
	if (!ds->discovery)
		on_discovery_done(ds, 0, "out of memory", NULL, 0);
}

static int read_conn(const struct pal_k8s_datastore_cfg *cfg, struct pal_k8s_conn *conn,
		     char *err, size_t errlen)
{
	FILE *f;
	char *text = NULL, *dir, *slash;
	size_t len = 0;
	int rc;

	if (!cfg->kubeconfig)
		return pal_k8s_incluster(getenv("KUBERNETES_SERVICE_HOST"),
					 getenv("KUBERNETES_SERVICE_PORT"), NULL, conn, err, errlen);
	if (!(f = open_memstream(&text, &len)))
		return -ENOMEM;
	FILE *in = fopen(cfg->kubeconfig, "re");
	char buf[8192];
	size_t n;

	if (!in) {
		rc = -errno;
		fclose(f);
		free(text);
		snprintf(err, errlen, "%s: %s", cfg->kubeconfig, strerror(-rc));
		return -EINVAL;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, f);
	fclose(in);
	fclose(f);
	if (!(dir = strdup(cfg->kubeconfig))) {
		free(text);
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	rc = pal_k8s_kubeconfig_parse(cfg->kubeconfig, text, len, slash ? dir : ".", NULL, conn,
				      err, errlen);
	free(dir);
	free(text);
	return rc;
}

/* The state file a previous agent left: its versions become the seed. Any problem with it is a
 * warning (the agent starts as it would without one); only -ENOMEM fails. */
static int open_state(struct pal_k8s_datastore *ds, const struct pal_k8s_datastore_cfg *cfg)
{
	char err[600] = "";
	int rc;

	ds->state_max = cfg->state_max ? cfg->state_max : PAL_K8S_STATE_MAX_BYTES;
	if (!(ds->state_file = strdup(cfg->state_file)) ||
	    !(ds->bpffs = strdup(cfg->bpffs ? cfg->bpffs : "")))
		return -ENOMEM;
	rc = pal_k8s_state_load(ds->state_file, ds->bpffs, ds->state_max, &ds->seed, err,
				sizeof(err));
	if (rc == 0)
		pald_log(PALD_LOG_INFO, "kubernetes: state file read: the last good versions of "
					"before the restart stand in for objects that fail",
			 PALD_S("file", ds->state_file), PALD_I("objects", json_object_size(ds->seed)));
	else if (rc != -ENOENT)
		pald_log(PALD_LOG_WARN, "kubernetes: state file not used: objects that fail start "
					"without a last good version",
			 PALD_S("error", rc == -ENOMEM ? "out of memory" : err));
	return 0;
}

int pal_k8s_datastore_open(struct pal_k8s_datastore *ds, const struct pal_k8s_datastore_cfg *cfg,
			   struct pald_loop *loop, void (*on_change)(void *ctx), void *ctx,
			   char *err, size_t errlen)
{
	int rc;

	memset(ds, 0, sizeof(*ds));
	ds->on_change = on_change;
	ds->ctx = ctx;
	ds->convert = (struct pal_k8s_convert_cfg){
		.node_name = cfg->node,
		.iface_naming = cfg->iface_by_route ? PAL_K8S_IFACE_ROUTE : PAL_K8S_IFACE_CALICO,
		.iface_for_addr = cfg->iface_for_addr,
		.iface_ctx = cfg->iface_ctx,
		.auto_host_endpoints = cfg->auto_host_endpoints,
	};
	if ((rc = read_conn(cfg, &ds->conn, err, errlen)))
		return rc;
	if (!(ds->objects = json_object()) || !(ds->uncommitted = json_object())) {
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->state_file && (rc = open_state(ds, cfg)))
		goto fail;
	if ((rc = pal_k8s_http_open(&ds->http, loop, &ds->conn))) {
		snprintf(err, errlen, "kubernetes client: %s", strerror(-rc));
		goto fail;
	}
	pal_k8s_http_set_tick(ds->http, tick, ds);
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]) + cfg->auto_host_endpoints; i++) {
		struct pal_k8s_resource r = i < sizeof(watched) / sizeof(watched[0]) ? watched[i] : nodes;

		/* Route naming converts the pods again when routes change (reconvert). */
		r.keep_objects = cfg->iface_by_route && strcmp(r.kind, "Pod") == 0;
		if ((rc = pal_k8s_informer_init(&ds->inf[i], &r, ds->http, &inf_ops, ds)))
			goto fail;
		if (cfg->resync_ms)
			ds->inf[i].resync_period_ns = cfg->resync_ms * 1000000ull;
		ds->n_inf++;
	}
	pald_log(PALD_LOG_INFO, "kubernetes datastore: connecting", PALD_S("server", ds->conn.server),
		 PALD_S("context", ds->conn.context), PALD_S("node", cfg->node),
		 PALD_I("resources", ds->n_inf));
	for (size_t i = 0; i < ds->n_inf; i++)
		if (!is_calico(&ds->inf[i]))
			pal_k8s_informer_start(&ds->inf[i]);
	ds->discovery_period_ns = cfg->discovery_ms ? cfg->discovery_ms * 1000000ull
						    : PAL_K8S_DISCOVERY_NS;
	start_discovery(ds);
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	pal_k8s_datastore_close(ds);
	return rc;
}

bool pal_k8s_datastore_synced(const struct pal_k8s_datastore *ds)
{
	for (size_t i = 0; i < ds->n_inf; i++)
		if (!ds->inf[i].synced)
			return false;
	return true;
}

/* The version an object contributes to this load: its latest good one, or, when the whole model
 * rejected that one, the version in force at the last apply (NULL: none). */
static const struct k8s_version *version_in_use(const struct k8s_entry *e)
{
	return e->held ? (e->fallback ? e->fallback : e->applied) : e->latest;
}

/* Every object's version in use, borrowed (nothing is decoded again), with its warnings; the
 * match key hashes the id and digest of each one that feeds the candidates. */
static int load_all(struct pal_k8s_datastore *ds, struct pal_model *m, struct pal_diags *diags,
		    struct sha256_ctx *match_key)
{
	const struct pal_model_kept **models =
		malloc((json_object_size(ds->objects) + 1) * sizeof(*models));
	size_t n = 0;
	const char *id;
	json_t *e;
	int rc;

	if (!models)
		return -ENOMEM;
	m->namespaces_complete = true; /* every Namespace is watched: model.h */
	ds->loads++;
	json_object_foreach(ds->objects, id, e) {
		const struct k8s_version *v = version_in_use(entry_of(e));

		if (!v)
			continue;
		models[n++] = v->kept;
		if (copy_diags(diags, &v->warnings)) {
			free(models);
			return -ENOMEM;
		}
		if (v->feeds_candidates) {
			sha256_update(match_key, strlen(id) + 1, (const uint8_t *)id);
			sha256_update(match_key, sizeof(v->digest), v->digest);
		}
	}
	rc = pal_model_borrow_kept(m, models, n);
	free(models);
	return rc;
}

/* A new load judges every object afresh: what the model rejected last time may fit now. */
static void clear_model_rejections(struct pal_k8s_datastore *ds)
{
	const char *id;
	json_t *v;

	if (!ds->n_held)
		return;
	ds->n_held = 0;
	json_object_foreach(ds->objects, id, v) {
		struct k8s_entry *e = entry_of(v);

		if (e->held && e->no_fit) {
			ds->n_held++; /* judged by the datapath: until a new version comes */
		} else if (e->held) {
			e->held = false;
			entry_set_version(&e->fallback, NULL);
			text_set(&e->error, NULL);
		}
	}
}

/* The isolation (pal_k8s_convert_isolation) of version v's document, when that is a policy: NULL
 * for other objects, or when it does not convert or decode (out of memory included). */
static struct k8s_version *isolation_of_version(struct pal_k8s_datastore *ds, const char *id,
						const struct k8s_version *v)
{
	json_t *rec = json_loads(v->record, 0, NULL), *doc = NULL;
	const char *text = json_string_value(json_object_get(rec, "documents"));
	struct k8s_version *iso = NULL;
	char err[512];

	/* documents_text's form: a policy converts to one document, "---\n" and its JSON. */
	if (text && !strncmp(text, "---\n", 4))
		doc = json_loads(text + 4, JSON_DISABLE_EOF_CHECK, NULL);
	if (doc)
		convert_one(ds, doc, id, pal_k8s_convert_isolation, &iso, err, sizeof(err));
	json_decref(doc);
	json_decref(rec);
	return iso;
}

/* Has e a good version in force? An isolation stands for none. */
static bool has_good_version(const struct k8s_entry *e)
{
	return e->applied && !e->applied->isolation;
}

/* e is held back now: with no good version in force, its latest version's isolation stands in. The
 * version that stands in for e in the load (NULL: nothing). */
static const struct k8s_version *hold_entry(struct pal_k8s_datastore *ds, const char *id,
					    struct k8s_entry *e)
{
	e->held = true;
	e->held_at = ds->loads;
	if (!has_good_version(e) && !e->fallback && e->latest)
		e->fallback = isolation_of_version(ds, id, e->latest);
	return version_in_use(e);
}

/* Logs a held object: what and error say why; in_force, its version in force (NULL: none). */
static void report_held(struct pal_k8s_datastore *ds, const char *what, const char *id,
			const char *error, const struct k8s_version *in_force)
{
	char kind[128];

	ds->conversions_failed++;
	snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(id, "/"), id);
	pald_log(PALD_LOG_ERROR, what, PALD_S("kind", kind), PALD_S("object", id),
		 PALD_S("error", error), PALD_S("in_force", in_force_name(in_force)));
}

/* Objects named by errors only the whole model shows (two objects of one name, a policy in a tier
 * that does not exist): each goes back to its version in force (or out, when it never was), so
 * the rest can still be applied. Returns how many changed; 0 when nothing more can be done. */
static size_t hold_culprits(struct pal_k8s_datastore *ds, const struct pal_diags *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct pal_diag *dg = &d->v[i];
		struct k8s_entry *e;
		char msg[512];
		const struct k8s_version *applied, *latest, *in_force;
		const char *was;

		if (dg->severity != PAL_SEV_ERROR || !dg->file || strncmp(dg->file, "k8s:", 4) ||
		    !(e = entry_get(ds, dg->file + 4)))
			continue;
		if (e->held && e->fallback && !has_good_version(e) && e->held_at != ds->loads) {
			/* Its isolation, in this load, is rejected too (a missing Tier): left out;
			 * what stays is an earlier isolation applied before, or nothing. */
			entry_set_version(&e->fallback, NULL);
			pald_log(PALD_LOG_ERROR, "kubernetes: object rejected with the other objects and "
						 "so is its isolation",
				 PALD_S("object", dg->file + 4),
				 PALD_S("in_force", in_force_name(e->applied)));
			n++;
			continue;
		}
		if (e->held)
			continue;
		if (e->seed && !e->applied) /* held back: the state file's version goes in force */
			entry_restore(e, dg->file + 4, e->seed);
		json_decref(e->seed);
		e->seed = NULL;
		applied = e->applied;
		latest = e->latest;
		if (applied && latest && same_documents(applied, latest))
			continue; /* its version in force is the one that fails: nothing to go back to */
		pald_diag_text(dg, msg, sizeof(msg));
		in_force = hold_entry(ds, dg->file + 4, e);
		was = e->model_error;
		if (!was || strcmp(was, msg)) {
			report_held(ds, "kubernetes: object rejected with the other objects, its last "
					"good version stays in force", dg->file + 4, msg, in_force);
			text_set(&e->model_error, msg);
		}
		set_error(e, msg, in_force);
		ds->n_held++;
		n++;
	}
	return n;
}

#define MAX_MODEL_RETRIES 3

int pal_k8s_datastore_load(struct pal_k8s_datastore *ds, struct pal_model *m,
			   struct pal_diags *diags, uint64_t *since_ns,
			   uint8_t match_key[PAL_MATCH_CACHE_KEY_LEN])
{
	_Static_assert(PAL_MATCH_CACHE_KEY_LEN == SHA256_DIGEST_SIZE, "the match key is a SHA-256");
	size_t was_held = ds->n_held;
	int rc = 0;

	/* A retry after set_aside keeps this load's holds (and its first change time). */
	if (!ds->reloading_again) {
		if (since_ns)
			*since_ns = ds->changed ? ds->first_change_ns : 0;
		ds->changed = false;
		clear_model_rejections(ds);
	}
	ds->reloading_again = false;
	for (int attempt = 0;; attempt++) {
		struct pal_diags ld = { 0 }, vd = { 0 };
		struct sha256_ctx key;
		size_t held = 0;

		sha256_init(&key);
		/* Unreported, an incomplete model would pass for a whole one: -ENOMEM then. */
		if (load_all(ds, m, &ld, &key) && report_load_out_of_memory(&ld))
			rc = -ENOMEM;
		/* -ENOMEM: the checks did not finish (vd has the error when it fit); their partial
		 * findings hold nothing back, and the caller must not compile this model. */
		if (!rc && !pal_diags_has_errors(&ld) && pal_model_validate(m, &vd) == -ENOMEM)
			rc = -ENOMEM;
		if (attempt < MAX_MODEL_RETRIES && !rc)
			held = hold_culprits(ds, &ld) + hold_culprits(ds, &vd);
		if (!held) {
			if (match_key)
				sha256_digest(&key, PAL_MATCH_CACHE_KEY_LEN, match_key);
			/* Validated here, once: the caller does not validate again (load_validates). */
			if (append_diags(diags, &ld) || append_diags(diags, &vd))
				rc = -ENOMEM;
			pal_diags_free(&ld);
			pal_diags_free(&vd);
			break;
		}
		pal_diags_free(&ld);
		pal_diags_free(&vd);
		pal_model_free(m);
		pal_model_init(m);
	}
	if (was_held || ds->n_held) /* else no "error" came or went since on_upsert counted */
		count_bad(ds);
	return rc;
}

size_t pal_k8s_datastore_set_aside(struct pal_k8s_datastore *ds, const struct pal_diags *d)
{
	size_t n = hold_culprits(ds, d);

	ds->reloading_again = n > 0;
	count_bad(ds);
	return n;
}

/* --- narrowing down the objects that do not fit the datapath (narrow.h) --------------------- */

/* At most this many applies per narrowing (its baseline and final try included): each is a full
 * compile and apply, up to a few hundred ms at 10,000 pods. */
#define NARROW_MAX_APPLIES 8

/* Every object whose latest version is not the one in force and that nothing holds back: what
 * the failed apply brought. *ids NULL when there are none. 0 or -ENOMEM. */
static int changed_ids(struct pal_k8s_datastore *ds, char ***ids, size_t *n)
{
	size_t cap = 0;
	const char *id;
	json_t *u;

	*ids = NULL;
	*n = 0;
	json_object_foreach(ds->uncommitted, id, u) {
		struct k8s_entry *e = entry_get(ds, id);

		if (!e || e->held || !e->latest || (e->applied && same_documents(e->applied, e->latest)))
			continue;
		if (vec_grow((void **)ids, &cap, *n + 1, sizeof(**ids)) || !((*ids)[*n] = strdup(id)))
			return -ENOMEM;
		++*n;
	}
	return 0;
}

/* The configured try: the objects it leaves out at their last good versions (held). */
static void narrowing_configure(struct pal_k8s_datastore *ds)
{
	for (size_t i = 0; i < ds->narrow.n; i++) {
		struct k8s_entry *e = entry_get(ds, ds->narrow_ids[i]);
		bool in = pal_narrow_includes(&ds->narrow, i);

		if (!e || e->held == !in)
			continue;
		e->held = !in;
		ds->n_held += !in; /* an upper bound, as for set_aside */
	}
	ds->reloading_again = true;
}

static void narrowing_free(struct pal_k8s_datastore *ds)
{
	for (size_t i = 0; ds->narrow_ids && i < ds->narrow.n; i++)
		free(ds->narrow_ids[i]);
	free(ds->narrow_ids);
	ds->narrow_ids = NULL;
	pal_narrow_free(&ds->narrow);
}

/* Reports the objects that do not fit (held until a new version of each); lets the others load
 * their latest versions again: the accepted ones are committed, the untried ones are tried at the
 * next load, which this asks for. */
static void narrowing_end(struct pal_k8s_datastore *ds)
{
	size_t counts[3] = { 0 };
	char msg[300];

	snprintf(msg, sizeof(msg), "does not fit: %s", ds->narrow_why);
	for (size_t i = 0; i < ds->narrow.n; i++) {
		struct k8s_entry *e = entry_get(ds, ds->narrow_ids[i]);
		uint8_t fit = ds->narrow.fit[i];

		counts[fit]++;
		if (!e)
			continue;
		e->held = false;
		e->no_fit = fit == PAL_NARROW_NO_FIT;
		if (e->no_fit) {
			const struct k8s_version *in_force = hold_entry(ds, ds->narrow_ids[i], e);

			report_held(ds, "kubernetes: object does not fit the datapath, its last good "
					"version stays in force", ds->narrow_ids[i], msg, in_force);
			set_error(e, msg, in_force);
		} else {
			entry_set_version(&e->fallback, NULL);
		}
	}
	pald_log(ds->narrow.phase == PAL_NARROW_DONE ? PALD_LOG_INFO : PALD_LOG_ERROR,
		 "kubernetes: narrowing done", PALD_S("outcome", ds->narrow.phase == PAL_NARROW_DONE ?
							   "applied without the objects found" :
							   "stopped: the last good policy stays in force"),
		 PALD_I("applies", ds->narrow.tries), PALD_I("applied", counts[PAL_NARROW_FITS]),
		 PALD_I("not_fitting", counts[PAL_NARROW_NO_FIT]),
		 PALD_I("untried", counts[PAL_NARROW_UNTRIED]),
		 PALD_F("seconds", (double)(pald_now_ns() - ds->narrow_started_ns) / 1e9));
	ds->reloading_again = false;
	if (counts[PAL_NARROW_UNTRIED] && ds->narrow.phase == PAL_NARROW_DONE)
		mark_changed(ds);
	narrowing_free(ds);
	count_bad(ds);
}

/* The configured try fitted (applied) or not: the next one, or the end. */
static void narrowing_step(struct pal_k8s_datastore *ds, bool fitted)
{
	if (pal_narrow_result(&ds->narrow, fitted) == 0 && pal_narrow_trying(&ds->narrow))
		narrowing_configure(ds);
	else
		narrowing_end(ds);
}

bool pal_k8s_datastore_no_room(struct pal_k8s_datastore *ds, const char *why)
{
	char **ids;
	size_t n;

	if (pal_narrow_trying(&ds->narrow)) {
		narrowing_step(ds, false);
		return pal_narrow_trying(&ds->narrow);
	}
	/* Without an apply in this agent's life the baseline would be nothing: never narrow to an
	 * empty policy over what the pinned datapath enforces. */
	if (!ds->committed_once)
		return false;
	if (changed_ids(ds, &ids, &n) || !n ||
	    pal_narrow_start(&ds->narrow, n, NARROW_MAX_APPLIES)) {
		ds->narrow_ids = ids;
		ds->narrow.n = n; /* for narrowing_free: the ids it got */
		narrowing_free(ds);
		return false;
	}
	ds->narrow_ids = ids;
	snprintf(ds->narrow_why, sizeof(ds->narrow_why), "%s", why);
	ds->narrow_started_ns = pald_now_ns();
	pald_log(PALD_LOG_WARN, "kubernetes: the changes do not fit the datapath; narrowing down "
				"the objects that do not fit, the others apply",
		 PALD_S("error", why), PALD_I("changed", n), PALD_I("max_applies", NARROW_MAX_APPLIES));
	narrowing_configure(ds);
	return true;
}

bool pal_k8s_datastore_narrowing(const struct pal_k8s_datastore *ds)
{
	return pal_narrow_trying(&ds->narrow);
}

void pal_k8s_datastore_narrow_stop(struct pal_k8s_datastore *ds)
{
	if (pal_narrow_trying(&ds->narrow))
		narrowing_end(ds);
}

/* Writes every applied version to the state file (k8s_state.h), which then describes what is
 * enforced; when that fails there is no file rather than a wrong one. */
static void save_state(struct pal_k8s_datastore *ds)
{
	struct pal_k8s_state_out o;
	char err[600] = "";
	const char *id;
	size_t n = 0;
	json_t *v;
	int rc;

	if (!ds->state_file)
		return;
	rc = pal_k8s_state_begin(&o, ds->state_file, ds->bpffs, ds->state_max, err, sizeof(err));
	json_object_foreach(ds->objects, id, v) {
		const struct k8s_version *a = entry_of(v)->applied;

		if (rc || !a)
			continue;
		rc = pal_k8s_state_add(&o, a->record, err, sizeof(err));
		n++;
	}
	if (!rc)
		rc = pal_k8s_state_finish(&o, err, sizeof(err));
	else if (o.fd >= 0)
		pal_k8s_state_abort(&o);
	if (rc) {
		if (unlink(ds->state_file) && errno != ENOENT && !err[0])
			snprintf(err, sizeof(err), "%s: %s", ds->state_file, strerror(errno));
		ds->state_write_failures++;
		snprintf(ds->state_error, sizeof(ds->state_error), "%s",
			 rc == -ENOMEM ? "out of memory" : err);
		if (!ds->state_failing)
			pald_log(PALD_LOG_ERROR, "kubernetes: cannot write the state file: after a "
						 "restart, objects that fail have no last good version",
				 PALD_S("error", rc == -ENOMEM ? "out of memory" : err));
	} else {
		ds->state_written_at = (int64_t)time(NULL);
		ds->state_error[0] = '\0';
		if (ds->state_failing)
			pald_log(PALD_LOG_INFO, "kubernetes: state file written again",
				 PALD_S("file", ds->state_file), PALD_I("objects", n));
	}
	ds->state_failing = rc != 0;
}

void pal_k8s_datastore_commit(struct pal_k8s_datastore *ds)
{
	const char *id;
	json_t *u;
	void *tmp;

	/* Only an upsert changes "latest" (and records the id), so every other entry has
	 * applied == latest already. A held entry stays uncommitted until a load takes it. */
	json_object_foreach_safe(ds->uncommitted, tmp, id, u) {
		struct k8s_entry *e = entry_get(ds, id);

		if (e && e->held)
			continue;
		if (e) {
			text_set(&e->model_error, NULL);
			entry_set_version(&e->applied, e->latest);
			json_decref(e->seed); /* the API's version is in force: the file's is not needed */
			e->seed = NULL;
		}
		json_object_del(ds->uncommitted, id);
	}
	/* Every object the API lists now has its version in force: the state file's versions of the
	 * others were of deleted objects. */
	json_decref(ds->seed);
	ds->seed = NULL;
	save_state(ds);
	ds->committed_once = true;
	if (pal_narrow_trying(&ds->narrow))
		narrowing_step(ds, true);
}

void pal_k8s_datastore_reconvert(struct pal_k8s_datastore *ds)
{
	for (size_t i = 0; i < ds->n_inf; i++) {
		const char *key;
		json_t *obj;

		/* Only a pod's conversion asks for routes; only kept objects can be converted. */
		if (!ds->inf[i].res.keep_objects || strcmp(ds->inf[i].res.kind, "Pod"))
			continue;
		json_object_foreach(ds->inf[i].store, key, obj)
			on_upsert(ds, &ds->inf[i], key, obj);
	}
}

double pal_k8s_datastore_staleness(const struct pal_k8s_datastore *ds, uint64_t now_ns)
{
	double worst = 0;

	for (size_t i = 0; i < ds->n_inf; i++) {
		double s = pal_k8s_informer_staleness(&ds->inf[i], now_ns);

		if (s > worst)
			worst = s;
	}
	return worst;
}

size_t pal_k8s_datastore_first_bad(const struct pal_k8s_datastore *ds, char *buf, size_t len)
{
	const char *id;
	json_t *e;

	buf[0] = '\0';
	json_object_foreach(ds->objects, id, e) {
		const char *err = entry_of(e)->error;

		if (err) {
			snprintf(buf, len, "%s: %s", id, err);
			break;
		}
	}
	return ds->n_bad;
}

json_t *pal_k8s_datastore_status(const struct pal_k8s_datastore *ds, uint64_t now_ns)
{
	json_t *res = json_array(), *bad = json_array(), *st;
	const char *id;
	json_t *e;

	for (size_t i = 0; i < ds->n_inf; i++) {
		const struct pal_k8s_informer *inf = &ds->inf[i];

		json_array_append_new(res, json_pack(
			"{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:s?, s:f}", "resource", inf->path,
			"state", pal_k8s_informer_state_name(inf), "synced", inf->synced,
			"resourceVersion", inf->rv, "objects", (json_int_t)json_object_size(inf->store),
			"last_event", (json_int_t)inf->last_event_wall, "errors",
			(json_int_t)inf->errors, "relists", (json_int_t)inf->relists, "last_error",
			inf->last_error[0] ? inf->last_error : NULL, "staleness_seconds",
			pal_k8s_informer_staleness(inf, now_ns)));
	}
	json_object_foreach(ds->objects, id, e)
		if (entry_of(e)->error)
			json_array_append_new(bad, json_pack("{s:s, s:s}", "object", id, "error",
							     entry_of(e)->error));
	st = json_pack("{s:s, s:s, s:b, s:f, s:I, s:I, s:o, s:o}", "datastore", "kubernetes",
		       "server", ds->conn.server, "synced", pal_k8s_datastore_synced(ds),
		       "staleness_seconds", pal_k8s_datastore_staleness(ds, now_ns),
		       "objects", (json_int_t)json_object_size(ds->objects), "conversions_failed",
		       (json_int_t)ds->conversions_failed, "bad_objects", bad, "resources", res);
	if (st && ds->state_file)
		json_object_set_new(st, "state_file",
				    json_pack("{s:s, s:I, s:I, s:s?}", "path", ds->state_file,
					      "written_at", (json_int_t)ds->state_written_at,
					      "write_failures", (json_int_t)ds->state_write_failures,
					      "error", ds->state_error[0] ? ds->state_error : NULL));
	return st;
}

void pal_k8s_datastore_close(struct pal_k8s_datastore *ds)
{
	const char *id;
	json_t *e;

	for (size_t i = 0; i < ds->n_inf; i++)
		pal_k8s_informer_free(&ds->inf[i]);
	ds->n_inf = 0;
	pal_k8s_http_close(ds->http);
	ds->http = NULL;
	json_object_foreach(ds->objects, id, e)
		entry_free(entry_of(e));
	json_decref(ds->objects);
	ds->objects = NULL;
	json_decref(ds->uncommitted);
	ds->uncommitted = NULL;
	narrowing_free(ds);
	json_decref(ds->seed);
	ds->seed = NULL;
	free(ds->state_file);
	free(ds->bpffs);
	ds->state_file = ds->bpffs = NULL;
	pal_k8s_conn_free(&ds->conn);
}
