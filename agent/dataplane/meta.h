/* Reporting metadata of the programmed datapath: the names behind the numbers in the maps.
 *
 * The maps hold what packets need (list ids, entries with IR rule ids, tier indexes, endpoint ids)
 * but not what a person reads: tier, policy and profile names of a rule id, endpoint names,
 * labels and policies per stage, where an address set came from. `polctl` (status, endpoints,
 * rules, sets, trace, monitor) needs those for the generation that is live, so the agent writes
 * them next to the maps at every apply, and they live and die with the pins.
 *
 * STORAGE. bpffs holds no regular files, so the document is a JSON text in a pinned BPF ARRAY map,
 * DIR/maps/pal_meta (value size PAL_META_CHUNK, as many elements as the text needs; element 0
 * starts with struct pal_meta_hdr). A write builds a new map, pins it as DIR/maps/pal_meta_new (bpffs refuses dots in names)
 * and renames that over DIR/maps/pal_meta (bpffs rename is atomic): a reader sees the old
 * document or the new one, never a mix. pal_dp_unpin_all (--uninstall) removes it with the maps.
 * No BPF program uses it.
 *
 * THE CALL (agent/daemon/backend_bpf.c): after every successful pal_dp_apply of `ir` as
 * `generation`, before reporting success:
 *
 *     err = pal_meta_write(pin_dir, ir, generation);
 *
 * Endpoint labels come from the IR (pal_ir_endpoint.labels: what selectors saw). A failure leaves the previous document (polctl then shows the older
 * generation's names; the maps are already programmed, so log it, do not fail the apply).
 * Without any document polctl's live commands still show raw ids.
 *
 * THE DOCUMENT (version 1), keys in this order:
 *   version            1
 *   generation         the generation it describes (compare with pal_config.generation)
 *   written_at         Unix seconds
 *   endpoint_to_host   "drop" | "accept"
 *   failsafe_in, failsafe_out   ["tcp:22", "udp:68 from 10.0.0.0/8", ...]
 *   profiles           [name, ...] indexed by IR profile index
 *   endpoints          [ {name, kind "host"|"workload", namespace, interface, addrs [..],
 *                        labels {..}, profiles [names],
 *                        stages {STAGE: {DIR: [ {tier, end_action, policies [names]} ]}} } ]
 *                      indexed by IR endpoint index (= pal_iface.endpoint_id); STAGE is
 *                      untracked, prednat, forward, normal for host endpoints and workload for
 *                      workloads (their normal tier lists); DIR is ingress, egress; a tier index
 *                      of a pal_entry indexes the list of the slot's (stage, dir)
 *   rules              [ {id, kind "policy"|"profile", tier (null for profiles), policy,
 *                        namespace, dir, index, action} | null ] indexed by IR rule id
 *   sets               [ {id, origin, cidrs [..]} ]
 *   named_port_sets    [ {id, origin, members ["10.0.0.1 tcp/80", ..]} ]
 */
#ifndef PALISADE_META_H
#define PALISADE_META_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ir.h"
#include "model.h"

#define PAL_META_MAP_NAME "pal_meta"
#define PAL_META_CHUNK 4096u
#define PAL_META_MAGIC 0x4d4c4150u /* "PALM" */
#define PAL_META_VERSION 1u
#define PAL_META_MAX_BYTES (64u << 20) /* refuse absurd sizes on read */

struct pal_meta_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t len; /* bytes of JSON text after the header (no NUL) */
	uint32_t pad;
};

/* The document for ir (see above). NULL on out-of-memory. */
json_t *pal_meta_build(const struct pal_ir *ir, uint64_t generation);

/* Builds the document and stores it under pin_dir (NULL = PAL_PIN_DIR_DEFAULT). 0 or -errno. */
int pal_meta_write(const char *pin_dir, const struct pal_ir *ir, uint64_t generation);
/* Stores an already serialised text (used by pal_meta_write; tests). 0 or -errno. */
int pal_meta_store(const char *pin_dir, const char *text, size_t len);

/* Reads the document under pin_dir: 0 and *out (caller json_decref), -ENOENT when none is
 * pinned, -EBADMSG when it is not a version 1 document, other -errno. */
int pal_meta_read(const char *pin_dir, json_t **out);

/* The same storage for another JSON document under its own map name: the Kubernetes datastore's
 * status (agent/daemon/agent_k8s.c), which polctl status shows. */
#define PAL_DATASTORE_MAP_NAME "pal_datastore"
int pal_meta_store_named(const char *pin_dir, const char *name, const char *text, size_t len);
int pal_meta_read_named(const char *pin_dir, const char *name, json_t **out);

#endif
