/* polctl status: where the agent's policy comes from. With --datastore kubernetes the agent
 * publishes its datastore's state beside the pins (agent/daemon/agent_k8s.c, one JSON document in
 * the pinned map pal_datastore, rewritten every second); with policy files there is none. */
#ifndef POLCTL_STATUS_DATASTORE_H
#define POLCTL_STATUS_DATASTORE_H

#include <jansson.h>

/* {"datastore": "files"} or the published document, with "age_seconds" (since it was written). */
json_t *polctl_datastore_json(const char *dir);
void polctl_datastore_print(const json_t *ds);

#endif
