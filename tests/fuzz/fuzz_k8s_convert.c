/* libFuzzer target: arbitrary bytes as a Kubernetes API object through pal_k8s_convert (every kind,
 * its field checks and the loader run on what it produces), with each interface-naming mode and
 * auto host endpoints. Checks the contract: 0 or -EINVAL/-ENOMEM, an error message on failure,
 * nothing appended on failure, only objects appended on success. LeakSanitizer checks the rest. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Routes 198.18.0.0/16 addresses only, so both outcomes of a lookup are exercised. */
static int fake_route(void *ctx, const char *addr, char *out, size_t outlen)
{
	(void)ctx;
	if (strncmp(addr, "198.18.", 7) != 0)
		return -ENOENT;
	strncpy(out, "veth0", outlen - 1);
	out[outlen - 1] = '\0';
	return 0;
}

static void check_one(const json_t *obj, const struct pal_k8s_convert_cfg *cfg)
{
	json_t *out = json_array(), *d;
	char err[256];
	size_t i;
	int r;

	if (!out)
		return;
	r = pal_k8s_convert(obj, cfg, out, err, sizeof(err));
	if (r != 0 && r != -EINVAL && r != -ENOMEM)
		abort();
	if (r != 0 && (json_array_size(out) != 0 || err[0] == '\0'))
		abort();
	json_array_foreach(out, i, d)
		if (!json_is_object(d))
			abort();
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pal_k8s_convert_cfg cfgs[] = {
		{ .node_name = "node-1", .iface_naming = PAL_K8S_IFACE_CALICO },
		{ .node_name = "node-1", .iface_naming = PAL_K8S_IFACE_ROUTE,
		  .iface_for_addr = fake_route, .auto_host_endpoints = true },
		{ .node_name = NULL, .iface_naming = PAL_K8S_IFACE_ROUTE },
	};
	json_t *obj = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	if (!obj)
		return 0;
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		check_one(obj, &cfgs[i]);
	json_decref(obj);
	return 0;
}
