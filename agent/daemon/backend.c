/* Backend selection (see backend.h). */
#include "backend.h"

#include <errno.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

/* backend_bpf.c: the BPF datapath of agent/dataplane/. */
int pald_backend_bpf_open(const struct pald_config *cfg, struct pald_backend *be);

static const struct {
	const char *name;
	int (*open)(const struct pald_config *cfg, struct pald_backend *be);
} backends[] = {
	{ "null", pald_backend_null_open },
	{ "bpf", pald_backend_bpf_open },
};

int pald_backend_open(const struct pald_config *cfg, struct pald_backend *be)
{
	memset(be, 0, sizeof(*be));
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(backends[i].name, cfg->backend) != 0)
			continue;
		if (!backends[i].open) {
			pald_log(PALD_LOG_ERROR, "datapath backend is not built into this binary",
				 PALD_S("backend", cfg->backend));
			return -ENOSYS;
		}
		return backends[i].open(cfg, be);
	}
	pald_log(PALD_LOG_ERROR, "unknown datapath backend (bpf, or null for tests)",
		 PALD_S("backend", cfg->backend));
	return -ENOENT;
}

void pald_backend_close(struct pald_backend *be)
{
	if (be->ops && be->ops->close)
		be->ops->close(be->ctx);
	memset(be, 0, sizeof(*be));
}
