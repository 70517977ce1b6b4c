/* Datapath state readers (stats.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "datapath_internal.h"
#include "map_read.h"
#include "stats.h"
#include "vec.h"

int pal_dp_foreach_if_counter(const struct pal_datapath *dp, pal_dp_ifctr_fn fn, void *ctx)
{
	struct pal_ifctr_maps maps = PAL_DP_IFCTR_MAPS(dp);
	struct pal_ifctr_key *keys;
	size_t n;
	int rc = pal_map_if_counter_keys(&maps, &keys, &n);

	for (size_t i = 0; !rc && i < n; i++) {
		struct pal_if_ctr c;

		if (pal_dp_if_counter(dp, keys[i].ifindex, keys[i].hook, &c))
			continue;
		rc = fn(keys[i].ifindex, (enum pal_hook)keys[i].hook, &c, ctx);
	}
	free(keys);
	return rc;
}

static bool has_ifindex(const int *v, size_t n, uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if ((uint32_t)v[i] == ifindex)
			return true;
	return false;
}

int pal_dp_prune_if_counters(const struct pal_datapath *dp, const int *keep, size_t n)
{
	struct pal_ifctr_key key, next, *prev = NULL, *del = NULL;
	int fd = MFD(dp, pal_if_ctrs), gone = 0;
	size_t n_del = 0, cap_del = 0;

	/* collect first: deleting while walking restarts the walk */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (has_ifindex(keep, n, key.ifindex))
			continue;
		if (vec_grow((void **)&del, &cap_del, n_del + 1, sizeof(*del))) {
			free(del);
			return -ENOMEM;
		}
		del[n_del++] = key;
	}
	for (size_t i = 0; i < n_del; i++)
		gone += bpf_map_delete_elem(fd, &del[i]) == 0;
	free(del);
	return gone;
}

int pal_dp_foreach_flow(const struct pal_datapath *dp, pal_dp_flow_fn fn, void *ctx)
{
	return pal_map_foreach_flow(MFD(dp, pal_flows4), MFD(dp, pal_flows), fn, ctx);
}

/* Deletes every key of a map whose keys are at most 64 bytes; returns how many, or -errno. */
static int flush_map(int fd)
{
	char k[64];
	int n = 0;

	/* restart from the first key each time: deleting invalidates the iteration */
	while (bpf_map_get_next_key(fd, NULL, k) == 0) {
		if (bpf_map_delete_elem(fd, k) && errno != ENOENT)
			return -errno;
		n++;
	}
	return n;
}

int pal_dp_flush_flows(const struct pal_datapath *dp)
{
	int n4 = flush_map(MFD(dp, pal_flows4)), n6;

	if (n4 < 0)
		return n4;
	n6 = flush_map(MFD(dp, pal_flows));
	return n6 < 0 ? n6 : n4 + n6;
}

int pal_dp_flow_stats(const struct pal_datapath *dp, struct pal_flow_stats *out)
{
	return pal_map_flow_stats(MFD(dp, pal_flow_stats), out);
}

static uint64_t count_keys(int fd, size_t key_size)
{
	char key[64], next[64];
	uint64_t n = 0;
	void *prev = NULL;

	if (key_size > sizeof(key))
		return 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static uint32_t max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int pal_dp_fill(const struct pal_datapath *dp, struct pal_dp_fill out[PAL_DP_FILL_N])
{
	out[0] = (struct pal_dp_fill){ "pal_words", pal_region_used(&dp->words), dp->words.size };
	out[1] = (struct pal_dp_fill){ "pal_entries", pal_region_used(&dp->entries),
				       dp->entries.size };
	out[2] = (struct pal_dp_fill){ "pal_classes",
				       count_keys(MFD(dp, pal_classes), sizeof(struct pal_class_key)),
				       max_entries(MFD(dp, pal_classes)) };
	out[3] = (struct pal_dp_fill){ "pal_lists", count_keys(MFD(dp, pal_lists), sizeof(uint32_t)),
				       max_entries(MFD(dp, pal_lists)) };
	out[4] = (struct pal_dp_fill){ "pal_ifaces",
				       count_keys(MFD(dp, pal_ifaces), sizeof(uint32_t)),
				       max_entries(MFD(dp, pal_ifaces)) };
	out[5] = (struct pal_dp_fill){ "pal_flows",
				       count_keys(MFD(dp, pal_flows), sizeof(struct pal_flow_key)),
				       max_entries(MFD(dp, pal_flows)) };
	out[6] = (struct pal_dp_fill){ "pal_flows4",
				       count_keys(MFD(dp, pal_flows4), sizeof(struct pal_flow_key4)),
				       max_entries(MFD(dp, pal_flows4)) };
	return 0;
}

struct pal_dp_events {
	struct ring_buffer *rb;
	pal_dp_event_fn fn;
	void *ctx;
};

static int on_sample(void *ctx, void *data, size_t len)
{
	struct pal_dp_events *ev = ctx;
	struct pal_event e;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	return ev->fn(&e, ev->ctx);
}

struct pal_dp_events *pal_dp_events_open(const struct pal_datapath *dp, pal_dp_event_fn fn,
					 void *ctx)
{
	struct pal_dp_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->fn = fn;
	ev->ctx = ctx;
	ev->rb = ring_buffer__new(MFD(dp, pal_events), on_sample, ev, NULL);
	if (!ev->rb) {
		free(ev);
		return NULL;
	}
	return ev;
}

int pal_dp_events_poll(struct pal_dp_events *ev, int timeout_ms)
{
	return timeout_ms ? ring_buffer__poll(ev->rb, timeout_ms) : ring_buffer__consume(ev->rb);
}

int pal_dp_events_fd(const struct pal_dp_events *ev)
{
	return ring_buffer__epoll_fd(ev->rb);
}

void pal_dp_events_close(struct pal_dp_events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	free(ev);
}
