/* polctl trace's helpers beyond the packet itself: --from-pod/--to-pod (a WorkloadEndpoint of the
 * model by its pod's NAMESPACE/NAME) and the warnings for a trace that would otherwise read as a
 * silent "allow, not policed" (an interface that is no endpoint, a --node nothing runs on). */
#ifndef POLCTL_TRACE_PODS_H
#define POLCTL_TRACE_PODS_H

#include <jansson.h>

#include "evaluator.h"
#include "model.h"
#include "net.h"
#include "polctl.h"

/* The WorkloadEndpoint of pod NAMESPACE/NAME (spec): spec.pod, or the endpoint's own name when it
 * has no pod, in that namespace. Its address of `family` (0: the first) goes to *addr. NULL with
 * a message in err when there is none, or it has no interface or no such address. */
const struct pal_workload_endpoint *trace_pod_find(const struct pal_model *m, const char *spec,
						   int family, struct pal_addr *addr, char *err,
						   size_t errlen);

/* Warnings for this trace, as strings in a new array: interfaces the verdict found no endpoint
 * on (from the verdict's steps), and, with a model, a --node that no endpoint names. */
json_t *trace_warnings(const struct polctl_globals *g, const struct pal_model *m,
		       const struct pal_verdict *v, const char *iface, const char *out_iface);
/* Each warning on stderr as "polctl: warning: ...". */
void trace_warnings_print(json_t *warnings);

#endif
