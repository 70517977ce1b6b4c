/* Readers on a map fd (map_read.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_read.h"

/* Per-CPU maps return one value per possible CPU: the buffer must hold that many (a guess could
 * let the kernel write past it). */

int pal_map_rule_counter(int fd, uint32_t rule_id, struct pal_rule_ctr *out)
{
	int n = libbpf_num_possible_cpus();
	struct pal_rule_ctr *v;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &rule_id, v)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
out:
	free(v);
	return err;
}

int pal_map_if_counter(int fd, const struct pal_ifctr_key *k, struct pal_if_ctr *out)
{
	int n = libbpf_num_possible_cpus();
	struct pal_if_ctr *v;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, k, v)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < PAL_VERDICT_COUNT; j++)
			out->verdict[j] += v[i].verdict[j];
		for (int j = 0; j < PAL_DROP_COUNT; j++)
			out->drop[j] += v[i].drop[j];
		out->events_suppressed += v[i].events_suppressed;
		out->events_lost += v[i].events_lost;
	}
out:
	free(v);
	return err;
}

int pal_map_foreach_flow(int fd, pal_dp_flow_fn fn, void *ctx)
{
	struct pal_flow_key key, next, *prev = NULL;
	int rc = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pal_flow f;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue; /* evicted meanwhile */
		rc = fn(&key, &f, ctx);
		if (rc)
			break;
	}
	return rc;
}

int pal_map_iface_read(int ifaces_fd, int bank_fd, int cfg_fd, uint32_t ifindex,
		       struct pal_iface *out)
{
	struct pal_if_slot ref;
	struct pal_if_bank bank;
	uint32_t idx;

	if (bpf_map_lookup_elem(ifaces_fd, &ifindex, &ref))
		return -errno;
	if (bpf_map_lookup_elem(bank_fd, &ref.slot, &bank))
		return errno == ENOENT ? -EUCLEAN : -errno; /* a slot out of range: corrupt */
	idx = ref.slot * 2 + (bank.bank & 1);
	if (bpf_map_lookup_elem(cfg_fd, &idx, out))
		return errno == ENOENT ? -EUCLEAN : -errno;
	return 0;
}

int pal_map_flow_stats(int fd, struct pal_flow_stats *out)
{
	int n = libbpf_num_possible_cpus();
	struct pal_flow_stats *v;
	uint32_t zero = 0;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return n ? n : -EINVAL;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < n; i++) {
		out->inserted += v[i].inserted;
		out->insert_failed += v[i].insert_failed;
		out->expired += v[i].expired;
		out->rejudged += v[i].rejudged;
		out->rejudge_denied += v[i].rejudge_denied;
		out->syn_new += v[i].syn_new;
	}
	free(v);
	return 0;
}
