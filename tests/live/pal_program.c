/* Test helper for the live polctl tests: programs a palisade datapath the way the agent does,
 * without the agent. Compiles --policy-dir for --node with the agent's loader and compiler, opens
 * (or adopts) the datapath pinned under --bpffs, binds every endpoint of the IR to the interface
 * of its interfaceName in the current network namespace ("*" host endpoints: every other interface
 * but lo), applies the IR as --generation, pins each host endpoint's raw OUTPUT filters
 * (sf_out.bpf.c; no netfilter rules: live trace runs them), attaches tc (and generic XDP on host
 * endpoints) unless --no-attach, and writes the reporting metadata (agent/dataplane/meta.h) unless --no-meta.
 *
 *   pal_program --bpffs DIR --node NAME --policy-dir DIR [--generation N] [--no-attach]
 *               [--no-meta] [--endpoint-to-host accept|drop]
 *   pal_program --bpffs DIR --unpin          removes every pin under DIR
 * Exit 0, or 1 with a message. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "compiler.h"
#include "datapath.h"
#include "maps_sync.h"
#include "meta.h"
#include "model.h"

static int die(const char *what, int err)
{
	fprintf(stderr, "pal_program: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static int bind_all(const struct pal_ir *ir, struct pal_dp_binding *b, size_t cap, size_t *n)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	*n = 0;
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index && *n < cap; i++) {
		const struct pal_ir_endpoint *ep = NULL;

		if (strcmp(i->if_name, "lo") == 0)
			continue;
		for (size_t e = 0; e < ir->n_endpoints && !ep; e++)
			if (ir->endpoints[e].iface && strcmp(ir->endpoints[e].iface, i->if_name) == 0)
				ep = &ir->endpoints[e];
		for (size_t e = 0; e < ir->n_endpoints && !ep; e++)
			if (ir->endpoints[e].kind == PAL_EP_HOST && ir->endpoints[e].iface &&
			    strcmp(ir->endpoints[e].iface, "*") == 0)
				ep = &ir->endpoints[e];
		if (!ep)
			continue;
		b[*n].ifindex = i->if_index;
		b[*n].ep = ep;
		(*n)++;
	}
	if_freenameindex(ifs);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, 'b' },   { "node", required_argument, NULL, 'n' },
		{ "policy-dir", required_argument, NULL, 'p' },
		{ "generation", required_argument, NULL, 'g' },
		{ "no-attach", no_argument, NULL, 'A' },     { "no-meta", no_argument, NULL, 'M' },
		{ "endpoint-to-host", required_argument, NULL, 'e' },
		{ "unpin", no_argument, NULL, 'U' },	     { 0 },
	};
	const char *bpffs = NULL, *node = "live-node", *pdir = NULL;
	bool attach = true, meta = true, unpin = false;
	enum pal_endpoint_to_host_action e2h = PAL_EP_TO_HOST_DROP;
	uint32_t generation = 1;
	struct pal_failsafe *fin = NULL, *fout = NULL;
	size_t n_in = 0, n_out = 0, nb = 0;
	struct pal_dp_binding b[256];
	struct pal_datapath *dp = NULL;
	struct pal_diags diags = { 0 };
	struct pal_model model;
	struct pal_ir ir;
	char err[512];
	bool adopted, compiled = false;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bpffs = optarg; break;
		case 'n': node = optarg; break;
		case 'p': pdir = optarg; break;
		case 'g': generation = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'A': attach = false; break;
		case 'M': meta = false; break;
		case 'U': unpin = true; break;
		case 'e': e2h = strcmp(optarg, "accept") == 0 ? PAL_EP_TO_HOST_ACCEPT : PAL_EP_TO_HOST_DROP; break;
		default: fprintf(stderr, "pal_program: bad usage\n"); return 2;
		}
	}
	if (!bpffs || (!unpin && !pdir)) {
		fprintf(stderr, "pal_program: needs --bpffs and --policy-dir (or --unpin)\n");
		return 2;
	}
	if (unpin)
		return pal_dp_unpin_all(bpffs) ? die("unpin", errno) : 0;

	pal_model_init(&model);
	pal_model_load_dir(&model, pdir, &diags);
	pal_model_validate(&model, &diags);
	if (pal_diags_has_errors(&diags)) {
		pal_diags_print(stderr, &diags);
		goto out;
	}
	if (pal_failsafe_parse(PAL_FAILSAFE_IN_DEFAULT, &fin, &n_in, err, sizeof(err)) ||
	    pal_failsafe_parse(PAL_FAILSAFE_OUT_DEFAULT, &fout, &n_out, err, sizeof(err))) {
		fprintf(stderr, "pal_program: failsafe defaults: %s\n", err);
		goto out;
	}
	struct pal_compile_opts copts = {
		.node = node, .failsafe_in = fin, .n_failsafe_in = n_in,
		.failsafe_out = fout, .n_failsafe_out = n_out, .endpoint_to_host = e2h,
	};
	if (pal_compile(&model, &copts, &ir, &diags) || pal_diags_has_errors(&diags)) {
		pal_diags_print(stderr, &diags);
		goto out;
	}
	compiled = true;
	struct pal_dp_opts dopts = { .pin_dir = bpffs };

	if ((c = pal_dp_open(&dopts, &dp, &adopted, err, sizeof(err)))) {
		fprintf(stderr, "pal_program: open: %s\n", err);
		goto out;
	}
	if ((c = bind_all(&ir, b, sizeof(b) / sizeof(b[0]), &nb))) {
		die("interfaces", c);
		goto out;
	}
	if ((c = pal_dp_apply(dp, &ir, b, nb, generation))) {
		fprintf(stderr, "pal_program: apply: %s (%s)\n", strerror(-c), pal_dp_error(dp));
		goto out;
	}
	for (size_t i = 0; i < nb; i++) {
		if (b[i].ep->kind == PAL_EP_HOST &&
		    (c = pal_dp_load_sf_out(dp, b[i].ifindex, NULL, NULL, NULL))) {
			fprintf(stderr, "pal_program: raw OUTPUT filters of ifindex %u: %s (%s)\n",
				b[i].ifindex, strerror(-c), pal_dp_error(dp));
			goto out;
		}
	}
	for (size_t i = 0; attach && i < nb; i++) {
		enum pal_xdp_mode got;

		if ((c = pal_dp_attach_tc(dp, (int)b[i].ifindex)) ||
		    (b[i].ep->kind == PAL_EP_HOST &&
		     (c = pal_dp_attach_xdp(dp, (int)b[i].ifindex, PAL_XDP_GENERIC, &got)))) {
			fprintf(stderr, "pal_program: attach ifindex %u: %s (%s)\n", b[i].ifindex,
				strerror(-c), pal_dp_error(dp));
			goto out;
		}
	}
	if (meta && (c = pal_meta_write(bpffs, &ir, generation))) {
		die("metadata", c);
		goto out;
	}
	printf("programmed generation %u: %zu interfaces%s\n", generation, nb,
	       adopted ? " (adopted pins)" : "");
	rc = 0;
out:
	if (dp)
		pal_dp_close(dp);
	if (compiled)
		pal_ir_free(&ir);
	free(fin);
	free(fout);
	pal_model_free(&model);
	pal_diags_free(&diags);
	return rc;
}
