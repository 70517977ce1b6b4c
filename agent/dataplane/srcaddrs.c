/* pal_srcaddrs: the anti-spoofing prefixes of workload interfaces (srcaddrs.h). */
#include "srcaddrs.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datapath_internal.h"
#include "vec.h"

static void src_key(uint32_t ifindex, const struct pal_addr *a, uint8_t prefix_len,
		    struct pal_src_key *k)
{
	memset(k, 0, sizeof(*k));
	k->ifindex = ifindex;
	k->family = a->family == PAL_AF_INET6 ? 6 : 4;
	k->prefixlen = PAL_SRC_FIXED_BITS + prefix_len;
	memcpy(k->addr, a->bytes, 16);
}

static uint8_t full_len(const struct pal_addr *a)
{
	return a->family == PAL_AF_INET6 ? 128 : 32;
}

static bool exact(const struct pal_src_key *x, const struct pal_src_key *y)
{
	return memcmp(x, y, sizeof(*x)) == 0;
}

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct pal_src_key));
}

static int keys_push(struct pal_src_key **v, size_t *n, size_t *cap, const struct pal_src_key *k)
{
	if (vec_grow((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = *k;
	return 0;
}

/* Every key of the trie, in *v (unsorted). */
static int keys_read(int fd, struct pal_src_key **v, size_t *n)
{
	struct pal_src_key cur, next;
	size_t cap = 0;
	bool first = true;
	int err;

	*v = NULL;
	*n = 0;
	while (bpf_map_get_next_key(fd, first ? NULL : &cur, &next) == 0) {
		if ((err = keys_push(v, n, &cap, &next))) {
			free(*v);
			*v = NULL;
			*n = 0;
			return err;
		}
		cur = next;
		first = false;
	}
	return 0;
}

int pal_dp_src_begin(struct pal_datapath *dp, struct pal_src_txn *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = keys_read(MFD(dp, pal_srcaddrs), &t->before, &t->n_before);
	if (err) {
		pal_dp_set_error(dp, "pal_srcaddrs: cannot read the source prefixes: %s",
				 strerror(-err));
		return err;
	}
	if (t->n_before) /* an empty map: before is NULL, which qsort must not get */
		qsort(t->before, t->n_before, sizeof(*t->before), key_cmp);
	return 0;
}

void pal_dp_src_end(struct pal_src_txn *t)
{
	free(t->before);
	free(t->added);
	memset(t, 0, sizeof(*t));
}

static int put(struct pal_datapath *dp, struct pal_src_txn *t, const struct pal_src_key *k)
{
	uint32_t one = 1;
	bool had = t->n_before && bsearch(k, t->before, t->n_before, sizeof(*k), key_cmp) != NULL;

	if (bpf_map_update_elem(MFD(dp, pal_srcaddrs), k, &one, BPF_ANY)) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_srcaddrs: cannot add a source prefix of interface %u: %s",
				 k->ifindex, strerror(-err));
		return err;
	}
	return had ? 0 : keys_push(&t->added, &t->n_added, &t->cap_added, k);
}

int pal_dp_src_allow(struct pal_datapath *dp, struct pal_src_txn *t, uint32_t ifindex,
		     const struct pal_ir_endpoint *ep)
{
	struct pal_src_key k;
	int err;

	if (!ep || ep->kind != PAL_EP_WORKLOAD)
		return 0;
	for (size_t i = 0; i < ep->n_addrs; i++) {
		src_key(ifindex, &ep->addrs[i], full_len(&ep->addrs[i]), &k);
		if ((err = put(dp, t, &k)))
			return err;
	}
	for (size_t i = 0; i < ep->n_spoof_ok; i++) {
		src_key(ifindex, &ep->spoof_ok[i].addr, ep->spoof_ok[i].prefix_len, &k);
		if ((err = put(dp, t, &k)))
			return err;
	}
	return 0;
}

static const struct pal_dp_binding *binding_of(const struct pal_dp_binding *b, size_t n,
					       uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (b[i].ifindex == ifindex)
			return &b[i];
	return NULL;
}

void pal_dp_src_undo(struct pal_datapath *dp, const struct pal_src_txn *t,
		     const struct pal_dp_binding *b, size_t n)
{
	for (size_t i = 0; i < t->n_added; i++)
		if (!b || binding_of(b, n, t->added[i].ifindex))
			bpf_map_delete_elem(MFD(dp, pal_srcaddrs), &t->added[i]);
}

/* Does workload endpoint ep allow exactly the prefix k (of its interface)? */
static bool ep_allows(const struct pal_ir_endpoint *ep, const struct pal_src_key *k)
{
	struct pal_src_key want;

	if (!ep || ep->kind != PAL_EP_WORKLOAD)
		return false;
	for (size_t i = 0; i < ep->n_addrs; i++) {
		src_key(k->ifindex, &ep->addrs[i], full_len(&ep->addrs[i]), &want);
		if (exact(&want, k))
			return true;
	}
	for (size_t i = 0; i < ep->n_spoof_ok; i++) {
		src_key(k->ifindex, &ep->spoof_ok[i].addr, ep->spoof_ok[i].prefix_len, &want);
		if (exact(&want, k))
			return true;
	}
	return false;
}

int pal_dp_src_trim(struct pal_datapath *dp, const struct pal_dp_binding *b, size_t n, bool others)
{
	int fd = MFD(dp, pal_srcaddrs);
	struct pal_src_key *keys;
	size_t n_keys;
	int err = keys_read(fd, &keys, &n_keys); /* first: deleting while walking restarts the walk */

	if (err) {
		pal_dp_set_error(dp, "pal_srcaddrs: cannot read the source prefixes: %s",
				 strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n_keys; i++) {
		const struct pal_dp_binding *x = binding_of(b, n, keys[i].ifindex);

		if (x ? ep_allows(x->ep, &keys[i]) : !others)
			continue;
		if (bpf_map_delete_elem(fd, &keys[i]) && errno != ENOENT && !err) {
			err = -errno;
			pal_dp_set_error(dp, "pal_srcaddrs: cannot remove a source prefix of "
					 "interface %u: %s", keys[i].ifindex, strerror(errno));
		}
	}
	free(keys);
	return err;
}
