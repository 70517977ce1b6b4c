/* Atomic updates: one thread flips the datapath between two rule sets (a new generation of lists
 * written beside the old one, one pal_ifaces update per endpoint, old lists deleted after a grace
 * period) thousands of times while another probes through BPF_PROG_TEST_RUN. A flow allowed by
 * both rule sets must never be dropped, one denied by both must never pass, and a flow allowed by
 * only one of them must be seen both ways (the flips really happen). Every probe is a new flow
 * (fresh source port), so flow state cannot hide a policy gap. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include "bpft.h"
#include "test_compiler_util.h"

#define HEP "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n" \
	    "metadata: {name: h, labels: {role: h}}\n" \
	    "spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n---\n"
#define POL(rules) "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n" \
	    "metadata: {name: p}\nspec:\n  selector: role == 'h'\n  types: [Ingress]\n" \
	    "  ingress:\n" rules

/* Both allow 80 and deny 81 (A by rule, B by the tier's end); only A allows 82. A also has more
 * rules, so the two generations differ in size and layout. */
static const char *yaml_a = HEP POL(
	"  - {action: Deny, protocol: TCP, destination: {ports: [81]}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [80, 82, '1000:2000']}}\n"
	"  - {action: Allow, protocol: UDP, source: {nets: [198.18.50.0/24]}}\n");
static const char *yaml_b = HEP POL(
	"  - {action: Allow, protocol: TCP, source: {nets: [198.18.0.0/15]}, destination: {ports: [80]}}\n");

static struct bpft T;
static struct ctest A, B;
static atomic_int stop;

static void setup(void)
{
	bt_setup(&T);
	ct_compile(&A, yaml_a);
	ct_compile(&B, yaml_b);
	cr_assert(A.rc == 0 && B.rc == 0);
	bt_apply(&T, &A.ir, 1);
}

static void teardown(void)
{
	ct_free(&A);
	ct_free(&B);
	bt_teardown(&T);
}

TestSuite(bpf_update, .init = setup, .fini = teardown);

struct probe_stats {
	long allow_both_dropped, deny_both_passed, only_a_allowed, only_a_denied, probes;
	int errors;
};

/* Probe n: a source address and port never used before in this run (so never an established
 * flow, whatever the LRU keeps). */
static int probe(uint64_t n, uint16_t dport)
{
	char src[32];
	struct pal_packet p;

	snprintf(src, sizeof(src), "198.18.%u.%u", 100 + (unsigned)(n / 50000 % 100),
		 1 + (unsigned)(n / 5000000 % 250));
	p = ct_pkt(PAL_PROTO_TCP, src, (uint16_t)(1024 + n % 50000), "198.18.0.1", dport);
	uint8_t buf[256];
	size_t len = bt_build(buf, sizeof(buf), &p, NULL);

	/* normal ingress runs in the INPUT filter: 1 = drop */
	return bt_run_sf(pal_dp_prog_fd(T.dp, PAL_PROG_SF_INPUT_DENY), T.ifindex[BT_ETH0], 0, buf,
			 len);
}

static void *prober(void *arg)
{
	struct probe_stats *s = arg;
	uint64_t n = 0;

	while (!atomic_load(&stop)) {
		int r80 = probe(n++, 80), r81 = probe(n++, 81), r82 = probe(n++, 82);

		if (r80 < 0 || r81 < 0 || r82 < 0) {
			s->errors++;
			continue;
		}
		s->allow_both_dropped += r80 == 1;
		s->deny_both_passed += r81 == 0;
		s->only_a_allowed += r82 == 0;
		s->only_a_denied += r82 == 1;
		s->probes++;
	}
	return NULL;
}

Test(bpf_update, flips_never_mix_rule_sets, .timeout = 300)
{
	struct probe_stats s = { 0 };
	int flips = atoi(getenv("PAL_BPF_FLIPS") ? getenv("PAL_BPF_FLIPS") : "2000");
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, prober, &s), 0);
	for (int i = 0; i < flips; i++) {
		const struct pal_ir *ir = i % 2 ? &A.ir : &B.ir;
		struct pal_dp_binding b = { .ifindex = (uint32_t)T.ifindex[BT_ETH0],
					    .ep = pal_ir_endpoint_for_iface(ir, "eth0") };

		cr_assert_eq(pal_dp_apply(T.dp, ir, &b, 1, (uint32_t)i + 2), 0, "%s",
			     pal_dp_error(T.dp));
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	cr_log_info("%d flips, %ld probes", flips, s.probes);
	fprintf(stderr, "bpf_update: %d flips, %ld probe rounds: allowed-by-both dropped %ld, "
			"denied-by-both passed %ld, only-A allowed %ld / denied %ld\n",
		flips, s.probes, s.allow_both_dropped, s.deny_both_passed, s.only_a_allowed,
		s.only_a_denied);
	cr_assert_eq(s.errors, 0);
	cr_assert_gt(s.probes, 100, "too few probes to mean anything");
	cr_assert_eq(s.allow_both_dropped, 0);
	cr_assert_eq(s.deny_both_passed, 0);
	cr_assert_gt(s.only_a_allowed, 0, "the flips did not show");
	cr_assert_gt(s.only_a_denied, 0, "the flips did not show");
	/* no leak: only the current generation's lists remain */
	{
		uint32_t key, next, *prev = NULL;
		int n = 0, fd = pal_dp_map_fd(T.dp, "pal_lists");

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			key = next;
			prev = &key;
			n++;
		}
		cr_assert_leq(n, 7, "%d lists left after the flips", n);
	}
}
