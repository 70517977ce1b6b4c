/* Shared helpers for the compiler and evaluator tests: YAML -> model -> IR, packets, traces. */
#ifndef PALISADE_TEST_COMPILER_UTIL_H
#define PALISADE_TEST_COMPILER_UTIL_H

#include "compiler.h"
#include "evaluator.h"
#include "model.h"

#define CT_NODE "node1"

/* YAML pieces several tests share: the host endpoint h on eth0 (198.18.0.1), and the head of the
 * policy "notrack" on it (order 1, doNotTrack, applyOnForward) that a types: line and rules end. */
#define CT_YAML_HEP_H                                                                          \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"                                \
	"metadata: {name: h, labels: {role: h}}\n"                                              \
	"spec: {node: node1, interfaceName: eth0, expectedIPs: [198.18.0.1]}\n"
#define CT_YAML_NOTRACK_HEAD                                                                   \
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"                     \
	"metadata: {name: notrack}\n"                                                            \
	"spec:\n  order: 1\n  selector: role == 'h'\n  doNotTrack: true\n  applyOnForward: true\n"

struct ctest {
	struct pal_model m;
	struct pal_diags d;
	struct pal_ir ir;
	int rc; /* pal_compile's return */
	struct pal_failsafe *fs_in, *fs_out;
	size_t n_fs_in, n_fs_out;
};

/* Loads yaml (must load and validate without errors), compiles for CT_NODE with no failsafe ports
 * and endpoint-to-host drop. ct_compile_ex lets a test pick failsafe lists (NULL = none) and the
 * endpoint-to-host action. */
void ct_compile(struct ctest *t, const char *yaml);
/* ct_compile that must also compile (diagnostics printed when it does not). */
void ct_compile_ok(struct ctest *t, const char *yaml);
void ct_compile_ex(struct ctest *t, const char *yaml, const char *fs_in, const char *fs_out,
		   enum pal_endpoint_to_host_action eth);
/* Same from a fixture directory (fixtures/compiler/<dir>). */
void ct_compile_dir(struct ctest *t, const char *dir, const char *fs_in, const char *fs_out,
		    enum pal_endpoint_to_host_action eth);
/* The fixture directory plus the policies in yaml. */
void ct_compile_dir_yaml(struct ctest *t, const char *dir, const char *yaml);
/* Only loads yaml as file into t (must load without errors; not validated), for tests that change
 * the model or check the compiler's own errors; then ct_compile_loaded compiles it for CT_NODE
 * with default options (t->rc, also returned). */
void ct_load(struct ctest *t, const char *file, const char *yaml);
int ct_compile_loaded(struct ctest *t);
void ct_free(struct ctest *t);

/* True when diags hold a diagnostic of that severity whose message contains every needle. */
bool ct_has_diag(const struct pal_diags *d, enum pal_severity sev, const char *needle1,
		 const char *needle2);

struct pal_packet ct_pkt(uint8_t proto, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport);
struct pal_packet ct_icmp(const char *src, const char *dst, uint8_t type, uint8_t code);
void ct_dnat(struct pal_packet *p, const char *dst, uint16_t dport);

/* pal_evaluate, asserting it returns 0. */
struct pal_verdict ct_eval(const struct ctest *t, enum pal_trace_dir dir, const char *in,
			   const char *out, const struct pal_packet *p);
/* Asserts allow/deny, stage and (when not NULL) policy; rule -2 = don't check. */
void ct_expect(const struct pal_verdict *v, bool allow, enum pal_stage stage, const char *policy,
	       int rule);
/* ct_eval, then ct_expect of its verdict (returned). */
struct pal_verdict ct_eval_expect(const struct ctest *t, enum pal_trace_dir dir, const char *in,
				  const char *out, const struct pal_packet *p, bool allow,
				  enum pal_stage stage, const char *policy, int rule);

const struct pal_ir_endpoint *ct_ep(const struct pal_ir *ir, const char *name);
/* "tier/policy tier/policy ..." of one tier list, for ordering assertions. */
void ct_tierlist_str(const struct pal_ir_tierlist *tl, char *buf, size_t len);
/* Asserts ct_tierlist_str of tl is want. */
void ct_expect_tierlist(const struct pal_ir_tierlist *tl, const char *want);

#endif
