/* Which iptables variant palisade's netfilter rules go into (netfilter.h): the one the node's
 * other netfilter users (kubelet, kube-proxy, Calico) use, decided as Kubernetes'
 * iptables-wrappers decide it, never by whichever `iptables` is first on PATH. Rules in the
 * other variant would be evaluated too, but in an order nobody controls.
 *
 *   1. kubelet's hint chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY): nft if iptables-nft
 *      shows one, else legacy if iptables-legacy does;
 *   2. else Kubernetes' and Calico's chains (KUBE-*, cali-*): the variant with more of them;
 *   3. else the rules (-A lines): the variant with more of them; a tie (a fresh node) is nft,
 *      Debian 12's default.
 * palisade's own chains and jumps are not counted, so an earlier choice does not decide the
 * next one. A variant whose save commands are missing is never chosen. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netfilter.h"

extern char **environ;

const char *pal_nf_variant_name(enum pal_nf_variant v)
{
	return v == PAL_NF_LEGACY ? "legacy" : v == PAL_NF_NFT ? "nft" : "path";
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

void pal_nf_census_line(struct pal_nf_census *c, const char *line)
{
	if (line[0] == ':') {
		if (has_prefix(line, ":PALISADE-"))
			c->palisade_chains++;
		else if (has_prefix(line, ":KUBE-IPTABLES-HINT ") || has_prefix(line, ":KUBE-KUBELET-CANARY "))
			c->kubelet_hints++;
		else if (has_prefix(line, ":KUBE-") || has_prefix(line, ":cali-"))
			c->k8s_chains++;
	} else if (has_prefix(line, "-A ") && !has_prefix(line, "-A PALISADE-") &&
		   !strstr(line, " -j PALISADE-")) {
		c->rules++;
	}
}

/* Runs `<family>tables-<variant>-save` and counts its output; 0, or -errno when it could not
 * run or failed (the variant is then not usable). */
static int census_one(const char *cmd, struct pal_nf_census *c)
{
	char *argv[] = { (char *)cmd, NULL }, *line = NULL;
	posix_spawn_file_actions_t fa;
	size_t cap = 0;
	int out[2], status, err;
	pid_t pid;
	FILE *f;

	if (pipe(out))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, cmd, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (err) {
		close(out[0]);
		return -err;
	}
	f = fdopen(out[0], "r");
	if (!f) {
		close(out[0]);
		waitpid(pid, &status, 0);
		return -ENOMEM;
	}
	while (getline(&line, &cap, f) > 0) /* streamed: a kube-proxy node has many rules */
		pal_nf_census_line(c, line);
	free(line);
	fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOENT;
}

int pal_nf_census_take(enum pal_nf_variant v, struct pal_nf_census *c)
{
	static const char *const fam[2] = { "iptables", "ip6tables" };
	int err = 0;

	memset(c, 0, sizeof(*c));
	for (int f = 0; f < 2; f++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "%s-%s-save", fam[f], pal_nf_variant_name(v));
		if (census_one(cmd, c))
			err = -ENOENT;
	}
	c->usable = err == 0;
	return err;
}

enum pal_nf_variant pal_nf_choose(const struct pal_nf_census *legacy,
				  const struct pal_nf_census *nft, char *reason, size_t len)
{
	const struct pal_nf_census *l = legacy, *n = nft;

	if (!l->usable || !n->usable) {
		snprintf(reason, len, "only iptables-%s is usable", n->usable ? "nft" : "legacy");
		return n->usable || !l->usable ? PAL_NF_NFT : PAL_NF_LEGACY;
	}
	if (n->kubelet_hints || l->kubelet_hints) {
		snprintf(reason, len, "kubelet's hint chains are in iptables-%s",
			 n->kubelet_hints ? "nft" : "legacy");
		return n->kubelet_hints ? PAL_NF_NFT : PAL_NF_LEGACY;
	}
	if (n->k8s_chains != l->k8s_chains) {
		snprintf(reason, len, "Kubernetes/Calico chains (KUBE-*, cali-*): legacy %u, nft %u",
			 l->k8s_chains, n->k8s_chains);
		return n->k8s_chains > l->k8s_chains ? PAL_NF_NFT : PAL_NF_LEGACY;
	}
	if (l->rules > n->rules) {
		snprintf(reason, len, "more rules in iptables-legacy (%u) than in iptables-nft (%u)",
			 l->rules, n->rules);
		return PAL_NF_LEGACY;
	}
	snprintf(reason, len, n->rules > l->rules ?
			 "more rules in iptables-nft (%u) than in iptables-legacy (%u)" :
			 "no other rules in either variant (nft %u, legacy %u): nft, the default",
		 n->rules, l->rules);
	return PAL_NF_NFT;
}

int pal_nf_detect(char *reason, size_t len, enum pal_nf_variant *out)
{
	struct pal_nf_census l, n;

	pal_nf_census_take(PAL_NF_LEGACY, &l);
	pal_nf_census_take(PAL_NF_NFT, &n);
	if (!l.usable && !n.usable) {
		snprintf(reason, len, "neither iptables-legacy-save nor iptables-nft-save runs "
				      "(install Debian's iptables package)");
		return -ENOENT;
	}
	*out = pal_nf_choose(&l, &n, reason, len);
	return 0;
}
