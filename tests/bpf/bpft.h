/* Test harness for the BPF programs: a private network namespace with dummy interfaces, a
 * datapath pinned under a per-test bpffs directory, a packet builder (Ethernet, VLAN, IPv4 with
 * options, IPv6 with extension headers, fragments, TCP/UDP/SCTP/ICMP) and BPF_PROG_TEST_RUN
 * wrappers for every hook, plus a host-path "pipeline" that strings the hooks together the way
 * the kernel does for ingress, egress and forwarded traffic. */
#ifndef PALISADE_TEST_BPFT_H
#define PALISADE_TEST_BPFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath.h"
#include "maps_sync.h"
#include "evaluator.h"
#include "ir.h"

/* Interfaces of the test netns (veth devices, peers named p-<name>). */
enum { BT_ETH0, BT_ETH1, BT_CALI0, BT_CALI1, BT_N_IFS };
extern const char *const bt_if_names[BT_N_IFS];

struct bpft {
	char pin_dir[96];
	struct pal_datapath *dp;
	int ifindex[BT_N_IFS];
	int sf_out_deny[BT_N_IFS], sf_out_allow[BT_N_IFS], sf_out_failsafe[BT_N_IFS]; /* fds or -1 */
};

/* The conntrack kfuncs' options size bt_setup asks pal_dp_open for (0 = the kernel's); a suite
 * sets it in its .init to run the programs with Linux 6.1's layout (12). */
extern uint32_t bt_ct_opts_size;
/* The endpoints bt_setup's datapath can program (0 = the default); a suite sets it in its .init to
 * run at a small --max-endpoints. */
extern uint32_t bt_max_endpoints;
/* The event rate bt_setup's datapath limits deny/log events to (0 = the default). */
extern uint32_t bt_event_rate;

/* The options bt_setup opens its datapath with (test-sized maps and the three settings above), for
 * a test that opens it again as a restarted agent would. */
struct pal_dp_opts bt_dp_opts(const char *pin_dir);

/* Enters a new network namespace, creates the interfaces, opens a fresh datapath. */
void bt_setup(struct bpft *t);
void bt_teardown(struct bpft *t);

/* Adds a veth name (peer p-name) in the test's namespace, with ifindex `index` (0: the kernel's
 * choice), and returns its ifindex; a criterion assertion when it cannot. */
int bt_veth_add(const char *name, uint32_t index);

/* Programs the maps from ir with every endpoint bound to the interface of its name (endpoints
 * whose iface is not one of ours are skipped). Also loads the raw OUTPUT filters per host
 * endpoint interface. */
void bt_apply(struct bpft *t, const struct pal_ir *ir, uint32_t generation);
/* pal_dp_apply of ir with every endpoint bound to the interface of its name, nothing else loaded
 * and no assertion: its return code, for tests of an apply that may fail. */
int bt_apply_rc(struct bpft *t, const struct pal_ir *ir, uint32_t generation);
int bt_ifindex(const struct bpft *t, const char *name); /* 0 when not ours */

/* The setup most suites share: bt_setup, then the node of tests/unit/fixtures/compiler/table
 * (eth0 = host endpoint "ext", eth1 = "int", cali1 = workload pod1) compiled into c with the
 * default failsafe ports and --endpoint-to-host-action drop, applied as generation 1. */
struct ctest;
void bt_setup_table(struct bpft *t, struct ctest *c);
void bt_teardown_table(struct bpft *t, struct ctest *c);
/* The same with the policy yaml instead of the table: no failsafe ports, endpoint-to-host
 * Accept. Undone by bt_teardown_table too. */
void bt_setup_yaml(struct bpft *t, struct ctest *c, const char *yaml);

/* The fixture of a suite that runs on one of those setups: file-scope T and C, set up before and
 * torn down after every test (needs criterion.h). */
#define BT_FIXTURE_SUITE(suite, setup_call)                                                      \
	static struct bpft T;                                                                    \
	static struct ctest C;                                                                   \
	static void setup(void)                                                                  \
	{                                                                                        \
		setup_call;                                                                      \
	}                                                                                        \
	static void teardown(void)                                                               \
	{                                                                                        \
		bt_teardown_table(&T, &C);                                                       \
	}                                                                                        \
	TestSuite(suite, .init = setup, .fini = teardown)
#define BT_TABLE_SUITE(suite) BT_FIXTURE_SUITE(suite, bt_setup_table(&T, &C))
#define BT_YAML_SUITE(suite, yaml) BT_FIXTURE_SUITE(suite, bt_setup_yaml(&T, &C, yaml))

/* A suite on bt_setup's datapath alone (each test programs what it needs): file-scope T. */
#define BT_BARE_SUITE(suite)                                                                     \
	static struct bpft T;                                                                    \
	static void setup(void)                                                                  \
	{                                                                                        \
		bt_setup(&T);                                                                    \
	}                                                                                        \
	static void teardown(void)                                                               \
	{                                                                                        \
		bt_teardown(&T);                                                                 \
	}                                                                                        \
	TestSuite(suite, .init = setup, .fini = teardown)

/* bt_setup, then yaml compiled into c (as ct_compile does) and applied as generation 1. */
void bt_setup_compiled(struct bpft *t, struct ctest *c, const char *yaml);
/* bt_setup, then two policies compiled into a and b, a applied as generation 1 (flip tests). */
void bt_setup_pair(struct bpft *t, struct ctest *a, const char *yaml_a, struct ctest *b,
		   const char *yaml_b);
void bt_teardown_pair(struct bpft *t, struct ctest *a, struct ctest *b);
/* The flip tests' node: host endpoint h on eth0 (198.18.0.1) and a policy admitting TCP to the
 * ports of `ports` (a YAML list's items: "80", "81, '1000:2000'"). */
#define BT_PAIR_HEP                                                                             \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                                \
	"metadata: {name: h, labels: {role: h}}\n"                                              \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n---\n"
#define BT_PAIR_POL(ports)                                                                      \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"                         \
	"metadata: {name: p}\nspec:\n  selector: role == 'h'\n  types: [Ingress]\n"               \
	"  ingress:\n  - {action: Allow, protocol: TCP, destination: {ports: [" ports "]}}\n"
/* Does eth0 admit a new TCP flow from 198.18.9.9 to 198.18.0.1:dport now (flows flushed)? */
bool bt_pair_admits(struct bpft *t, uint16_t dport);
/* c's endpoint of eth0, alone, applied as generation with pal_dp_apply. */
void bt_pair_apply(struct bpft *t, const struct ctest *c, uint32_t generation);
/* A ring buffer on the programs' event map calling fn for each event; undo with
 * ring_buffer__free. */
struct ring_buffer;
struct ring_buffer *bt_events_open(struct bpft *t, int (*fn)(void *ctx, void *data, size_t len));

/* ---- packets ---- */
struct bt_pkt_opts {
	bool vlan;
	int ip_opts;     /* IPv4 option bytes (multiple of 4, <= 40) */
	int ext6;        /* IPv6: number of destination-options headers before L4 */
	int frag;        /* 0 none, 1 first fragment, 2 later fragment */
	bool ext6_frag;  /* IPv6: the fragment header carries frag */
	uint16_t icmp_id;
	uint8_t tcp_flags; /* 0: SYN, a connection's first packet (BT_TCP_* otherwise) */
	uint16_t ip_id;    /* IPv4 identification / IPv6 fragment id; 0: 0x1234 */
	uint8_t hop_limit; /* IPv6; 0: 255 for neighbour discovery (ICMPv6 133-137), else 64 */
	uint32_t tcp_seq;  /* TCP: the sequence number (host order) */
	/* TCP: the acknowledgement number (host order); 0 on a SYN-ACK means 1, the answer to a
	 * SYN with the default sequence number 0 (a SYN-ACK must acknowledge its SYN) */
	uint32_t tcp_ack;
	uint8_t tcp_opts;  /* TCP: option bytes (No Operation), a multiple of 4, <= 40 */
	uint16_t tcp_data; /* TCP: bytes of data (zeros) after the header, e.g. a Fast Open SYN's */
};
#define BT_TCP_FIN 0x01
#define BT_TCP_SYN 0x02
#define BT_TCP_RST 0x04
#define BT_TCP_ACK 0x10
/* Options for a packet of an established TCP connection (ACK). */
extern const struct bt_pkt_opts bt_ack;
/* Builds an Ethernet frame for pkt (pal_packet of evaluator.h, dst/dport as given). Returns the
 * length. */
size_t bt_build(uint8_t *buf, size_t cap, const struct pal_packet *pkt, const struct bt_pkt_opts *o);

/* ---- single hooks (return the program's return value; -1 on a test-run error) ---- */
/* meta (may be NULL) receives the metadata XDP left, zeroed when it left none. */
int bt_run_xdp(struct bpft *t, int ifindex, const uint8_t *pkt, size_t len,
	       struct pal_xdp_meta *meta);
int bt_run_tc(struct bpft *t, enum pal_dp_prog prog, int ifindex, int ingress_ifindex,
	      uint32_t mark_in, const uint8_t *pkt, size_t len, uint32_t *mark_out);
int bt_run_sf(int prog_fd, int ingress_ifindex, uint32_t mark, const uint8_t *pkt, size_t len);

/* ---- the host's path through the hooks ---- */
struct bt_result {
	bool allow;
	bool untracked;
	int dropped_at; /* enum pal_hook that dropped, -1 when allowed */
	uint32_t mark;
};
/* dir as in evaluator.h; in/out are interface names; pkt may have has_dnat: hooks before
 * netfilter's DNAT see dst/dport, the later ones dnat_dst/dnat_dport. */
struct bt_result bt_path(struct bpft *t, enum pal_trace_dir dir, const char *in, const char *out,
			 const struct pal_packet *pkt, const struct bt_pkt_opts *o);
/* CLOCK_MONOTONIC in ns: bpf_ktime_get_ns()'s clock, for hand-made flow entries. */
uint64_t bt_now_ns(void);
/* Empties pal_flows4 and pal_flows (so every case is a new flow). */
void bt_flush_flows(struct bpft *t);
/* bt_path of pkt as a new flow: bt_flush_flows first. */
struct bt_result bt_path_new_flow(struct bpft *t, enum pal_trace_dir dir, const char *in,
				  const char *out, const struct pal_packet *pkt);
/* The entry under canonical key k, in pal_flows4 (IPv4) or pal_flows (IPv6); put asserts. */
bool bt_flow_get(struct bpft *t, const struct pal_flow_key *k, struct pal_flow *f);
void bt_flow_put(struct bpft *t, const struct pal_flow_key *k, const struct pal_flow *f);

/* A new flow of pkt (flows flushed first) through the programs and the evaluator of c: both must
 * say `allow` (criterion assertion naming the dropping hook and the evaluator's reason). */
struct ctest;
struct bt_result bt_expect_agree(struct bpft *t, struct ctest *c, enum pal_trace_dir dir,
				 const char *in, const char *out, const struct pal_packet *pkt,
				 bool allow);

/* List list_id's linear form (pal_small, the slot its id names) into *sl (may be NULL): whether
 * it has one. */
bool bt_linear_form(struct bpft *t, uint32_t list_id, struct pal_small_list *sl);
/* The ids of the programmed lists (pal_lists' keys) into ids[max]: how many there are (an
 * assertion fails when more than max). */
#define BT_MAX_LISTS 1024
size_t bt_list_ids(struct bpft *t, uint32_t *ids, size_t max);
/* How many programmed lists (pal_lists) have a linear form. */
size_t bt_linear_forms(struct bpft *t);
/* Empties the slot of every list's linear form: the classifier then takes the bitmap form. Returns
 * how many there were. */
int bt_linear_forms_drop(struct bpft *t);

/* The pal_scratch map of a program (found by its map ids), and the owner word (the first 8
 * bytes) of hook's slot set on every CPU: a slot some classification holds. */
int bt_scratch_fd(int prog_fd);
void bt_scratch_set_owner(int fd, uint32_t hook, uint64_t owner);
/* Every CPU's value of a per-CPU map's key (calloc'd, the caller frees), *stride bytes apart. */
uint8_t *bt_percpu_read(int fd, const void *key, int *ncpu, size_t *stride);

/* The host endpoint h0 (label role: h) of node1's eth0 with expectedIPs ips (YAML text of the
 * list's items), as the classifier tests' policies select it. */
#define BT_YAML_HEP_H0(ips)                                                                     \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                               \
	"metadata: {name: h0, labels: {role: h}}\n"                                             \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [" ips "]}\n"

/* yaml (freed) compiled into c, which must succeed, and applied as generation gen. */
void bt_compile_apply(struct bpft *t, struct ctest *c, char *yaml, uint32_t gen);

/* Counters summed over CPUs. */
struct pal_if_ctr bt_ifctr(struct bpft *t, int ifindex, enum pal_hook hook);
struct pal_rule_ctr bt_rulectr(struct bpft *t, uint32_t rule_id);
/* Arms the datapath's trace mode on every CPU with nonce (0: off): a test run carrying it in
 * pal_trace records instead of counting (bpf/trace.h). Returns the pal_trace map's fd. */
int bt_trace_arm(struct bpft *t, uint64_t nonce);

#endif
