/* Notifications of tc changes (the rtnetlink group RTNLGRP_TC): a qdisc or filter deleted on any
 * device. Another tool deleting a clsact qdisc or palisade's filters takes the programs off a
 * policed device while it lives; the agent checks its attachments at once on such an event
 * instead of waiting for its periodic check (agent.c). The events name no owner, so this only
 * says "look now". */
#ifndef PALD_TC_WATCH_H
#define PALD_TC_WATCH_H

#include <stdbool.h>

/* A non-blocking NETLINK_ROUTE socket joined to RTNLGRP_TC; the fd or -errno. */
int pald_tc_watch_open(void);
/* Reads every pending message; true when one deleted a qdisc or a filter, or messages were lost
 * (the socket buffer overran: anything may have happened). */
bool pald_tc_watch_read(int fd);

#endif
