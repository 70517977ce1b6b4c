/* The compiler: model + node name + options -> IR (ir.h). */
#ifndef PALISADE_COMPILER_H
#define PALISADE_COMPILER_H

#include "diag.h"
#include "ir.h"
#include "match_cache.h"
#include "model.h"
#include "rule_ids.h"

/* Calico's defaults (FailsafeInboundHostPorts / FailsafeOutboundHostPorts). */
#define PAL_FAILSAFE_IN_DEFAULT "tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667"
#define PAL_FAILSAFE_OUT_DEFAULT "udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667"

struct pal_compile_opts {
	const char *node; /* endpoints of other nodes only feed selector address resolution */
	const struct pal_failsafe *failsafe_in, *failsafe_out;
	size_t n_failsafe_in, n_failsafe_out;
	enum pal_endpoint_to_host_action endpoint_to_host;
	/* Stable rule ids across compiles (rule_ids.h), or NULL: ids 0..n-1 in endpoint order. */
	struct pal_rule_ids *rule_ids;
	/* Selector results across compiles (match_cache.h), or NULL; match_key identifies the
	 * candidate inputs (NULL: unknown, the cache is emptied and not used). */
	struct pal_match_cache *match_cache;
	const uint8_t *match_key;
};

/* Parses a failsafe list: comma-separated items "proto:port" or "proto:CIDR:port" (IPv6 CIDR in
 * brackets: "tcp:[2001:db8::/32]:22"); "none" or "" = empty. Returns 0 or -EINVAL with a message in
 * err (errlen bytes). *out is malloc'd. */
int pal_failsafe_parse(const char *text, struct pal_failsafe **out, size_t *n, char *err, size_t errlen);

/* Compiles the model for opts->node. Problems that make the input unusable (a rule the datapath
 * cannot enforce, such as an HTTP match) are errors in diags; things Calico
 * warns about and ignores (untracked policy on a `*` host endpoint) are warnings. Returns 0 when
 * there were no errors; on errors *ir is left empty. */
int pal_compile(const struct pal_model *m, const struct pal_compile_opts *opts, struct pal_ir *ir,
		struct pal_diags *diags);

#endif
