/* The linear form of a short rule list (abi.h struct pal_small_list).
 *
 * For a list of at most PAL_SMALL_ENTRIES entries the per-packet work of the bitmap form (six
 * LPM lookups, the summary words, a bpf_loop walk through a scratch slot) costs several times a
 * plain scan of the rules. The linear form keeps the same meaning by construction: it is the
 * flattener's own tables, laid out for a scan. Each key range and address prefix of a field
 * carries word 0 of its class (flatten.h BITMAPS: the entries every key of the class satisfies),
 * so scanning for the packet's range or longest prefix gives exactly the bits the LPM lookup's
 * class would. The address prefixes are nested or disjoint (flatten.h FIELDS), so the first one
 * of the packet's family that contains the address, longest first, is its longest match. A list
 * whose tables do not fit keeps only its bitmap form. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "datapath_internal.h"
#include "small_list.h"

/* Word 0 of class cls of field f: the entries (all in word 0) its keys satisfy. */
static uint32_t class_bits(const struct pal_cls_tables *t, enum pal_cls_field f, uint32_t cls)
{
	if (!t->n_entries || cls >= t->bm[f].n_classes)
		return 0;
	return (uint32_t)pal_cls_word(t, f, cls, 0);
}

/* Appends keys [first, last] of class cls, merging with the previous range of the same bits. */
static int add_range(struct pal_small_keys *k, uint32_t first, uint32_t last, uint32_t bits)
{
	if (k->n && k->r[k->n - 1].bits == bits && k->r[k->n - 1].last + 1u == first) {
		k->r[k->n - 1].last = (uint16_t)last;
		return 0;
	}
	if (k->n == PAL_SMALL_RANGES)
		return -E2BIG;
	k->r[k->n++] = (struct pal_small_range){ .first = (uint16_t)first, .last = (uint16_t)last,
						  .bits = bits };
	return 0;
}

/* The entries every key of table k satisfies: the AND of its ranges' bits and of from (the
 * no-key bits where a packet can lack the key, else all ones). A table without ranges answers
 * no key at all (the datapath treats it as broken), so it satisfies nothing and is never
 * skipped. */
static uint32_t keys_any_bits(const struct pal_small_keys *k, uint32_t from)
{
	uint32_t any = from;

	if (!k->n)
		return 0;
	for (uint32_t i = 0; i < k->n; i++)
		any &= k->r[i].bits;
	return any;
}

/* A 16-bit field (ports, ICMP): its ranges cover 0..65535 in order (flatten.h). */
static int build_keytable(const struct pal_cls_tables *t, enum pal_cls_field f,
			  const struct pal_cls_keytable *kt, struct pal_small_keys *k)
{
	uint32_t next = 0;

	k->none_bits = class_bits(t, f, kt->none_class);
	for (size_t i = 0; i < kt->n_ranges; i++) {
		const struct pal_cls_range *r = &kt->ranges[i];
		int err;

		if (r->first != next || r->last < r->first)
			return -EINVAL; /* not the covering, ordered table flatten.h promises */
		err = add_range(k, r->first, r->last, class_bits(t, f, r->cls));
		if (err)
			return err;
		next = (uint32_t)r->last + 1;
	}
	if (next != 0x10000)
		return -EINVAL;
	k->any_bits = keys_any_bits(k, k->none_bits);
	return 0;
}

/* PROTO: key = protocol (+ PAL_SMALL_PROTO_V6 for IPv6), from proto_class[family][protocol]. */
static int build_proto(const struct pal_cls_tables *t, struct pal_small_keys *k)
{
	for (uint32_t fam = 0; fam < 2; fam++)
		for (uint32_t p = 0; p < 256; p++) {
			uint32_t key = fam * PAL_SMALL_PROTO_V6 + p;
			int err = add_range(k, key, key,
					    class_bits(t, PAL_CLS_F_PROTO, t->proto_class[fam][p]));

			if (err)
				return err;
		}
	k->any_bits = keys_any_bits(k, ~0u); /* every packet has a protocol */
	return 0;
}

static void prefix_mask(uint8_t len, uint32_t mask[4])
{
	for (int i = 0; i < 4; i++) {
		int bits = len > i * 32 ? len - i * 32 : 0;

		mask[i] = bits >= 32 ? 0xffffffffu : bits ? htonl(~0u << (32 - bits)) : 0;
	}
}

/* A prefix of the flattener's table by its length, for sorting. */
struct prefix_ref {
	uint8_t len;
	uint32_t idx;
};

/* Longest prefix first: the datapath takes the first prefix that contains the address. */
static int longest_first(const void *a, const void *b)
{
	const struct prefix_ref *x = a, *y = b;

	return (int)y->len - (int)x->len;
}

/* Appends prefix c (of class bits) to its family's table. */
static int add_prefix(struct pal_small_addrs *a, const struct pal_cls_prefix *c, uint32_t bits)
{
	uint32_t mask[4], bytes[4];
	uint8_t len = c->cidr.prefix_len;
	struct pal_small_prefix6 *p;

	if (len > (c->cidr.addr.family == PAL_AF_INET4 ? 32 : 128))
		return -EINVAL;
	prefix_mask(len, mask);
	memcpy(bytes, c->cidr.addr.bytes, 16);
	if (c->cidr.addr.family == PAL_AF_INET4) {
		if (a->n4 == PAL_SMALL_PREFIXES)
			return -E2BIG;
		a->p4[a->n4++] = (struct pal_small_prefix4){ .net = bytes[0] & mask[0],
							     .mask = mask[0], .bits = bits };
		return 0;
	}
	if (a->n6 == PAL_SMALL_PREFIXES)
		return -E2BIG;
	p = &a->p6[a->n6++];
	for (int w = 0; w < 4; w++) {
		p->net[w] = bytes[w] & mask[w];
		p->mask[w] = mask[w];
	}
	p->bits = bits;
	return 0;
}

/* Per family, the entries every address satisfies: the AND of the family's prefixes' bits (every
 * address has a longest prefix among them, whose bits are its class's; a prefix no address has
 * as its longest only makes the AND smaller). That needs the family's /0, the last prefix
 * (longest first): without it an address outside every prefix has no answer, which the scan
 * fails closed on, so the family is never skipped (none), as keys_any_bits without ranges. */
static void addrs_any_bits(struct pal_small_addrs *a)
{
	const struct pal_small_prefix6 *last6 = a->n6 ? &a->p6[a->n6 - 1] : NULL;

	a->any4 = a->n4 && !a->p4[a->n4 - 1].mask ? ~0u : 0;
	for (uint32_t i = 0; i < a->n4; i++)
		a->any4 &= a->p4[i].bits;
	a->any6 = last6 && !(last6->mask[0] | last6->mask[1] | last6->mask[2] | last6->mask[3]) ?
			  ~0u : 0;
	for (uint32_t i = 0; i < a->n6; i++)
		a->any6 &= a->p6[i].bits;
}

static int build_addrs(const struct pal_cls_tables *t, int side, struct pal_small_addrs *a)
{
	enum pal_cls_field f = side ? PAL_CLS_F_DST : PAL_CLS_F_SRC;
	struct prefix_ref order[2 * PAL_SMALL_PREFIXES];
	size_t n = t->n_addr[side];

	if (n > 2 * PAL_SMALL_PREFIXES)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		order[i] = (struct prefix_ref){ .len = t->addr[side][i].cidr.prefix_len,
						.idx = (uint32_t)i };
	qsort(order, n, sizeof(order[0]), longest_first);
	for (size_t i = 0; i < n; i++) {
		const struct pal_cls_prefix *c = &t->addr[side][order[i].idx];
		int err = add_prefix(a, c, class_bits(t, f, c->cls));

		if (err)
			return err;
	}
	addrs_any_bits(a);
	return 0;
}

int pal_small_list_build(const struct pal_cls_tables *t, struct pal_small_list *sl)
{
	static const enum pal_cls_field key_field[PAL_SMALL_K_COUNT] = {
		[PAL_SMALL_K_SPORT] = PAL_CLS_F_SPORT,
		[PAL_SMALL_K_DPORT] = PAL_CLS_F_DPORT,
		[PAL_SMALL_K_ICMP] = PAL_CLS_F_ICMP,
	};
	const struct pal_cls_keytable *kt[PAL_SMALL_K_COUNT] = {
		[PAL_SMALL_K_SPORT] = &t->sport,
		[PAL_SMALL_K_DPORT] = &t->dport,
		[PAL_SMALL_K_ICMP] = &t->icmp,
	};
	int err = 0;

	memset(sl, 0, sizeof(*sl));
	if (t->n_entries > PAL_SMALL_ENTRIES)
		return -E2BIG;
	sl->n_entries = t->n_entries;
	for (uint32_t i = 0; i < t->n_entries; i++) {
		const struct pal_cls_entry *e = &t->entries[i];

		bool decides = e->action == PAL_CLS_ALLOW || e->action == PAL_CLS_DENY;

		if (!decides && (e->next <= i || e->next > t->n_entries))
			return -EINVAL; /* flatten.h promises i < next <= n_entries */
		sl->e[i] = (struct pal_small_entry){ .action = e->action, .kind = e->kind,
						      .next = (uint8_t)(decides ? i + 1 : e->next),
						      .rule_id = e->rule_id };
	}
	for (int side = 0; side < 2 && !err; side++)
		err = build_addrs(t, side, &sl->addr[side]);
	if (!err)
		err = build_proto(t, &sl->keys[PAL_SMALL_K_PROTO]);
	for (int k = PAL_SMALL_K_SPORT; k < PAL_SMALL_K_COUNT && !err; k++)
		err = build_keytable(t, key_field[k], kt[k], &sl->keys[k]);
	return err;
}

uint32_t pal_small_list_slot(uint32_t id)
{
	return id & ~PAL_LIST_ID_SMALL;
}

int pal_small_list_new(const struct pal_cls_tables *t, struct pal_small_list **out)
{
	struct pal_small_list *sl;
	int err;

	*out = NULL;
	if (t->n_entries > PAL_SMALL_ENTRIES)
		return 0;
	if (!(sl = calloc(1, sizeof(*sl))))
		return -ENOMEM;
	err = pal_small_list_build(t, sl);
	if (err) {
		free(sl);
		return err == -E2BIG ? 0 : err; /* not fitting leaves the list its bitmap form */
	}
	*out = sl;
	return 0;
}

/* Writes sl as slot's content (a whole value: the slot is not read while it is written, abi.h
 * PAL_LIST_ID_SMALL). */
static int slot_write(struct pal_datapath *dp, uint32_t slot, const struct pal_small_list *sl)
{
	if (bpf_map_update_elem(MFD(dp, pal_small), &slot, sl, BPF_ANY))
		return -errno;
	return 0;
}

int pal_small_list_write(struct pal_datapath *dp, uint32_t id, struct pal_small_list *sl)
{
	if (!(id & PAL_LIST_ID_SMALL))
		return -EINVAL;
	sl->list_id = id;
	return slot_write(dp, pal_small_list_slot(id), sl);
}

int pal_small_list_delete(struct pal_datapath *dp, uint32_t id)
{
	static const struct pal_small_list empty;

	if (!(id & PAL_LIST_ID_SMALL))
		return 0;
	return slot_write(dp, pal_small_list_slot(id), &empty);
}

int pal_small_list_read(int fd, uint32_t id, struct pal_small_list *sl)
{
	uint32_t slot = pal_small_list_slot(id);

	if (!(id & PAL_LIST_ID_SMALL))
		return -ENOENT;
	if (bpf_map_lookup_elem(fd, &slot, sl))
		return -errno;
	return sl->list_id == id ? 0 : -ENOENT;
}
