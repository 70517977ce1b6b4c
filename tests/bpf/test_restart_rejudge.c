/* Re-judging after the agent that loaded the programs is gone (s15 adversary round).
 *
 * A stale flow's packet tail-calls the object's re-judge program through a private program
 * array (flow_tc_jmp, flow_sf_jmp: bpf/palisade.bpf.c). The kernel empties a program array when
 * its last user reference (an fd or a pin) goes, and those arrays were not pinned: once the
 * loading process exited (`palisaded --once`, or any restart, which adopts the pinned programs
 * and with them their emptied arrays), every tail call failed and the stale packet met policy as
 * a new one at its hook. A flow the new policy denies then went on whenever its reply direction
 * was allowed: the server's packet, judged on its own tuple, was admitted as a new flow with the
 * server as its opener, and the client's packets rode that entry as its replies. An allowed flow
 * whose reply direction the policy does not allow was cut by any policy change.
 *
 * Node: pod a on cali0 (198.18.3.1), open egress; the client behind eth0 (no host endpoint). */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define POD "198.18.3.1"
#define CLIENT "198.18.100.1"

#define BASE_YAML                                                                               \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n"                        \
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"                            \
	"metadata: {name: a, namespace: open, labels: {app: a}}\n"                              \
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0,"                          \
	" ipNetworks: [198.18.3.1/32], profiles: [kns.open]}\n---\n"                            \
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"                               \
	"metadata: {name: guard, namespace: open}\n"                                            \
	"spec:\n  selector: app == 'a'\n  types: [Ingress]\n  ingress:\n"                      \
	"  - {action: Deny, protocol: ICMP}\n"

static const char *base_yaml = BASE_YAML "  - {action: Allow}\n";
static const char *deny_yaml = BASE_YAML "  - {action: Deny, protocol: TCP, destination: {ports: [8080]}}\n"
					 "  - {action: Allow}\n";
/* the pod may send nothing on its own (its replies are the flow's) */
static const char *no_egress_yaml =
	BASE_YAML "  - {action: Allow}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
		  "metadata: {name: quiet, namespace: open}\n"
		  "spec:\n  selector: app == 'a'\n  types: [Egress]\n";
static const char *no_egress_unrelated_yaml =
	BASE_YAML "  - {action: Allow}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
		  "metadata: {name: quiet, namespace: open}\n"
		  "spec:\n  selector: app == 'a'\n  types: [Egress]\n"
		  "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
		  "metadata: {name: other, namespace: open}\n"
		  "spec:\n  selector: app == 'nobody'\n  types: [Ingress]\n  ingress:\n"
		  "  - {action: Deny, protocol: TCP}\n";

static struct bpft T;
static uint32_t generation;
static struct pal_packet c2s, s2c;

TestSuite(bpf_restart_rejudge, .init = NULL, .fini = NULL);

static void apply(const char *yaml)
{
	struct ctest c;

	ct_compile_ex(&c, yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(c.rc, 0);
	bt_apply(&T, &c.ir, ++generation);
	ct_free(&c);
}

static bool to_pod(uint8_t flags)
{
	struct bt_pkt_opts o = { .tcp_flags = flags };

	return bt_path(&T, PAL_TRACE_FORWARD, "eth0", "cali0", &c2s, &o).allow;
}

static bool from_pod(uint8_t flags)
{
	struct bt_pkt_opts o = { .tcp_flags = flags };

	return bt_path(&T, PAL_TRACE_FORWARD, "cali0", "eth0", &s2c, &o).allow;
}

static uint64_t rejudged(void)
{
	int n = libbpf_num_possible_cpus();
	struct pal_flow_stats v[n > 0 ? n : 1];
	uint32_t zero = 0;
	uint64_t sum = 0;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_flow_stats"), &zero, v), 0);
	for (int i = 0; i < n; i++)
		sum += v[i].rejudged;
	return sum;
}

/* The agent that loaded the programs exits and a new one adopts them. */
static void restart(void)
{
	struct pal_dp_opts opts = bt_dp_opts(T.pin_dir);
	struct pal_datapath *dp2 = NULL;
	char err[512] = "";
	bool adopted = false;

	pal_dp_close(T.dp);
	T.dp = NULL;
	usleep(300 * 1000); /* the kernel empties an unreferenced program array in a work item */
	cr_assert_eq(pal_dp_open(&opts, &dp2, &adopted, err, sizeof(err)), 0, "%s", err);
	cr_assert(adopted);
	T.dp = dp2;
}

static void start(const char *yaml)
{
	bt_setup(&T);
	generation = 0;
	apply(yaml);
	c2s = ct_pkt(PAL_PROTO_TCP, CLIENT, 40000, POD, 8080);
	s2c = ct_pkt(PAL_PROTO_TCP, POD, 8080, CLIENT, 40000);
	cr_assert(to_pod(BT_TCP_SYN));
	cr_assert(from_pod(BT_TCP_SYN | BT_TCP_ACK));
	cr_assert(to_pod(BT_TCP_ACK));
}

Test(bpf_restart_rejudge, a_deny_after_a_restart_cuts_the_flow_when_the_reply_comes_first)
{
	start(base_yaml);
	restart();
	apply(deny_yaml);
	cr_expect_not(from_pod(BT_TCP_ACK), "the server's packet after the deny passed");
	cr_expect_not(to_pod(BT_TCP_ACK), "the client's packet after the deny passed");
	cr_expect_geq(rejudged(), 1, "no re-judge ran");
	bt_teardown(&T);
}

Test(bpf_restart_rejudge, an_unrelated_change_after_a_restart_keeps_the_flow)
{
	start(no_egress_yaml);
	restart();
	restart(); /* twice: the second adopter's arrays are the first one's */
	apply(no_egress_unrelated_yaml);
	cr_expect(from_pod(BT_TCP_ACK), "the server's reply cut by an unrelated change");
	cr_expect(to_pod(BT_TCP_ACK), "the client cut by an unrelated change");
	cr_expect_geq(rejudged(), 1, "no re-judge ran");
	bt_teardown(&T);
}

/* Programs pinned by a build without the tables' pins: their arrays are empty once their loader
 * is gone. The next start must not adopt them (they cannot re-judge): fresh copies replace them. */
Test(bpf_restart_rejudge, programs_with_an_emptied_table_are_replaced)
{
	static const char *progs[] = { "tc_ingress", "tc_egress", "sf_input_deny" };
	struct bpf_prog_info before = { 0 }, after = { 0 };
	uint32_t l1 = sizeof(before), l2 = sizeof(after);
	char path[PATH_MAX];

	start(base_yaml);
	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_EGRESS), &before, &l1), 0);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(path, sizeof(path), "%s/progs/%s_jmp", T.pin_dir, progs[i]);
		cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
	}
	restart();
	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_EGRESS), &after, &l2), 0);
	cr_expect_neq(before.id, after.id, "a program that cannot re-judge was adopted");
	apply(deny_yaml);
	cr_expect_not(from_pod(BT_TCP_ACK), "the server's packet after the deny passed");
	cr_expect_not(to_pod(BT_TCP_ACK), "the client's packet after the deny passed");
	restart(); /* and the fresh copies' tables are pinned: adopted, still re-judging */
	memset(&before, 0, sizeof(before));
	l1 = sizeof(before);
	cr_assert_eq(bpf_obj_get_info_by_fd(pal_dp_prog_fd(T.dp, PAL_PROG_TC_EGRESS), &before, &l1), 0);
	cr_expect_eq(before.id, after.id, "the fresh copy was not adopted by the next start");
	bt_teardown(&T);
}
