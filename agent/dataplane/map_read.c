/* Readers on a map fd (map_read.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_read.h"
#include "vec.h"

/* Looks key up in the per-CPU map fd: *vals gets one value of size sz per possible CPU (malloc'd,
 * the caller frees it). Per-CPU maps return one value per possible CPU: the buffer must hold that
 * many (a guess could let the kernel write past it). How many CPUs, or -errno. */
static int percpu_lookup(int fd, const void *key, size_t sz, void **vals)
{
	int n = libbpf_num_possible_cpus();
	void *v;

	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	v = calloc((size_t)n, sz);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	*vals = v;
	return n;
}

/* Sums the per-CPU values of key in fd into *out, a struct of sz bytes that holds __u64 counters
 * only (pal_rule_ctr, pal_flow_stats: abi.h fixes their sizes at 8 bytes a counter). */
static int percpu_sum_counters(int fd, const void *key, void *out, size_t sz)
{
	uint64_t *v, *sum = out;
	size_t n_ctrs = sz / sizeof(uint64_t);
	int n;

	memset(out, 0, sz);
	if ((n = percpu_lookup(fd, key, sz, (void **)&v)) < 0)
		return n;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < n_ctrs; j++)
			sum[j] += v[(size_t)i * n_ctrs + j];
	free(v);
	return 0;
}

int pal_map_rule_counter(int fd, uint32_t rule_id, struct pal_rule_ctr *out)
{
	return percpu_sum_counters(fd, &rule_id, out, sizeof(*out));
}

void pal_if_ctr_add(struct pal_if_ctr *to, const struct pal_if_ctr *c)
{
	for (int j = 0; j < PAL_VERDICT_COUNT; j++)
		to->verdict[j] += c->verdict[j];
	for (int j = 0; j < PAL_DROP_COUNT; j++) {
		to->drop[j] += c->drop[j];
		to->drop_bytes[j] += c->drop_bytes[j];
	}
	to->events_suppressed += c->events_suppressed;
	to->events_lost += c->events_lost;
}

/* Adds the per-CPU values of key in fd (pal_if_ctrs or pal_slot_ctrs) to *out. */
static int add_if_ctr(int fd, const void *key, struct pal_if_ctr *out)
{
	struct pal_if_ctr *v;
	int n;

	if ((n = percpu_lookup(fd, key, sizeof(*v), (void **)&v)) < 0)
		return n;
	for (int i = 0; i < n; i++)
		pal_if_ctr_add(out, &v[i]);
	free(v);
	return 0;
}

/* The index of (interface, hook) in pal_slot_ctrs, or -ENOENT when the interface has no slot of
 * its own (it counts by ifindex only). */
static int64_t slot_ctr_index(const struct pal_ifctr_maps *m, uint32_t ifindex, uint8_t hook)
{
	struct pal_if_slot s;

	if (hook >= PAL_HOOK_COUNT || bpf_map_lookup_elem(m->ifaces, &ifindex, &s) ||
	    s.slot < PAL_IFSLOT_FIRST)
		return -ENOENT;
	return (int64_t)s.slot * PAL_HOOK_COUNT + hook;
}

/* The index of (interface, hook) in pal_slot_ctrs by the interface's link slot (abi.h
 * PAL_LINK_SLOTS), or -ENOENT when it has none. */
static int64_t link_ctr_index(const struct pal_ifctr_maps *m, uint32_t ifindex, uint8_t hook)
{
	struct pal_if_index e;

	if (m->if_index < 0 || hook >= PAL_HOOK_COUNT || ifindex >= PAL_IF_INDEX_DIRECT ||
	    bpf_map_lookup_elem(m->if_index, &ifindex, &e) || !e.link_plus1)
		return -ENOENT;
	return (int64_t)(e.link_plus1 - 1) * PAL_HOOK_COUNT + hook;
}

/* Adds pal_slot_ctrs[idx] to *out (idx < 0: none); 0, -ENOENT or -errno. */
static int add_slot_ctr(const struct pal_ifctr_maps *m, int64_t idx, struct pal_if_ctr *out)
{
	uint32_t i = (uint32_t)idx;

	return idx < 0 ? -ENOENT : add_if_ctr(m->by_slot, &i, out);
}

int pal_map_if_counter(const struct pal_ifctr_maps *m, const struct pal_ifctr_key *k,
		       struct pal_if_ctr *out)
{
	int64_t idx = slot_ctr_index(m, k->ifindex, k->hook);
	int64_t link = link_ctr_index(m, k->ifindex, k->hook);
	int by_if, by_slot, by_link;

	memset(out, 0, sizeof(*out));
	by_if = add_if_ctr(m->by_ifindex, k, out);
	if (by_if && by_if != -ENOENT)
		return by_if;
	by_slot = add_slot_ctr(m, idx, out);
	if (by_slot && by_slot != -ENOENT)
		return by_slot;
	by_link = link != idx ? add_slot_ctr(m, link, out) : -ENOENT;
	if (by_link && by_link != -ENOENT)
		return by_link;
	return by_if && by_slot && by_link ? -ENOENT : 0;
}

static bool ctr_any(const struct pal_if_ctr *c)
{
	static const struct pal_if_ctr zero;

	return memcmp(c->verdict, zero.verdict, sizeof(c->verdict)) ||
	       memcmp(c->drop, zero.drop, sizeof(c->drop)) ||
	       memcmp(c->drop_bytes, zero.drop_bytes, sizeof(c->drop_bytes)) || c->events_suppressed ||
	       c->events_lost;
}

static int keys_push(struct pal_ifctr_key **keys, size_t *n, size_t *cap,
		     const struct pal_ifctr_key *k)
{
	if (vec_grow((void **)keys, cap, *n + 1, sizeof(**keys)))
		return -ENOMEM;
	(*keys)[(*n)++] = *k;
	return 0;
}

/* The hooks that counted something in pal_slot_ctrs for interface ifindex, at its slot (index:
 * slot_ctr_index) or its link slot (link_ctr_index). */
static int slot_keys(const struct pal_ifctr_maps *m, uint32_t ifindex, struct pal_ifctr_key **keys,
		     size_t *n, size_t *cap,
		     int64_t (*index)(const struct pal_ifctr_maps *, uint32_t, uint8_t))
{
	for (uint8_t hook = 0; hook < PAL_HOOK_COUNT; hook++) {
		struct pal_ifctr_key k = { .ifindex = ifindex, .hook = hook };
		int64_t idx = index(m, ifindex, hook);
		struct pal_if_ctr c = { 0 };
		uint32_t i = (uint32_t)idx;
		int err;

		if (idx < 0 || add_if_ctr(m->by_slot, &i, &c) || !ctr_any(&c))
			continue;
		if ((err = keys_push(keys, n, cap, &k)))
			return err;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct pal_ifctr_key *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	return (int)x->hook - (int)y->hook;
}

/* Sorts keys[n] by (ifindex, hook) and drops repeats (an interface counted in both maps). */
static size_t keys_sort_unique(struct pal_ifctr_key *keys, size_t n)
{
	return pal_sort_unique(keys, n, sizeof(*keys), key_cmp);
}

/* The hooks that counted something at the link slots pal_if_index names: the array read in
 * batches (65,536 elements: a syscall each would take tens of milliseconds). */
static int link_keys(const struct pal_ifctr_maps *m, struct pal_ifctr_key **keys, size_t *n,
		     size_t *cap)
{
	struct pal_if_index *v;
	uint32_t *k, out_batch, got = 0;
	void *in = NULL;
	int err = 0;

	if (m->if_index < 0)
		return 0;
	v = calloc(PAL_IF_INDEX_DIRECT, sizeof(*v));
	k = calloc(PAL_IF_INDEX_DIRECT, sizeof(*k));
	if (!v || !k) {
		free(v);
		free(k);
		return -ENOMEM;
	}
	while (got < PAL_IF_INDEX_DIRECT) {
		uint32_t count = PAL_IF_INDEX_DIRECT - got;
		int rc = bpf_map_lookup_batch(m->if_index, in, &out_batch, k + got, v + got, &count,
					      NULL);

		got += count;
		if (rc) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		in = &out_batch;
	}
	for (uint32_t i = 0; !err && i < got; i++)
		if (v[i].link_plus1)
			err = slot_keys(m, k[i], keys, n, cap, link_ctr_index);
	free(v);
	free(k);
	return err;
}

int pal_map_if_counter_keys(const struct pal_ifctr_maps *m, struct pal_ifctr_key **keys,
			    size_t *n)
{
	struct pal_ifctr_key k, *prev = NULL;
	uint32_t ifindex, *prev_if = NULL;
	size_t cap = 0;
	int err = 0;

	*keys = NULL;
	*n = 0;
	while (!err && bpf_map_get_next_key(m->by_ifindex, prev, &k) == 0) {
		err = keys_push(keys, n, &cap, &k);
		prev = &k;
	}
	while (!err && bpf_map_get_next_key(m->ifaces, prev_if, &ifindex) == 0) {
		err = slot_keys(m, ifindex, keys, n, &cap, slot_ctr_index);
		prev_if = &ifindex;
	}
	if (!err)
		err = link_keys(m, keys, n, &cap);
	if (err) {
		free(*keys);
		*keys = NULL;
		*n = 0;
		return err;
	}
	*n = keys_sort_unique(*keys, *n);
	return 0;
}

/* Walks one flow table; key4: its keys are struct pal_flow_key4 (pal_flows4), handed to fn as
 * struct pal_flow_key. */
static int foreach_flow(int fd, bool key4, pal_dp_flow_fn fn, void *ctx)
{
	union {
		struct pal_flow_key k6;
		struct pal_flow_key4 k4;
	} key, next;
	struct pal_flow_key k;
	void *prev = NULL;
	int rc = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pal_flow f;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue; /* evicted meanwhile */
		if (key4)
			pal_flow_key_of4(&key.k4, &k);
		else
			k = key.k6;
		rc = fn(&k, &f, ctx);
		if (rc)
			break;
	}
	return rc;
}

int pal_map_foreach_flow(int fd4, int fd6, pal_dp_flow_fn fn, void *ctx)
{
	int rc = foreach_flow(fd4, true, fn, ctx);

	return rc ? rc : foreach_flow(fd6, false, fn, ctx);
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
	uint32_t zero = 0;

	return percpu_sum_counters(fd, &zero, out, sizeof(*out));
}
