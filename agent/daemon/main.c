/* palisaded: the palisade node agent (docs/operations.md).
 *
 * Order of work: parse flags and config (exit 2 on a usage error) -> logging -> the instance lock
 * on the bpffs directory (exit 2 when another palisaded holds it, before touching anything) ->
 * the datapath backend -> one of --uninstall, --once, or the daemon loop (agent.c).
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "bpffs.h"
#include "cfg.h"
#include "log.h"
#include "palisade/version.h"

/* The version in its own section: `polctl version` reads it from the running agent's executable. */
static const char embedded_version[] __attribute__((section(PALISADE_VERSION_SECTION), used)) =
	PALISADE_VERSION;

static int take_lock(const char *dir)
{
	int fd = pald_bpffs_lock(dir), rc;

	/* Lock first when the directory exists, so a second instance changes nothing at all. */
	if (fd == -ENOENT) {
		if ((rc = pald_bpffs_prepare(dir)))
			return rc;
		fd = pald_bpffs_lock(dir);
	} else if (fd >= 0 && (rc = pald_bpffs_prepare(dir))) {
		close(fd);
		return rc;
	}
	return fd;
}

/* A reload's big transient buffers (a model of every object, the lists' images) on their own
 * mappings, handed back when freed, and the heap's free top handed back past 128 KiB: glibc's
 * default threshold grows with each large block freed (up to 32 MiB), after which those buffers
 * land in the heap and the agent's RSS keeps the high-water mark of every reload. Measured with
 * 100 bound pods (tests/e2e/test_k8s_memory_bound.sh): peak RSS 64.9-65.7 -> 62.1-62.8 MiB
 * (docs/benchmarks.md figure 6). An environment's MALLOC_*_ settings still win (mallopt is not
 * called for a tunable the environment sets). */
static void tune_malloc(void)
{
	if (!getenv("MALLOC_MMAP_THRESHOLD_"))
		mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	if (!getenv("MALLOC_TRIM_THRESHOLD_"))
		mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	if (!getenv("MALLOC_TOP_PAD_"))
		mallopt(M_TOP_PAD, 0);
}

int main(int argc, char **argv)
{
	struct pald_config cfg;
	struct pald_agent agent;
	char host[256] = "", err[512];
	int lock_fd, code;

	tune_malloc();
	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	if (pald_config_parse(&cfg, argc, argv, host, err, sizeof(err))) {
		fprintf(stderr, "palisaded: %s\nTry 'palisaded --help'.\n", err);
		pald_config_free(&cfg);
		return 2;
	}
	if (cfg.help || cfg.version) {
		if (cfg.help)
			pald_config_usage(stdout);
		else
			printf("palisaded %s\n", embedded_version);
		pald_config_free(&cfg);
		return 0;
	}
	pald_log_setup(cfg.log_format, cfg.log_level, STDERR_FILENO);

	lock_fd = take_lock(cfg.bpffs);
	if (lock_fd < 0) {
		if (lock_fd == -EWOULDBLOCK) {
			snprintf(err, sizeof(err), "another palisaded holds %s", cfg.bpffs);
			pald_log(PALD_LOG_ERROR, err, PALD_S("dir", cfg.bpffs));
		} else {
			pald_log(PALD_LOG_ERROR, "cannot lock the bpffs directory",
				 PALD_S("dir", cfg.bpffs), PALD_S("error", strerror(-lock_fd)));
		}
		pald_config_free(&cfg);
		return 2;
	}

	memset(&agent, 0, sizeof(agent));
	agent.cfg = &cfg;
	pald_log(PALD_LOG_INFO, "palisaded starting", PALD_S("version", PALISADE_VERSION),
		 PALD_S("node", cfg.node), PALD_S("bpffs", cfg.bpffs), PALD_S("backend", cfg.backend),
		 PALD_S("mode", cfg.once ? "once" : cfg.uninstall ? "uninstall" : "daemon"),
		 PALD_S("xdp_mode", pald_xdp_mode_name(cfg.xdp_mode)));
	if (pald_backend_open(&cfg, &agent.be)) {
		code = 2;
		goto out;
	}
	pald_policy_init(&agent.pol, agent.be.ops->adopted_generation
					     ? agent.be.ops->adopted_generation(agent.be.ctx) : 0);
	if (agent.be.ops->seed_rule_ids)
		agent.be.ops->seed_rule_ids(agent.be.ctx, &agent.pol.rule_ids);
	if (agent.pol.generation)
		pald_log(PALD_LOG_INFO, "adopted the pinned datapath state",
			 PALD_I("generation", agent.pol.generation));
	agent.metrics.generation = agent.pol.generation;
	if (cfg.uninstall) {
		code = pald_run_uninstall(&agent);
	} else if (cfg.once) {
		code = pald_run_once(&agent);
	} else {
		code = pald_run_daemon(&agent);
	}
out:
	close(lock_fd);
	pald_config_free(&cfg);
	return code;
}
