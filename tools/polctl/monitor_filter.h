/* polctl monitor's filters: which events (JSON objects from the agent's event socket) to show. */
#ifndef POLCTL_MONITOR_FILTER_H
#define POLCTL_MONITOR_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "net.h"

struct monitor_filter {
	const char *verdict; /* "deny" or "log" */
	const char *iface;
	const char *policy; /* NAME or NAMESPACE/NAME */
	bool has_src, has_dst;
	struct pal_cidr src, dst;
	int proto; /* -1 = any */
	int port;  /* -1 = any; matches either port */
};

/* Sets the filter named by a getopt long option's name from its value; 0, or -EINVAL with a
 * message in err. Returns 1 when `name` is not a filter option. */
int monitor_filter_set(struct monitor_filter *f, const char *name, const char *value, char *err,
		       size_t errlen);
bool monitor_filter_match(const struct monitor_filter *f, json_t *ev);

#endif
