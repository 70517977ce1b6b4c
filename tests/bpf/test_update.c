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
#include <net/if.h>
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
	bt_setup_pair(&T, &A, yaml_a, &B, yaml_b);
}

static void teardown(void)
{
	bt_teardown_pair(&T, &A, &B);
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

/* ---- flip storm: many interfaces flipped at once --------------------------------------------
 * STORM_IFS host endpoints, each on its own interface, each with its own policy: in generation A
 * interface i allows TCP port 10000+i, in generation B port 20000+i, and nothing else. Both
 * generations' lists are written once; the writer then flips every interface to B, then every
 * one to A, ... (pal_dp_iface_flip back to back, `rounds` times) while prober threads send new
 * flows to every interface: an interface may answer with its old or its new policy, but never
 * allow another interface's port (a packet that read a recycled or half-written value: the old
 * preallocated HASH handed a replaced element to the next interface's update at once). */
#define STORM_IFS 24
#define STORM_PROBERS 3

static struct ctest SA, SB;
static int storm_ifindex[STORM_IFS];

struct storm_stats {
	int thread;
	long probes, foreign_allowed, own_a_allowed, own_b_allowed, errors;
	char first[160];
};

static void storm_yaml(char *buf, size_t cap, int base)
{
	size_t off = 0;

	for (int i = 0; i < STORM_IFS; i++)
		off += (size_t)snprintf(buf + off, cap - off,
			"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
			"metadata: {name: h%d, labels: {storm: 'x%d'}}\n"
			"spec: {node: node1, interfaceName: st%d, expectedIPs: [198.18.2.%d]}\n---\n"
			"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			"metadata: {name: p%d}\nspec:\n  selector: storm == 'x%d'\n"
			"  types: [Ingress]\n  ingress:\n"
			"  - {action: Allow, protocol: TCP, destination: {ports: [%d]}}\n---\n",
			i, i, i, i + 1, i, i, base + i);
	cr_assert_lt(off, cap);
}

static void storm_setup(void)
{
	static char ya[STORM_IFS * 600], yb[STORM_IFS * 600];
	char cmd[4096];
	size_t off = 0;

	bt_setup(&T);
	/* one shell in the test's namespace (bt_setup's) creates them all */
	for (int i = 0; i < STORM_IFS; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off,
					"%sip link add st%d type veth peer name p-st%d && "
					"ip link set st%d up", i ? " && " : "", i, i, i);
	cr_assert_lt(off, sizeof(cmd));
	cr_assert_eq(system(cmd), 0, "creating the storm interfaces");
	for (int i = 0; i < STORM_IFS; i++) {
		char n[16];

		snprintf(n, sizeof(n), "st%d", i);
		storm_ifindex[i] = (int)if_nametoindex(n);
		cr_assert_gt(storm_ifindex[i], 0);
	}
	storm_yaml(ya, sizeof(ya), 10000);
	storm_yaml(yb, sizeof(yb), 20000);
	ct_compile(&SA, ya);
	ct_compile(&SB, yb);
	cr_assert(SA.rc == 0 && SB.rc == 0);
}

static void storm_teardown(void)
{
	ct_free(&SA);
	ct_free(&SB);
	bt_teardown(&T);
}

/* Both generations' lists of every interface, written once: the storm flips between them. */
static struct pal_iface storm_val[2][STORM_IFS];

static void storm_write(const struct pal_ir *ir, int gen)
{
	for (int i = 0; i < STORM_IFS; i++) {
		char n[16];
		const struct pal_ir_endpoint *ep;

		snprintf(n, sizeof(n), "st%d", i);
		ep = pal_ir_endpoint_for_iface(ir, n);
		cr_assert(ep);
		cr_assert_eq(pal_dp_endpoint_write(T.dp, ir, ep, (uint32_t)gen + 1, &storm_val[gen][i]),
			     0, "%s", pal_dp_error(T.dp));
	}
}

/* Flips every interface to generation gen, back to back. */
static void storm_flip_all(int gen)
{
	for (int i = 0; i < STORM_IFS; i++)
		cr_assert_eq(pal_dp_iface_flip(T.dp, (uint32_t)storm_ifindex[i], &storm_val[gen][i],
					       NULL, NULL), 0, "%s", pal_dp_error(T.dp));
}

/* 1 = allowed, 0 = denied, -1 = test-run error. */
static int storm_probe(uint64_t n, int iface, uint16_t dport)
{
	char src[32];
	uint8_t buf[256];
	struct pal_packet p;
	size_t len;
	int r;

	snprintf(src, sizeof(src), "198.18.%u.%u", 100 + (unsigned)(n / 50000 % 100),
		 1 + (unsigned)(n / 5000000 % 250));
	p = ct_pkt(PAL_PROTO_TCP, src, (uint16_t)(1024 + n % 50000), "198.18.0.1", dport);
	len = bt_build(buf, sizeof(buf), &p, NULL);
	r = bt_run_sf(pal_dp_prog_fd(T.dp, PAL_PROG_SF_INPUT_DENY), storm_ifindex[iface], 0, buf, len);
	return r < 0 ? -1 : r == 0;
}

static void *storm_prober(void *arg)
{
	struct storm_stats *s = arg;
	/* each thread its own source range: every probe is a new flow */
	uint64_t n = (uint64_t)s->thread * 100000000ull;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < STORM_IFS && !atomic_load(&stop); i++) {
			/* the next interface: the one flipped right after this one, whose update
			 * the old HASH served with this one's replaced element */
			int j = (i + 1) % STORM_IFS;
			int own_a = storm_probe(n++, i, (uint16_t)(10000 + i));
			int own_b = storm_probe(n++, i, (uint16_t)(20000 + i));
			int fa = storm_probe(n++, i, (uint16_t)(10000 + j));
			int fb = storm_probe(n++, i, (uint16_t)(20000 + j));

			if (own_a < 0 || own_b < 0 || fa < 0 || fb < 0) {
				s->errors++;
				continue;
			}
			s->own_a_allowed += own_a;
			s->own_b_allowed += own_b;
			if ((fa || fb) && !s->foreign_allowed)
				snprintf(s->first, sizeof(s->first),
					 "st%d allowed port %d of st%d", i, fa ? 10000 + j : 20000 + j, j);
			s->foreign_allowed += fa + fb;
			s->probes++;
		}
	}
	return NULL;
}

TestSuite(bpf_update_storm, .init = storm_setup, .fini = storm_teardown);

Test(bpf_update_storm, flip_storm_never_reads_another_interface, .timeout = 300)
{
	struct storm_stats s[STORM_PROBERS] = { 0 };
	pthread_t th[STORM_PROBERS];
	int rounds = atoi(getenv("PAL_BPF_STORM_ROUNDS") ? getenv("PAL_BPF_STORM_ROUNDS") : "1000");
	long probes = 0, foreign = 0, own_a = 0, own_b = 0;

	storm_write(&SA.ir, 0);
	storm_write(&SB.ir, 1);
	storm_flip_all(0);
	atomic_store(&stop, 0);
	for (int t = 0; t < STORM_PROBERS; t++) {
		s[t].thread = t;
		cr_assert_eq(pthread_create(&th[t], NULL, storm_prober, &s[t]), 0);
	}
	for (int r = 0; r < rounds; r++)
		storm_flip_all(1 - r % 2);
	atomic_store(&stop, 1);
	for (int t = 0; t < STORM_PROBERS; t++) {
		pthread_join(th[t], NULL);
		cr_assert_eq(s[t].errors, 0);
		probes += s[t].probes;
		foreign += s[t].foreign_allowed;
		own_a += s[t].own_a_allowed;
		own_b += s[t].own_b_allowed;
		if (s[t].foreign_allowed)
			fprintf(stderr, "bpf_update storm: thread %d: %s\n", t, s[t].first);
	}
	fprintf(stderr, "bpf_update storm: %d flips of each of %d interfaces, %ld probe rounds: another "
			"interface's port allowed %ld, own A allowed %ld, own B allowed %ld\n",
		rounds, STORM_IFS, probes, foreign, own_a, own_b);
	cr_assert_gt(probes, 1000, "too few probes to mean anything");
	cr_assert_eq(foreign, 0, "a packet read another interface's policy");
	cr_assert_gt(own_a, 0, "the flips did not show");
	cr_assert_gt(own_b, 0, "the flips did not show");
}
