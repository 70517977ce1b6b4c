/* Deleting lists' classes (agent/dataplane/maps_sync.c delete_classes): the lists this process
 * wrote by a walk of their own keys from the first in the trie's order, no scan of the whole
 * trie; the others (or a walk that falls short) by the scan of pal_classes, which deletes a chunk
 * of keys at a time and resumes from the last key it keeps. Lists of 5,000 address classes each
 * (more than a chunk), with nested prefixes and a port range (keys that are prefixes of others):
 * deleting one list leaves exactly every other list's keys, whether the kept keys come before
 * the deleted ones in the trie's order or after them. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define N_NETS 5000

static struct bpft T;
static struct ctest A, B;
static char yaml_a[N_NETS * 30 + 4096], yaml_b[N_NETS * 30 + 4096];

/* The pair's host endpoint and a policy admitting port from N_NETS /32 sources of
 * 198.(18+net).x.y, 250 per rule (a rule takes at most 256 nets). */
static void policy(char *buf, size_t len, int net, int port)
{
	size_t n = (size_t)snprintf(buf, len,
				    BT_PAIR_HEP "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
						"metadata: {name: p}\nspec:\n  selector: role == 'h'\n"
						"  types: [Ingress]\n  ingress:\n");

	for (int i = 0; i < N_NETS; i++) {
		if (i % 250 == 0)
			n += (size_t)snprintf(buf + n, len - n,
					      "  - action: Allow\n    protocol: TCP\n"
					      "    destination: {ports: [%d, '%d:%d']}\n"
					      "    source:\n      nets:\n",
					      port, 1000 + net * 100, 2000 + net * 1000);
		if (i == 0) /* prefixes the /32s below nest in */
			n += (size_t)snprintf(buf + n, len - n,
					      "      - 198.%d.0.0/16\n      - 198.%d.0.0/24\n",
					      18 + net, 18 + net);
		n += (size_t)snprintf(buf + n, len - n, "      - 198.%d.%d.%d/32\n", 18 + net,
				      i / 200, i % 200 + 1);
	}
	cr_assert_lt(n, len);
}

static void setup(void)
{
	policy(yaml_a, sizeof(yaml_a), 0, 80);
	policy(yaml_b, sizeof(yaml_b), 1, 81);
	bt_setup_pair(&T, &A, yaml_a, &B, yaml_b);
}

static void teardown(void)
{
	bt_teardown_pair(&T, &A, &B);
}

TestSuite(bpf_class_delete, .init = setup, .fini = teardown);

/* The pal_classes keys of one list id. */
struct id_keys {
	uint32_t id;
	size_t n;
};

#define MAX_IDS 64 /* list ids with keys: the tests have a few */

/* The keys of list id in counts (n_ids of them): 0 when it has none. */
static size_t keys_of(const struct id_keys *counts, size_t n_ids, uint32_t id)
{
	for (size_t i = 0; i < n_ids; i++)
		if (counts[i].id == id)
			return counts[i].n;
	return 0;
}

/* pal_classes keys per list id; how many ids have keys. */
static size_t count_by_list(struct id_keys counts[MAX_IDS])
{
	int fd = pal_dp_map_fd(T.dp, "pal_classes");
	struct pal_class_key key, next;
	void *prev = NULL;
	size_t n_ids = 0, i;

	cr_assert_geq(fd, 0);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		for (i = 0; i < n_ids && counts[i].id != next.list_id; i++)
			;
		if (i == n_ids) {
			cr_assert_lt(n_ids, MAX_IDS);
			counts[n_ids++] = (struct id_keys){ .id = next.list_id };
		}
		counts[i].n++;
		key = next;
		prev = &key;
	}
	return n_ids;
}

/* Writes c's eth0 lists (not bound): their ids in ids, how many returned. */
static size_t write_lists(const struct ctest *c, uint32_t ids[PAL_SLOT_COUNT])
{
	const struct pal_ir_endpoint *ep = pal_ir_endpoint_for_iface(&c->ir, "eth0");
	struct pal_iface v;

	cr_assert_not_null(ep);
	cr_assert_eq(pal_dp_endpoint_write(T.dp, &c->ir, ep, 2, &v), 0, "%s", pal_dp_error(T.dp));
	return pal_dp_iface_lists(&v, ids);
}

static bool list_exists(uint32_t id)
{
	struct pal_list l;

	return bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_lists"), &id, &l) == 0;
}

/* Gives back a reference to each of the lists ids: those deleted (a list shared with another
 * endpoint stays) have no key left, every other list keeps exactly its keys. */
static void delete_and_check(const uint32_t *ids, size_t n)
{
	struct id_keys before[MAX_IDS], after[MAX_IDS];
	size_t n_before, n_after, deleted = 0;

	size_t scans = pal_dp_class_scans(T.dp);

	n_before = count_by_list(before);
	pal_dp_lists_delete(T.dp, ids, n);
	n_after = count_by_list(after);
	cr_assert_eq(pal_dp_class_scans(T.dp), scans,
		     "lists this process wrote were deleted by a scan of the whole trie");
	for (size_t k = 0; k < n_before; k++) {
		uint32_t id = before[k].id;
		size_t kept = keys_of(after, n_after, id);
		bool gone = false;

		for (size_t i = 0; i < n; i++)
			gone |= ids[i] == id && !list_exists(id);
		deleted += gone ? before[k].n : 0;
		cr_assert_eq(kept, gone ? 0 : before[k].n, "list %#x: %zu keys, want %zu", id, kept,
			     gone ? (size_t)0 : before[k].n);
	}
	cr_assert_leq(n_after, n_before, "keys of a list that had none");
	cr_assert_gt(deleted, N_NETS, "more than a chunk of keys deleted (%zu)", deleted);
}

Test(bpf_class_delete, the_kept_keys_come_first)
{
	uint32_t ids[PAL_SLOT_COUNT];
	size_t n = write_lists(&B, ids); /* after A's live lists in the trie's order */

	delete_and_check(ids, n);
	cr_assert(bt_pair_admits(&T, 80) && !bt_pair_admits(&T, 81), "A's lists damaged");
}

Test(bpf_class_delete, the_deleted_keys_come_first)
{
	uint32_t live[PAL_SLOT_COUNT], ids[PAL_SLOT_COUNT];
	struct pal_iface v;
	size_t n;

	write_lists(&B, ids);
	cr_assert_eq(pal_dp_iface_read(T.dp, (uint32_t)T.ifindex[BT_ETH0], &v), 0);
	n = pal_dp_iface_lists(&v, live); /* A's: the lowest ids */
	delete_and_check(live, n);
}
