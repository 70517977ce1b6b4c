/* libFuzzer: what an API server sends the Kubernetes informer cannot crash the agent or leak.
 *
 * The input is a list response body, a NUL byte, then a watch stream (fed in three pieces, so
 * events split across reads are covered). Both go through the informer's real parsing and store
 * (agent/k8s/informer.c, compiled in here) and every object it hands on goes through the converter
 * (pal_k8s_convert), as in the agent. The transport is stubbed: no request leaves the fuzzer.
 */
#include "../../agent/k8s/informer.c"

#include <fcntl.h>

#include "convert.h"

struct pal_k8s_req *pal_k8s_http_get(struct pal_k8s_http *h, const char *path, long timeout_ms,
				     bool stream, const struct pal_k8s_req_ops *ops, void *ctx)
{
	(void)h, (void)path, (void)timeout_ms, (void)stream, (void)ops, (void)ctx;
	return NULL; /* the informer treats it as a failed request: backoff */
}

void pal_k8s_http_cancel(struct pal_k8s_http *h, struct pal_k8s_req *r)
{
	(void)h, (void)r;
}

void pal_k8s_http_wake_before(struct pal_k8s_http *h, uint64_t when_ns)
{
	(void)h, (void)when_ns;
}

uint32_t pal_k8s_http_retry_after(struct pal_k8s_req *r)
{
	(void)r;
	return 0; /* no Retry-After header */
}

uint64_t pald_now_ns(void)
{
	return 1000000000ull;
}

static void fz_upsert(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj)
{
	const struct pal_k8s_convert_cfg *cfg = ctx;
	json_t *out = json_array();
	char err[512];
	(void)inf, (void)key;

	pal_k8s_convert(obj, cfg, out, err, sizeof(err));
	json_decref(out);
}

static void fz_remove(void *ctx, struct pal_k8s_informer *inf, const char *key, json_t *obj)
{
	(void)ctx, (void)inf, (void)key, (void)obj;
}

static void fz_synced(void *ctx, struct pal_k8s_informer *inf)
{
	(void)ctx, (void)inf;
}

static const struct pal_k8s_informer_ops fz_ops = { fz_upsert, fz_remove, fz_synced };

static const struct pal_k8s_resource fz_res[] = {
	{ "v1", "Pod", "pods", false, NULL, false },
	{ "v1", "Namespace", "namespaces", false, NULL, true },
	{ "crd.projectcalico.org/v1", "GlobalNetworkPolicy", "globalnetworkpolicies", true, NULL, false },
	{ "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", false, NULL, true },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct pal_k8s_convert_cfg cfg = { .node_name = "node-a", .iface_naming = PAL_K8S_IFACE_CALICO };
	struct pal_k8s_informer inf;
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	size_t list_len = nul ? (size_t)(nul - in) : size;
	const char *stream = nul ? nul + 1 : in + size;
	size_t stream_len = nul ? size - list_len - 1 : 0;

	if (!quiet) {
		pald_log_setup(PALD_LOG_TEXT, PALD_LOG_ERROR, open("/dev/null", O_WRONLY | O_CLOEXEC));
		quiet = true;
	}
	if (pal_k8s_informer_init(&inf, &fz_res[size % 4], NULL, &fz_ops, &cfg))
		return 0;
	/* A list: the informer asks (the stub fails: backoff), then the page arrives. */
	start_list(&inf);
	if (!inf.listing)
		inf.listing = json_object();
	on_list_done(&inf, 200, NULL, in, list_len);
	/* A watch stream in three pieces, then its end. */
	inf.state = PAL_K8S_INF_WATCHING;
	on_watch_headers(&inf, 200);
	size_t a = stream_len / 3, b = 2 * stream_len / 3;

	if (on_watch_data(&inf, stream, a) && on_watch_data(&inf, stream + a, b - a))
		on_watch_data(&inf, stream + b, stream_len - b);
	on_watch_done(&inf, 200, NULL, NULL, 0);
	/* And the same stream as a relist's answer after a 410. */
	inf.gone = true;
	if (!inf.listing)
		inf.listing = json_object();
	on_list_done(&inf, 200, NULL, stream, stream_len);
	pal_k8s_informer_free(&inf);
	return 0;
}
