/* Loading, pinning, adopting and the layout version check. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "bpft.h"

BT_BARE_SUITE(bpf_load);

Test(bpf_load, every_program_loads_and_is_pinned)
{
	char path[512];
	struct stat st;

	for (int p = 0; p < PAL_PROG_COUNT; p++) {
		cr_assert_geq(pal_dp_prog_fd(T.dp, p), 0, "%s", pal_dp_prog_name(p));
		snprintf(path, sizeof(path), "%s/progs/%s", T.pin_dir, pal_dp_prog_name(p));
		cr_assert_eq(stat(path, &st), 0, "%s not pinned", path);
	}
	snprintf(path, sizeof(path), "%s/maps/pal_version", T.pin_dir);
	cr_assert_eq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/maps/pal_scratch", T.pin_dir);
	cr_assert_neq(stat(path, &st), 0, "per-object scratch must not be pinned");
}

Test(bpf_load, raw_output_filters_load_per_interface)
{
	char d[PATH_MAX], f[PATH_MAX], a[PATH_MAX];
	int fd;

	cr_assert_eq(pal_dp_load_sf_out(T.dp, (uint32_t)T.ifindex[BT_ETH0], d, f, a), 0, "%s",
		     pal_dp_error(T.dp));
	fd = bpf_obj_get(d);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(pal_dp_unpin_sf_out(T.dp, (uint32_t)T.ifindex[BT_ETH0]), 0);
	cr_assert_lt(bpf_obj_get(a), 0);
}

Test(bpf_load, adopt_reuses_pinned_maps)
{
	struct pal_datapath *dp2 = NULL;
	char err[512] = "";
	bool adopted = false;
	uint32_t key = (uint32_t)T.ifindex[BT_ETH0];
	struct pal_iface v = { .flags = PAL_IF_HOST, .generation = 7 }, got;

	cr_assert_eq(pal_dp_iface_flip(T.dp, key, &v, NULL, NULL), 0, "%s", pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir }, &dp2, &adopted, err,
				 sizeof(err)), 0, "%s", err);
	cr_assert(adopted);
	cr_assert_eq(pal_dp_iface_read(dp2, key, &got), 0);
	cr_assert_eq(got.generation, 7);
	/* the adopter knows the slot is taken: a second interface gets another one */
	v.generation = 8;
	cr_assert_eq(pal_dp_iface_flip(dp2, key + 1000, &v, NULL, NULL), 0, "%s", pal_dp_error(dp2));
	cr_assert_eq(pal_dp_iface_read(dp2, key, &got), 0);
	cr_assert_eq(got.generation, 7);
	/* sizes chosen at creation survive adoption */
	{
		struct bpf_map_info i1 = { 0 }, i2 = { 0 };
		uint32_t l1 = sizeof(i1), l2 = sizeof(i2);

		bpf_obj_get_info_by_fd(pal_dp_map_fd(T.dp, "pal_words"), &i1, &l1);
		bpf_obj_get_info_by_fd(pal_dp_map_fd(dp2, "pal_words"), &i2, &l2);
		cr_assert_eq(i1.id, i2.id, "same map");
		cr_assert_eq(i2.max_entries, 1u << 22);
	}
	pal_dp_close(dp2);
}

Test(bpf_load, no_adopt_refuses_existing_pins)
{
	struct pal_datapath *dp2 = NULL;
	char err[512] = "";

	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir, .no_adopt = true },
				 &dp2, NULL, err, sizeof(err)), -EEXIST);
	cr_assert_null(dp2);
}

Test(bpf_load, incompatible_layout_is_refused)
{
	struct pal_datapath *dp2 = NULL;
	struct pal_version v = { .magic = PAL_VERSION_MAGIC, .layout = PAL_LAYOUT_VERSION + 1,
				 .summary_words = PAL_SUMMARY_WORDS };
	uint32_t key = 0;
	char err[512] = "";

	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(T.dp, "pal_version"), &key, &v, 0), 0);
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = T.pin_dir }, &dp2, NULL, err,
				 sizeof(err)), -EPROTO);
	cr_assert_null(dp2);
	cr_assert(strstr(err, "refusing to adopt"), "message: %s", err);
}

Test(bpf_load, test_run_refuses_frames_shorter_than_ethernet)
{
	/* Zero-length and sub-Ethernet frames cannot reach the programs: BPF_PROG_TEST_RUN (and
	 * drivers) refuse them before any program runs. */
	uint8_t buf[16] = { 0 };

	cr_assert_eq(bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, 0, NULL), -1);
	cr_assert_eq(bt_run_tc(&T, PAL_PROG_TC_INGRESS, T.ifindex[BT_ETH0], 0, 0, buf, 10, NULL), -1);
}
