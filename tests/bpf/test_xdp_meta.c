/* XDP -> tc ingress metadata (include/palisade/abi.h "XDP -> tc"): tc ingress believes XDP's
 * word only where the agent verified, by program id, that this datapath's own XDP program is
 * attached (pal_if_bank.xdp_ifindex), and only when the word carries this load's cookie for this
 * interface. Any XDP program can write metadata: a forged word must not skip failsafe and
 * untracked ingress evaluation.
 *
 * Linux 6.18 as built here refuses bpf_xdp_adjust_meta to XDP programs, and its skb test run
 * takes no metadata (a __sk_buff ctx with data_meta is EINVAL), so tc ingress cannot be run with
 * a word here: the check it makes is bpf/xdp_meta.h's plain function, run below in userspace;
 * the mark it reads is set and cleared by the agent's code on real attachments. */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "bpft.h"
#include "maps_sync.h"
#include "node.h"
#include "palisade.skel.h"
#include "test_compiler_util.h"
#include "../../bpf/xdp_meta.h"

BT_TABLE_SUITE(bpf_xdp_meta);

#define COOKIE 0x5eed1234u
#define IFX 7u
#define ALL_SKIP (PAL_XDP_META_EVALUATED | PAL_XDP_META_UNTRACKED)

/* The words an XDP program other than this load's palisade XDP could leave; none is believed. */
Test(bpf_xdp_meta, tc_believes_only_its_own_xdp_word_on_a_verified_interface)
{
	/* the old constant-magic word (0x9a1e0000 | flags): any program could write it */
	struct pal_xdp_meta forged = { .cookie = 0x9a1e0000u | ALL_SKIP, .flags = ALL_SKIP };
	struct pal_xdp_meta own = { .cookie = pal_xdp_meta_seal(COOKIE, IFX), .flags = ALL_SKIP };
	struct pal_xdp_meta other_load = { .cookie = pal_xdp_meta_seal(COOKIE + 1, IFX),
					   .flags = ALL_SKIP };
	struct pal_xdp_meta other_if = { .cookie = pal_xdp_meta_seal(COOKIE, IFX + 1),
					 .flags = ALL_SKIP };

	cr_assert_eq(pal_xdp_meta_flags(&own, COOKIE, IFX, IFX), ALL_SKIP, "its own word");
	cr_assert_eq(pal_xdp_meta_flags(&forged, COOKIE, IFX, IFX), 0, "a constant-magic word");
	cr_assert_eq(pal_xdp_meta_flags(&other_load, COOKIE, IFX, IFX), 0, "another load's word");
	cr_assert_eq(pal_xdp_meta_flags(&other_if, COOKIE, IFX, IFX), 0,
		     "a word sealed on another interface");
	cr_assert_eq(pal_xdp_meta_flags(&own, COOKIE, IFX, 0), 0,
		     "an interface where palisade's XDP is not verified");
	cr_assert_eq(pal_xdp_meta_flags(&own, COOKIE, IFX, IFX + 1), 0,
		     "a slot verified for another ifindex");
	cr_assert_eq(pal_xdp_meta_flags(&(struct pal_xdp_meta){ 0 }, 0, 0, 0), 0, "all zero");
}

/* Each load draws its own cookie, never 0. */
Test(bpf_xdp_meta, every_load_has_its_own_cookie)
{
	char dir[sizeof(T.pin_dir) + 8], err[256];
	struct pal_datapath *other = NULL;
	bool adopted;

	snprintf(dir, sizeof(dir), "%s-other", T.pin_dir);
	pal_dp_unpin_all(dir);
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir, .sizes.max_flows = 4096 }, &other,
				 &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_expect_neq(pal_dp_xdp_meta_cookie(T.dp), 0);
	cr_expect_neq(pal_dp_xdp_meta_cookie(other), 0);
	cr_expect_neq(pal_dp_xdp_meta_cookie(T.dp), pal_dp_xdp_meta_cookie(other));
	pal_dp_close(other);
	pal_dp_unpin_all(dir);
}

/* A program returning XDP_PASS that is not palisade's. */
static int foreign_xdp(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "not_palisade", "GPL", insns, 2, NULL);

	cr_assert_geq(fd, 0, "loading a foreign XDP program: %s", strerror(errno));
	return fd;
}

/* The mark follows what is attached, checked by program id: set for this datapath's own XDP
 * program, cleared when a foreign program or another load of palisade's replaced it, when it was
 * detached, and before palisade detaches it. */
Test(bpf_xdp_meta, mark_only_while_this_datapaths_own_xdp_is_attached)
{
	uint32_t ifx = (uint32_t)T.ifindex[BT_ETH0];
	char dir[sizeof(T.pin_dir) + 8], err[256];
	struct pal_datapath *other = NULL;
	enum pal_xdp_mode got;
	bool adopted;
	int fd;

	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 0, "nothing attached");
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0);

	cr_assert_eq(pal_dp_attach_xdp(T.dp, (int)ifx, PAL_XDP_GENERIC, &got), 0, "%s",
		     pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 1, "its own program");
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), ifx);

	/* replaced behind the agent's back by a foreign program */
	fd = foreign_xdp();
	cr_assert_eq(bpf_xdp_attach((int)ifx, fd, XDP_FLAGS_SKB_MODE, NULL), 0);
	close(fd);
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), ifx, "stale until checked");
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 0, "a foreign program");
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0);

	/* palisade's program of another load (same name, same build: another id and cookie) */
	cr_assert_eq(bpf_xdp_detach((int)ifx, XDP_FLAGS_SKB_MODE, NULL), 0);
	snprintf(dir, sizeof(dir), "%s-other", T.pin_dir);
	pal_dp_unpin_all(dir);
	cr_assert_eq(pal_dp_open(&(struct pal_dp_opts){ .pin_dir = dir, .sizes.max_flows = 4096 }, &other,
				 &adopted, err, sizeof(err)), 0, "pal_dp_open: %s", err);
	cr_assert_eq(pal_dp_attach_xdp(other, (int)ifx, PAL_XDP_GENERIC, &got), 0, "%s",
		     pal_dp_error(other));
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 0, "another load's program");
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0);
	cr_assert_eq(pal_dp_detach_xdp((int)ifx), 0);
	pal_dp_close(other);
	pal_dp_unpin_all(dir);

	/* detached by someone else, then by palisade */
	cr_assert_eq(pal_dp_attach_xdp(T.dp, (int)ifx, PAL_XDP_GENERIC, &got), 0);
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 1);
	cr_assert_eq(bpf_xdp_detach((int)ifx, XDP_FLAGS_SKB_MODE, NULL), 0);
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 0, "detached");
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0);
	cr_assert_eq(pal_dp_attach_xdp(T.dp, (int)ifx, PAL_XDP_GENERIC, &got), 0);
	cr_assert_eq(pal_dp_xdp_verify(T.dp, (int)ifx), 1);
	cr_assert_eq(pal_dp_detach_port(T.dp, (int)ifx), 0);
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0, "cleared when palisade detaches");
}

/* The node sync marks a host port it gives XDP, unmarks one it takes XDP from; a slot handed to
 * an interface starts unmarked (the mark was another interface's). */
Test(bpf_xdp_meta, node_sync_marks_the_ports_it_gives_xdp)
{
	uint32_t ifx = (uint32_t)T.ifindex[BT_ETH0];
	struct pal_dp_port port = { .name = "eth0", .ifindex = (int)ifx, .host = true,
				    .untracked_in = true, .xdp = true };
	struct pal_iface old;
	bool had;

	cr_assert_eq(pal_dp_sync_ports(T.dp, &port, 1, PAL_XDP_GENERIC, NULL), 1, "%s",
		     pal_dp_error(T.dp));
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), ifx);
	port.xdp = false;
	cr_assert_eq(pal_dp_sync_ports(T.dp, &port, 1, PAL_XDP_GENERIC, NULL), 1);
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0, "no XDP: unmarked");
	port.xdp = true;
	cr_assert_eq(pal_dp_sync_ports(T.dp, &port, 1, PAL_XDP_GENERIC, NULL), 1);
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), ifx);
	cr_assert_eq(pal_dp_iface_remove(T.dp, ifx, &old, &had), 0);
	cr_assert(had);
	cr_assert_eq(pal_dp_iface_xdp_marked(T.dp, ifx), 0, "no slot: nothing believed");
	pal_dp_sync_ports(T.dp, NULL, 0, PAL_XDP_GENERIC, NULL);
}

/* tc ingress's metadata path must pass the verifier where it is live (Debian 12's 6.1). Here
 * pal_xdp_meta_ok is 0 and the path is dead code the verifier never sees, so the object is loaded
 * with it forced on, without XDP (it would call the helper this kernel refuses). */
Test(bpf_xdp_meta, tc_ingress_with_metadata_verifies)
{
	struct pal_palisade *s = pal_palisade__open();
	int err;

	cr_assert_not_null(s, "pal_palisade__open: %s", strerror(errno));
	s->rodata->pal_xdp_meta_ok = 1;
	s->rodata->pal_xdp_meta_cookie = 1;
	s->rodata->pal_ct_opts_size = 16; /* what this kernel takes (tool_verifier_stats.c) */
	cr_assert_eq(bpf_program__set_autoload(s->progs.xdp_hep_ingress, false), 0);
	err = pal_palisade__load(s);
	pal_palisade__destroy(s);
	cr_assert_eq(err, 0, "tc programs with XDP metadata on: %s (PALISADE_LIBBPF_DEBUG=1 for the "
		     "verifier log)", strerror(-err));
}
