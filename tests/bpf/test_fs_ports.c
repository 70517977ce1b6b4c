/* The failsafe port bitmap (pal_fs_ports) in front of the failsafe trie: the programs skip the
 * LPM lookup for a port whose bit is clear, so every trie entry's port must have its bit, and a
 * failsafe port that changes must follow at once in both directions (a port that stops being
 * failsafe meets policy, a new one passes).
 *
 * Host endpoint h0 on eth0 with an untracked deny of all TCP at XDP; failsafe-in tcp:22, then
 * tcp:2379 instead. */
#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define XDP_DROP_RC 1
#define XDP_PASS_RC 2

static const char *yaml =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: h0, labels: {role: h}}\n"
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: raw}\n"
	"spec:\n  selector: role == 'h'\n  doNotTrack: true\n  applyOnForward: true\n"
	"  types: [Ingress]\n  ingress:\n"
	"  - {action: Deny, protocol: TCP}\n";

static struct bpft T;

TestSuite(bpf_fs_ports, .init = NULL, .fini = NULL);

static int xdp_to_port(uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.200.1", 40000, "198.18.0.1", dport);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	return bt_run_xdp(&T, T.ifindex[BT_ETH0], buf, len, NULL);
}

static bool port_bit(uint8_t dir, bool udp, uint16_t port)
{
	uint32_t bit = PAL_FS_PORT_BIT(dir, udp, port), word = bit / 64;
	uint64_t v = 0;

	cr_assert_eq(bpf_map_lookup_elem(pal_dp_map_fd(T.dp, "pal_fs_ports"), &word, &v), 0);
	return (v >> (bit % 64)) & 1;
}

/* Every key of the failsafe trie has its port's bit. */
static void assert_trie_covered(void)
{
	int fd = pal_dp_map_fd(T.dp, "pal_failsafe");
	struct pal_failsafe_key k, *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		cr_assert(port_bit(k.dir, k.proto == PAL_PROTO_UDP, k.port),
			  "failsafe dir %u proto %u port %u has no bit", k.dir, k.proto, k.port);
		prev = &k;
		n++;
	}
	cr_assert_gt(n, 0, "the trie has entries");
}

Test(bpf_fs_ports, a_failsafe_port_change_follows_in_both_directions)
{
	struct ctest a, b;

	bt_setup(&T);
	ct_compile_ex(&a, yaml, "tcp:22", "udp:53", PAL_EP_TO_HOST_DROP);
	ct_compile_ex(&b, yaml, "tcp:2379", "udp:53", PAL_EP_TO_HOST_DROP);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(b.rc, 0);

	bt_apply(&T, &a.ir, 1);
	assert_trie_covered();
	cr_expect(port_bit(PAL_FAILSAFE_IN, false, 22));
	cr_expect(port_bit(PAL_FAILSAFE_OUT, true, 53));
	cr_expect_not(port_bit(PAL_FAILSAFE_IN, false, 2379));
	cr_expect_not(port_bit(PAL_FAILSAFE_IN, true, 22), "UDP 22 is no failsafe");
	cr_expect_eq(xdp_to_port(22), XDP_PASS_RC, "failsafe tcp:22 passes the untracked deny");
	cr_expect_eq(xdp_to_port(2379), XDP_DROP_RC);

	bt_apply(&T, &b.ir, 2);
	assert_trie_covered();
	cr_expect_not(port_bit(PAL_FAILSAFE_IN, false, 22), "a removed failsafe's bit goes");
	cr_expect(port_bit(PAL_FAILSAFE_IN, false, 2379));
	cr_expect_eq(xdp_to_port(22), XDP_DROP_RC, "22 is no failsafe any more");
	cr_expect_eq(xdp_to_port(2379), XDP_PASS_RC, "the new failsafe passes");

	ct_free(&a);
	ct_free(&b);
	bt_teardown(&T);
}
