/* sd_notify for palisaded (see notify.h). */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

static void notify_send(const char *state)
{
	int rc;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	/* unset_environment 0: NOTIFY_SOCKET must stay set for every later STATUS= line. */
	rc = sd_notify(0, state);
	if (rc < 0)
		pald_log(PALD_LOG_WARN, "sd_notify failed", PALD_S("error", strerror(-rc)));
}

void pald_notify_applied(struct pald_notify *n, uint64_t generation, size_t attached,
			 size_t wanted)
{
	char msg[192];

	snprintf(msg, sizeof(msg), "%sSTATUS=enforcing generation %llu on %zu of %zu interfaces",
		 n->ready_sent ? "" : "READY=1\n", (unsigned long long)generation, attached, wanted);
	notify_send(msg);
	n->ready_sent = true;
}

void pald_notify_degraded(struct pald_notify *n, size_t errors, uint64_t generation_in_force)
{
	char msg[192];

	(void)n;
	if (generation_in_force)
		snprintf(msg, sizeof(msg), "STATUS=degraded: %zu errors, generation %llu "
					   "still enforced",
			 errors, (unsigned long long)generation_in_force);
	else
		snprintf(msg, sizeof(msg), "STATUS=degraded: %zu errors, no policy applied "
					   "yet",
			 errors);
	notify_send(msg);
}

void pald_notify_stopping(struct pald_notify *n)
{
	(void)n;
	notify_send("STOPPING=1\nSTATUS=stopped; the datapath keeps enforcing");
}
