/* Deleting lists' classes (agent/dataplane/maps_sync.c delete_classes): the scan of pal_classes
 * deletes a chunk of keys at a time and resumes from the last key it keeps. Lists of 5,000
 * address classes each (more than a chunk): deleting one list leaves exactly every other list's
 * keys, whether the kept keys come before the deleted ones in the trie's order or after them. */
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
					      "    destination: {ports: [%d]}\n    source:\n      nets:\n",
					      port);
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

/* pal_classes keys per list id (ids below 64 only; the tests' ids are small). */
static void count_by_list(size_t counts[64])
{
	int fd = pal_dp_map_fd(T.dp, "pal_classes");
	struct pal_class_key key, next;
	void *prev = NULL;

	cr_assert_geq(fd, 0);
	memset(counts, 0, 64 * sizeof(*counts));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		cr_assert_lt(next.list_id, 64);
		counts[next.list_id]++;
		key = next;
		prev = &key;
	}
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
	size_t before[64], after[64], deleted = 0;

	count_by_list(before);
	pal_dp_lists_delete(T.dp, ids, n);
	count_by_list(after);
	for (uint32_t id = 0; id < 64; id++) {
		bool gone = false;

		for (size_t i = 0; i < n; i++)
			gone |= ids[i] == id && !list_exists(id);
		deleted += gone ? before[id] : 0;
		cr_assert_eq(after[id], gone ? 0 : before[id], "list %u: %zu keys, want %zu", id,
			     after[id], gone ? (size_t)0 : before[id]);
	}
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
