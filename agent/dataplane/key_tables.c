/* Direct key tables (key_tables.h): built from the flattener's tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "key_tables.h"

#define KEYS 0x10000u
#define BLOCKS (KEYS / PAL_KEYTAB_BLOCK_IDS)

static void put_id(uint64_t *words, uint32_t i, uint32_t id)
{
	words[i / 4] |= (uint64_t)(id & 0xffff) << (16 * (i % 4));
}

/* Class id width: 15 bits (the top level's PAL_KEYTAB_LEAF bit is the 16th). */
static bool ids_fit(uint32_t n_classes)
{
	return n_classes > 1 && n_classes <= PAL_KEYTAB_LEAF;
}

static int alloc_image(struct pal_key_table *k, uint32_t n_classes, uint32_t table_words)
{
	k->n_classes = n_classes;
	k->n_words = n_classes * PAL_CLASS_WORDS + table_words;
	k->words = calloc(k->n_words, sizeof(*k->words));
	return k->words ? 0 : -ENOMEM;
}

static int build_proto(const struct pal_cls_tables *t, struct pal_key_table *k)
{
	uint32_t n = t->bm[PAL_CLS_F_PROTO].n_classes;
	uint64_t *tab;

	if (!ids_fit(n))
		return 0;
	if (alloc_image(k, n, PAL_KEYTAB_PROTO_IDS / 4))
		return -ENOMEM;
	tab = k->words + n * PAL_CLASS_WORDS;
	for (uint32_t fam = 0; fam < 2; fam++)
		for (uint32_t p = 0; p < 256; p++)
			put_id(tab, fam * 256 + p, t->proto_class[fam][p]);
	return 0;
}

/* The class of every key of a 16-bit table (its ranges cover 0..65535, flatten.h). */
static int expand_ranges(const struct pal_cls_keytable *kt, uint32_t n_classes, uint16_t *cls)
{
	uint32_t next = 0;

	for (size_t i = 0; i < kt->n_ranges; i++) {
		const struct pal_cls_range *r = &kt->ranges[i];

		if (r->first != next || r->last < r->first || r->cls >= n_classes)
			return -EINVAL;
		for (uint32_t key = r->first; key <= r->last; key++)
			cls[key] = (uint16_t)r->cls;
		next = (uint32_t)r->last + 1;
	}
	return next == KEYS && kt->none_class < n_classes ? 0 : -EINVAL;
}

static bool block_uniform(const uint16_t *cls, uint32_t b)
{
	for (uint32_t i = 1; i < PAL_KEYTAB_BLOCK_IDS; i++)
		if (cls[b * PAL_KEYTAB_BLOCK_IDS + i] != cls[b * PAL_KEYTAB_BLOCK_IDS])
			return false;
	return true;
}

/* A 16-bit field's table: the top level, then one block per non-uniform 256 keys. A table that
 * does not cover the key space, or needs too many blocks, is not built (the LPM trie stays). */
static int build_keys(const struct pal_cls_keytable *kt, uint32_t n, struct pal_key_table *k)
{
	uint16_t *cls;
	uint32_t n_blocks = 0, b, off;
	uint64_t *tab;
	int err = 0;

	if (!ids_fit(n))
		return 0;
	if (!(cls = malloc(KEYS * sizeof(*cls))))
		return -ENOMEM;
	if (expand_ranges(kt, n, cls))
		goto out; /* not what flatten.h promises: leave the field to the trie */
	for (b = 0; b < BLOCKS; b++)
		n_blocks += !block_uniform(cls, b);
	if (n_blocks > PAL_KEYTAB_MAX_BLOCKS)
		goto out;
	if ((err = alloc_image(k, n, (PAL_KEYTAB_TOP_IDS + n_blocks * PAL_KEYTAB_BLOCK_IDS) / 4)))
		goto out;
	tab = k->words + n * PAL_CLASS_WORDS;
	put_id(tab, PAL_KEYTAB_NONE, kt->none_class);
	off = PAL_KEYTAB_TOP_IDS / 4;
	for (b = 0; b < BLOCKS; b++) {
		const uint16_t *blk = &cls[b * PAL_KEYTAB_BLOCK_IDS];

		if (block_uniform(cls, b)) {
			put_id(tab, b, PAL_KEYTAB_LEAF | blk[0]);
			continue;
		}
		put_id(tab, b, off);
		for (uint32_t i = 0; i < PAL_KEYTAB_BLOCK_IDS; i++)
			put_id(&tab[off], i, blk[i]);
		off += PAL_KEYTAB_BLOCK_IDS / 4;
	}
out:
	free(cls);
	return err;
}

/* log2 of the bits of a host filter for n addresses (abi.h PAL_HOST_FILTER_ID): at least
 * PAL_HOST_FILTER_BITS_PER_HOST per address (a clear bit for ~94% of the other addresses). */
static uint32_t host_filter_log(size_t n)
{
	uint32_t log = PAL_HOST_FILTER_LOG_MIN;

	while (log < PAL_HOST_FILTER_LOG_MAX && (1ull << log) < n * PAL_HOST_FILTER_BITS_PER_HOST)
		log++;
	return log;
}

/* Sets host a's bit in the filter of 2^log bits at filter. */
static void host_filter_set(uint64_t *filter, const struct pal_addr *a, uint32_t log)
{
	uint32_t w[4] = { 0 }, bit;

	memcpy(w, a->bytes, a->family == PAL_AF_INET6 ? 16 : 4);
	bit = pal_host_filter_bit(w[0] ^ w[1] * PAL_HOST_FOLD1 ^ w[2] * PAL_HOST_FOLD2 ^
					  w[3] * PAL_HOST_FOLD3,
				  log);
	filter[bit / 64] |= 1ull << (bit % 64);
}

/* log2 of the IPv4 slots' buckets for n4 IPv4 hosts (abi.h PAL_HOST_SLOTS_ID): at least two
 * buckets (four words) per host, so that few buckets get a third host (~1.4% at half a host per
 * bucket), up to PAL_HOST_SLOTS_LOG_MAX; 0 (no slots) without IPv4 hosts. */
static uint32_t host_slots_log(size_t n4)
{
	uint32_t log = PAL_HOST_SLOTS_LOG_MIN;

	if (!n4)
		return 0;
	while (log < PAL_HOST_SLOTS_LOG_MAX && (1ull << log) < n4 * 2)
		log++;
	return log;
}

/* Puts IPv4 host a of class id cls in the slots of 2^log buckets at slots. */
static void host_slot_set(uint64_t *slots, const struct pal_addr *a, uint32_t cls, uint32_t log)
{
	uint32_t w0, b;
	uint64_t *bk;

	memcpy(&w0, a->bytes, 4);
	b = pal_host_filter_bit(w0, log);
	bk = &slots[2 * (size_t)b];
	if (!(uint32_t)bk[0])
		bk[0] = (uint64_t)w0 << 32 | (cls + 1);
	else if (!(uint32_t)bk[1])
		bk[1] = (uint64_t)w0 << 32 | (cls + 1);
	else
		bk[1] = PAL_HOST_SLOT_MORE; /* this host and the second: pal_hosts only */
}

/* An address field's host table (abi.h "Host tables"): when every prefix of the field is a host
 * address or a family's /0, the /0s' class ids in one word; the hosts go to pal_hosts
 * (pal_key_hosts_write). */
static int build_hosts(const struct pal_cls_tables *t, int side, struct pal_key_table *k)
{
	uint32_t n = t->bm[side == 0 ? PAL_CLS_F_SRC : PAL_CLS_F_DST].n_classes;
	uint32_t def[2] = { UINT32_MAX, UINT32_MAX }, log, slog, filter_words;
	size_t n4 = 0;
	uint64_t *tab;

	if (n <= 1 || n > PAL_HOST_CLASSES_MAX) /* the hosts' ids are 32-bit in pal_hosts */
		return 0;
	for (size_t i = 0; i < t->n_addr[side]; i++) {
		const struct pal_cls_prefix *p = &t->addr[side][i];
		int v6 = p->cidr.addr.family == PAL_AF_INET6;

		if (p->cls >= n)
			return 0;
		if (p->cidr.prefix_len == 0)
			def[v6] = p->cls;
		else if (p->cidr.prefix_len != (v6 ? 128 : 32))
			return 0; /* a network: the LPM lookup */
	}
	if (def[0] == UINT32_MAX || def[1] == UINT32_MAX)
		return 0; /* not the covering table flatten.h promises */
	if (def[0] >= PAL_KEYTAB_LEAF || def[1] >= PAL_KEYTAB_LEAF)
		return 0; /* the /0s' ids are 16-bit in the table word */
	for (size_t i = 0; i < t->n_addr[side]; i++)
		n4 += t->addr[side][i].cidr.prefix_len == 32 &&
		      t->addr[side][i].cidr.addr.family != PAL_AF_INET6;
	log = host_filter_log(t->n_addr[side]);
	slog = host_slots_log(n4);
	filter_words = 1u << (log - PAL_HOST_FILTER_LOG_MIN);
	if (alloc_image(k, n, 1 + filter_words + (slog ? 2u << slog : 0)))
		return -ENOMEM;
	tab = k->words + n * PAL_CLASS_WORDS;
	put_id(tab, 0, def[0]);
	put_id(tab, 1, def[1]);
	put_id(tab, PAL_HOST_FILTER_ID, log);
	put_id(tab, PAL_HOST_SLOTS_ID, slog);
	for (size_t i = 0; i < t->n_addr[side]; i++) {
		const struct pal_cls_prefix *p = &t->addr[side][i];

		if (!p->cidr.prefix_len)
			continue;
		host_filter_set(tab + 1, &p->cidr.addr, log);
		if (p->cidr.addr.family != PAL_AF_INET6)
			host_slot_set(tab + 1 + filter_words, &p->cidr.addr, p->cls, slog);
	}
	return 0;
}

int pal_key_tables_build(const struct pal_cls_tables *t, struct pal_key_tables *kt)
{
	int err;

	memset(kt, 0, sizeof(*kt));
	if (t->n_entries <= PAL_SMALL_ENTRIES)
		return 0;
	if ((err = build_hosts(t, 0, &kt->f[PAL_FIELD_SRC_ADDR])) ||
	    (err = build_hosts(t, 1, &kt->f[PAL_FIELD_DST_ADDR])) ||
	    (err = build_proto(t, &kt->f[PAL_FIELD_PROTO])) ||
	    (err = build_keys(&t->sport, t->bm[PAL_CLS_F_SPORT].n_classes, &kt->f[PAL_FIELD_SPORT])) ||
	    (err = build_keys(&t->dport, t->bm[PAL_CLS_F_DPORT].n_classes, &kt->f[PAL_FIELD_DPORT])) ||
	    (err = build_keys(&t->icmp, t->bm[PAL_CLS_F_ICMP].n_classes, &kt->f[PAL_FIELD_ICMP])))
		pal_key_tables_free(kt);
	return err;
}

void pal_key_tables_free(struct pal_key_tables *kt)
{
	for (int f = 0; f < PAL_FIELD_COUNT; f++)
		free(kt->f[f].words);
	memset(kt, 0, sizeof(*kt));
}

void pal_key_table_put_classes(struct pal_key_table *k, const struct pal_class *cv)
{
	for (uint32_t c = 0; c < k->n_classes; c++) {
		uint64_t *w = &k->words[c * PAL_CLASS_WORDS];

		w[0] = cv[c].summary | (uint64_t)cv[c].ovr_mask << 32;
		w[1] = cv[c].ovr_base | (uint64_t)cv[c].base << 32;
		w[2] = cv[c].anchor | (uint64_t)cv[c].ovr_rank << 32;
		w[3] = cv[c].top;
	}
}

static void host_key(struct pal_host_key *k, uint32_t list_id, int f, const struct pal_addr *a)
{
	memset(k, 0, sizeof(*k));
	k->list_id = list_id;
	k->field = (uint8_t)f;
	k->family = a->family;
	memcpy(k->addr, a->bytes, a->family == PAL_AF_INET6 ? 16 : 4);
}

/* Deletes the pal_hosts entries of field f of list id (those of t's hosts). */
static void delete_hosts(int fd, const struct pal_cls_tables *t, int f, uint32_t id)
{
	struct pal_host_key k;

	for (size_t i = 0; i < t->n_addr[f]; i++) {
		if (t->addr[f][i].cidr.prefix_len == 0)
			continue;
		host_key(&k, id, f, &t->addr[f][i].cidr.addr);
		bpf_map_delete_elem(fd, &k);
	}
}

/* Writes n keys and values in one batch when the kernel can (one syscall instead of n: a list of
 * 10,000 hosts took ~100 ms one by one), else one by one. Returns 0 or -errno. */
static int hosts_update(int fd, const struct pal_host_key *keys, const uint32_t *vals, uint32_t n)
{
	uint32_t count = n;

	if (!n || bpf_map_update_batch(fd, keys, vals, &count, NULL) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	for (uint32_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &vals[i], 0))
			return -errno;
	return 0;
}

/* Writes field f's hosts of list id. Returns 0 or -errno (-ENOSPC, -E2BIG: pal_hosts full). */
static int write_field_hosts(int fd, const struct pal_cls_tables *t, int f, uint32_t id)
{
	struct pal_host_key *keys = calloc(t->n_addr[f] ? t->n_addr[f] : 1, sizeof(*keys));
	uint32_t *vals = calloc(t->n_addr[f] ? t->n_addr[f] : 1, sizeof(*vals));
	uint32_t n = 0;
	int err = -ENOMEM;

	if (keys && vals) {
		for (size_t i = 0; i < t->n_addr[f]; i++) {
			const struct pal_cls_prefix *p = &t->addr[f][i];

			if (p->cidr.prefix_len == 0)
				continue;
			host_key(&keys[n], id, f, &p->cidr.addr);
			vals[n++] = p->cls;
		}
		err = hosts_update(fd, keys, vals, n);
	}
	free(keys);
	free(vals);
	return err;
}

uint32_t pal_key_hosts_write(int fd, const struct pal_cls_tables *t, const struct pal_key_tables *kt,
			     uint32_t id)
{
	uint32_t written = 0;

	for (int f = PAL_FIELD_SRC_ADDR; f <= PAL_FIELD_DST_ADDR; f++) {
		if (!pal_key_table_words(kt, f))
			continue;
		if (write_field_hosts(fd, t, f, id) == 0)
			written |= 1u << f;
		else
			delete_hosts(fd, t, f, id);
	}
	return written;
}

/* Appends the keys of lists ids among keys[0..n) to *del. Returns 0 or -ENOMEM. */
static int collect(const struct pal_host_key *keys, uint32_t n, const uint32_t *ids, size_t n_ids,
		   struct pal_host_key **del, size_t *n_del, size_t *cap)
{
	for (uint32_t k = 0; k < n; k++) {
		bool hit = false;

		for (size_t i = 0; i < n_ids && !hit; i++)
			hit = keys[k].list_id == ids[i];
		if (!hit)
			continue;
		if (*n_del == *cap) {
			size_t c = *cap ? 2 * *cap : 64;
			struct pal_host_key *d = realloc(*del, c * sizeof(*d));

			if (!d)
				return -ENOMEM;
			*del = d;
			*cap = c;
		}
		(*del)[(*n_del)++] = keys[k];
	}
	return 0;
}

#define SCAN_CHUNK 4096u

/* The keys of lists ids, read in batches (one syscall per SCAN_CHUNK entries); -EOPNOTSUPP when
 * the kernel has no batch lookup for the map. */
static int scan_batched(int fd, const uint32_t *ids, size_t n_ids, struct pal_host_key **del,
			size_t *n_del, size_t *cap)
{
	struct pal_host_key *keys = malloc(SCAN_CHUNK * sizeof(*keys));
	uint32_t *vals = malloc(SCAN_CHUNK * sizeof(*vals));
	uint32_t in = 0, out = 0, count;
	bool first = true, more = true;
	int err = keys && vals ? 0 : -ENOMEM;

	while (!err && more) {
		count = SCAN_CHUNK;
		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, NULL)) {
			if (errno != ENOENT) {
				err = first && (errno == EINVAL || errno == ENOTSUP ||
						errno == EOPNOTSUPP) ? -EOPNOTSUPP : -errno;
				break;
			}
			more = false; /* the last batch */
		}
		err = collect(keys, count, ids, n_ids, del, n_del, cap);
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

/* The same one key at a time. */
static int scan_each(int fd, const uint32_t *ids, size_t n_ids, struct pal_host_key **del,
		     size_t *n_del, size_t *cap)
{
	struct pal_host_key key, next, *prev = NULL;
	int err = 0;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		err = collect(&key, 1, ids, n_ids, del, n_del, cap);
	}
	return err;
}

int pal_key_hosts_delete(int fd, const uint32_t *ids, size_t n)
{
	struct pal_host_key *del = NULL;
	size_t n_del = 0, cap = 0;
	int err = scan_batched(fd, ids, n, &del, &n_del, &cap);

	uint32_t count = (uint32_t)n_del;

	if (err == -EOPNOTSUPP)
		err = scan_each(fd, ids, n, &del, &n_del, &cap);
	count = (uint32_t)n_del;
	if (!err && n_del && bpf_map_delete_batch(fd, del, &count, NULL))
		for (size_t i = count; i < n_del; i++) /* one by one from where the batch stopped */
			if (bpf_map_delete_elem(fd, &del[i]) && errno != ENOENT && !err)
				err = -errno;
	free(del);
	return err;
}
