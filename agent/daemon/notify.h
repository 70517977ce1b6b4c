/* systemd's notification protocol (sd_notify(3)), for a Type=notify unit.
 *
 * READY=1 goes out once, after the first policy this process applied is programmed and attached:
 * a unit ordered Before=network-pre.target then holds networking back until policy is in force.
 * STATUS= lines say what `systemctl status` should show (generation, interfaces, degraded), and
 * STOPPING=1 marks a clean stop. Nothing is sent unless NOTIFY_SOCKET is set, so outside systemd
 * (tests, containers, --once) this is a no-op.
 */
#ifndef PALD_NOTIFY_H
#define PALD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pald_notify {
	bool ready_sent;
};

/* A policy was applied: READY=1 the first time, and a STATUS= line every time. */
void pald_notify_applied(struct pald_notify *n, uint64_t generation, size_t attached,
			 size_t wanted);
/* A reload was rejected: STATUS= line with the error count and what stays in force. */
void pald_notify_degraded(struct pald_notify *n, size_t errors, uint64_t generation_in_force);
/* SIGTERM/SIGINT: STOPPING=1. */
void pald_notify_stopping(struct pald_notify *n);

#endif
