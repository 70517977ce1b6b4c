/* Writing classifier tables, interface entries, failsafes and config into the maps
 * (maps_sync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <nettle/sha2.h>

#include "datapath_internal.h"
#include "maps_sync.h"
#include "srcaddrs.h"
#include "linktype.h"
#include "vec.h"
#include "small_list.h"
#include "key_tables.h"

/* ---- allocators ------------------------------------------------------------------------------ */

static int delete_lists(struct pal_datapath *dp, const uint32_t *ids, size_t n);

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The pinned interfaces' references to their lists (list_reuse.h), so that a list an earlier
 * agent shared between interfaces goes only with the last of them; *used (sorted) gets every id
 * an interface names. */
static int adopt_references(struct pal_datapath *dp, struct pal_dp_list_ids *used)
{
	int fd = MFD(dp, pal_ifaces);
	uint32_t key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct pal_iface v;
		int err;

		key = next;
		prev = &key;
		/* its lists unknown: sweeping could delete them under it */
		if ((err = pal_dp_iface_read(dp, key, &v))) {
			pal_dp_set_error(dp, "pal_ifaces[%u]: cannot read its configuration: %s", key,
					 strerror(-err));
			return err;
		}
		for (int s = 0; s < PAL_SLOT_COUNT; s++)
			if (v.lists[s])
				pal_dp_live_adopt(&dp->live, v.lists[s]);
		/* a list missed here would be deleted under its interface: stop instead */
		if (pal_dp_list_ids_add(used, &v))
			return -ENOMEM;
	}
	if (used->n) /* qsort on an empty (NULL) array is undefined (UBSan aborts) */
		qsort(used->v, used->n, sizeof(*used->v), cmp_u32);
	return 0;
}

/* Adds id to *ids unless it is there (the ids of leftover keys are few: a linear check). */
static int ids_add_once(struct pal_dp_list_ids *ids, uint32_t id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return 0;
	if (vec_grow((void **)&ids->v, &ids->cap, ids->n + 1, sizeof(*ids->v)))
		return -ENOMEM;
	ids->v[ids->n++] = id;
	return 0;
}

/* A list id with keys in pal_hosts or pal_classes but no pal_lists entry (present: the sorted
 * pal_lists keys) goes into *orphans. */
static int add_if_orphan(struct pal_dp_list_ids *orphans, const struct pal_dp_list_ids *present,
			 uint32_t id)
{
	if (present->n && bsearch(&id, present->v, present->n, sizeof(*present->v), cmp_u32))
		return 0;
	return ids_add_once(orphans, id);
}

/* The list ids of pal_hosts and pal_classes keys that no pal_lists entry holds: an agent killed
 * after writing a list's keys but before its pal_lists insert, or a failed delete, left them.
 * A list written later under such an id would find them and classify by them. */
static int collect_keyed_orphans(struct pal_datapath *dp, const struct pal_dp_list_ids *present,
				 struct pal_dp_list_ids *orphans)
{
	struct pal_host_key hk, hnext, *hprev = NULL;
	struct pal_class_key ck, cnext, *cprev = NULL;
	int fd = MFD(dp, pal_hosts), err = 0;

	while (!err && bpf_map_get_next_key(fd, hprev, &hnext) == 0) {
		hk = hnext;
		hprev = &hk;
		err = add_if_orphan(orphans, present, hk.list_id);
	}
	fd = MFD(dp, pal_classes);
	while (!err && bpf_map_get_next_key(fd, cprev, &cnext) == 0) {
		ck = cnext;
		cprev = &ck;
		err = add_if_orphan(orphans, present, ck.list_id);
	}
	return err;
}

/* Lists no interface names are unreachable for packets (they find lists only through
 * pal_ifaces): an earlier agent exited before it swept its last apply's old lists, or died
 * between writing a generation's lists and flipping to them. The pinned maps are the truth:
 * they go at load, a grace period after any packet of that agent's could have read them, with
 * the pal_hosts and pal_classes keys of ids no pal_lists entry holds (collect_keyed_orphans).
 * Only one agent writes (the bpffs lock), so nothing is half-way now. */
static int sweep_unreferenced(struct pal_datapath *dp, const struct pal_dp_list_ids *used)
{
	int fd = MFD(dp, pal_lists), err = 0;
	uint32_t key, next, *prev = NULL;
	struct pal_dp_list_ids orphans = { 0 }, present = { 0 };

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if ((err = vec_grow((void **)&present.v, &present.cap, present.n + 1,
				    sizeof(*present.v))))
			goto out;
		present.v[present.n++] = key;
		if (used->n && bsearch(&key, used->v, used->n, sizeof(*used->v), cmp_u32))
			continue;
		if ((err = vec_grow((void **)&orphans.v, &orphans.cap, orphans.n + 1,
				    sizeof(*orphans.v))))
			goto out;
		orphans.v[orphans.n++] = key;
	}
	if (present.n) /* qsort and bsearch want an array, even of none */
		qsort(present.v, present.n, sizeof(*present.v), cmp_u32);
	if ((err = collect_keyed_orphans(dp, &present, &orphans)))
		goto out;
	if (orphans.n) {
		pal_dp_grace_period();
		err = delete_lists(dp, orphans.v, orphans.n);
		dp->swept_at_load = orphans.n;
	}
	/* A failure fails the load (the agent does not start on these maps): after a load no key
	 * is left under an id that free_list_id could hand out. */
out:
	free(orphans.v);
	free(present.v);
	return err;
}

static void list_stamp_adopt(uint64_t stamp);

/* The stamps in the verdict cache of every program this agent adopted (datapath.c
 * adopt_pinned_prog keeps the pinned programs of the same build, and with them their object's
 * cls_vcache, which holds lines of lists that predecessors wrote and deleted): every stamp given
 * from now on is after them (list_stamp_adopt). No new line can appear meanwhile but of a live
 * list, whose stamp pal_dp_regions_load adopts too. */
static int adopt_cached_stamps(struct pal_datapath *dp)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pal_vcache_line *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (!(v = calloc((size_t)ncpu, sizeof(*v))))
		return -ENOMEM;
	for (int i = 0; i < PAL_PROG_COUNT; i++) {
		struct bpf_prog_info pi = { 0 };
		uint32_t pl = sizeof(pi), ids[64];

		if (dp->adopted_prog_fd[i] < 0)
			continue;
		pi.nr_map_ids = 64;
		pi.map_ids = (uint64_t)(uintptr_t)ids;
		if (bpf_obj_get_info_by_fd(dp->adopted_prog_fd[i], &pi, &pl))
			continue;
		for (uint32_t m = 0; m < pi.nr_map_ids && m < 64; m++) {
			struct bpf_map_info mi = { 0 };
			uint32_t ml = sizeof(mi);
			int fd = bpf_map_get_fd_by_id(ids[m]);

			if (fd < 0)
				continue;
			if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, "cls_vcache") &&
			    mi.value_size == sizeof(*v))
				for (uint32_t k = 0; k < mi.max_entries; k++)
					if (!bpf_map_lookup_elem(fd, &k, v))
						for (int c = 0; c < ncpu; c++)
							list_stamp_adopt(v[c].stamp);
			close(fd);
		}
	}
	free(v);
	return 0;
}

int pal_dp_regions_load(struct pal_datapath *dp)
{
	struct pal_dp_list_ids used = { 0 };
	int fd = MFD(dp, pal_lists), err;
	uint32_t key, next, *prev = NULL;
	struct pal_list l;

	struct bpf_map_info wi = { 0 }, ei = { 0 }, si = { 0 }, li = { 0 };
	uint32_t wl = sizeof(wi), el = sizeof(ei), sl = sizeof(si), ll = sizeof(li);

	if (bpf_obj_get_info_by_fd(MFD(dp, pal_words), &wi, &wl) ||
	    bpf_obj_get_info_by_fd(MFD(dp, pal_entries), &ei, &el) ||
	    bpf_obj_get_info_by_fd(MFD(dp, pal_small), &si, &sl) ||
	    bpf_obj_get_info_by_fd(MFD(dp, pal_long), &li, &ll))
		return -errno;
	pal_region_init(&dp->words, wi.max_entries);
	pal_region_init(&dp->entries, ei.max_entries);
	dp->next_list_id = 1;
	dp->next_small_slot = 0;
	dp->n_small_slots = si.max_entries;
	dp->next_long_slot = 0;
	dp->n_long_slots = li.max_entries;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &l))
			continue;
		list_stamp_adopt(l.stamp);
		if (pal_region_mark(&dp->words, l.word_base, l.word_count) ||
		    pal_region_mark(&dp->entries, l.entry_base, l.entry_count)) {
			pal_dp_set_error(dp, "pinned list %u overlaps another: tables corrupt", key);
			return -EUCLEAN;
		}
		if (key & PAL_LIST_ID_SMALL) {
			if (pal_small_list_slot(key) >= dp->next_small_slot)
				dp->next_small_slot = pal_small_list_slot(key) + 1;
		} else if (key & PAL_LIST_ID_LONG) {
			if ((key & ~PAL_LIST_ID_LONG) >= dp->next_long_slot)
				dp->next_long_slot = (key & ~PAL_LIST_ID_LONG) + 1;
		} else if (key >= dp->next_list_id) {
			dp->next_list_id = key + 1;
		}
	}
	err = adopt_cached_stamps(dp);
	if (!err)
		err = pal_dp_slots_load(dp);
	if (!err)
		err = adopt_references(dp, &used);
	if (!err && !dp->read_only)
		err = sweep_unreferenced(dp, &used);
	free(used.v);
	if (!err)
		err = pal_dp_config_load(dp);
	return err ? err : pal_dp_fs_ports_load(dp);
}

void pal_dp_regions_free(struct pal_datapath *dp)
{
	pal_region_fini(&dp->words);
	pal_region_fini(&dp->entries);
	pal_dp_live_free(&dp->live);
	free(dp->dead);
	dp->dead = NULL;
	dp->n_dead = dp->cap_dead = 0;
	free(dp->list_keys);
	dp->list_keys = NULL;
	dp->n_list_keys = dp->cap_list_keys = 0;
	pal_dp_slots_unload(dp);
	pal_dp_config_unload(dp);
	pal_dp_fs_ports_unload(dp);
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* Writes values to consecutive keys base.. of an array map; batched when the kernel can. */
static int array_write(int fd, uint32_t base, const void *vals, size_t vsize, uint32_t n)
{
	const size_t chunk = 8192;
	uint32_t *keys;
	int err = 0;

	if (!n)
		return 0;
	keys = malloc(sizeof(*keys) * (n < chunk ? n : chunk));
	if (!keys)
		return -ENOMEM;
	for (uint32_t done = 0; done < n;) {
		uint32_t cnt = n - done < chunk ? n - done : (uint32_t)chunk;
		const char *v = (const char *)vals + (size_t)done * vsize;

		for (uint32_t i = 0; i < cnt; i++)
			keys[i] = base + done + i;
		if (bpf_map_update_batch(fd, keys, v, &cnt, NULL)) {
			/* older kernels: one by one */
			cnt = n - done < chunk ? n - done : (uint32_t)chunk;
			for (uint32_t i = 0; i < cnt; i++)
				if (bpf_map_update_elem(fd, &keys[i], v + i * vsize, 0)) {
					err = -errno;
					goto out;
				}
		}
		done += cnt;
	}
out:
	free(keys);
	return err;
}

/* Writes a list's classes into pal_classes, or (digest set) only hashes what it would write:
 * the keys without the list id, the values as given (relative to the list's region). */
struct lpm_writer {
	int fd;
	uint32_t list_id;
	int err;
	size_t n;
	struct sha256_ctx *digest;
	struct pal_class_key first; /* of the keys put (n > 0): the first in get_next_key order */
};

/* True when key a comes before key b in an LPM trie's get_next_key order, a post-order walk that
 * takes child 0 first: the bits after prefixlen (list id, field, sub, data), most significant
 * first, compared over the shorter length, the one with a 0 at the first difference first; when
 * one is a prefix of the other, the longer (its descendant) first. */
static bool key_before(const struct pal_class_key *a, const struct pal_class_key *b)
{
	const uint8_t *x = (const uint8_t *)&a->list_id, *y = (const uint8_t *)&b->list_id;
	uint32_t bits = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
	uint32_t bytes = bits / 8, rest = bits % 8;
	int c = memcmp(x, y, bytes);

	if (!c && rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		c = (int)(x[bytes] & mask) - (int)(y[bytes] & mask);
	}
	if (c)
		return c < 0;
	return a->prefixlen > b->prefixlen;
}

static void lpm_put(struct lpm_writer *w, uint8_t field, uint8_t sub, const uint8_t *data,
		    size_t dlen, uint32_t bits, const struct pal_class *v)
{
	struct pal_class_key k;

	if (w->err)
		return;
	memset(&k, 0, sizeof(k));
	k.prefixlen = PAL_CLASS_FIXED_BITS + bits;
	k.list_id = w->list_id;
	k.field = field;
	k.sub = sub;
	if (data)
		memcpy(k.data, data, dlen);
	if (w->digest) {
		sha256_update(w->digest, sizeof(k), (const uint8_t *)&k);
		sha256_update(w->digest, sizeof(*v), (const uint8_t *)v);
	} else if (bpf_map_update_elem(w->fd, &k, v, 0)) {
		w->err = -errno;
	} else {
		if (!w->n++ || key_before(&k, &w->first))
			w->first = k;
	}
}

/* A 16-bit key table (ports, ICMP): the none class, then the class covering most keys as the
 * field's /0 and only the prefixes of other classes (they are disjoint, so the longest match is
 * still exact). */
static void write_keytable(struct lpm_writer *w, uint8_t field, const struct pal_cls_keytable *kt,
			   const struct pal_class *cv, uint32_t n_classes)
{
	uint64_t *cover = calloc(n_classes ? n_classes : 1, sizeof(*cover));
	uint32_t def = 0;

	if (!cover) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < kt->n_ranges; i++)
		if (kt->ranges[i].cls < n_classes)
			cover[kt->ranges[i].cls] += (uint64_t)kt->ranges[i].last - kt->ranges[i].first + 1;
	for (uint32_t c = 1; c < n_classes; c++)
		if (cover[c] > cover[def])
			def = c;
	free(cover);
	if (kt->none_class < n_classes)
		lpm_put(w, field, 0, NULL, 0, 0, &cv[kt->none_class]);
	if (n_classes)
		lpm_put(w, field, 1, NULL, 0, 0, &cv[def]);
	for (size_t i = 0; i < kt->n_prefixes; i++) {
		const struct pal_cls_kprefix *p = &kt->prefixes[i];
		uint8_t d[2] = { p->value >> 8, p->value & 0xff };

		if (p->cls == def || p->cls >= n_classes)
			continue;
		lpm_put(w, field, 1, d, 2, p->len, &cv[p->cls]);
	}
}

static const struct pal_cls_keytable *keytable_of(const struct pal_cls_tables *t, int f)
{
	return f == PAL_CLS_F_SPORT ? &t->sport : f == PAL_CLS_F_DPORT ? &t->dport : &t->icmp;
}

static int write_classes(struct lpm_writer *w, const struct pal_cls_tables *t,
			 struct pal_class *cv[PAL_CLS_N_FIELDS])
{
	for (int i = 0; i < 2; i++) {
		int f = i == 0 ? PAL_CLS_F_SRC : PAL_CLS_F_DST;

		for (size_t k = 0; k < t->n_addr[i]; k++) {
			const struct pal_cls_prefix *p = &t->addr[i][k];

			if (p->cls >= t->bm[f].n_classes)
				return -EINVAL;
			lpm_put(w, f, p->cidr.addr.family, p->cidr.addr.bytes, 16, p->cidr.prefix_len,
				&cv[f][p->cls]);
		}
	}
	for (int fam = 0; fam < 2; fam++) {
		uint32_t n = t->bm[PAL_CLS_F_PROTO].n_classes, def, best = 0;
		uint8_t sub = fam ? 6 : 4;
		uint32_t *cnt = calloc(n ? n : 1, sizeof(*cnt));

		if (!cnt)
			return -ENOMEM;
		for (int p = 0; p < 256; p++)
			if (t->proto_class[fam][p] < n)
				cnt[t->proto_class[fam][p]]++;
		def = 0;
		for (uint32_t c = 0; c < n; c++)
			if (cnt[c] > best) {
				best = cnt[c];
				def = c;
			}
		free(cnt);
		if (!n)
			continue;
		lpm_put(w, PAL_CLS_F_PROTO, sub, NULL, 0, 0, &cv[PAL_CLS_F_PROTO][def]);
		for (int p = 0; p < 256; p++) {
			uint8_t d = (uint8_t)p;
			uint32_t c = t->proto_class[fam][p];

			if (c != def && c < n)
				lpm_put(w, PAL_CLS_F_PROTO, sub, &d, 1, 8, &cv[PAL_CLS_F_PROTO][c]);
		}
	}
	for (int f = PAL_CLS_F_SPORT; f <= PAL_CLS_F_ICMP; f++)
		write_keytable(w, f, keytable_of(t, f), cv[f], t->bm[f].n_classes);
	return w->err;
}

/* True when field f's one class holds every entry: its base words have every entry's bit, it has
 * no override words and no anchor (so AND-ing its words and OR-ing its anchors changes nothing). */
static bool neutral_class(const struct pal_cls_tables *t, int f)
{
	const struct pal_cls_bitmaps *bm = &t->bm[f];

	if (bm->n_classes != 1 || bm->n_ovr)
		return false;
	for (uint32_t j = 0; j < t->n_words; j++) {
		uint32_t left = t->n_entries - j * 64;
		uint64_t want = left >= 64 ? ~0ULL : (1ULL << left) - 1;

		if ((bm->base[j] & want) != want)
			return false;
	}
	for (uint32_t k = 0; k < t->n_summary; k++)
		if (bm->anchor && bm->anchor[k])
			return false;
	return true;
}

/* Fields with one class: every key maps to it, so the classifier takes it from the list
 * (pal_list.one_class) instead of an LPM lookup. Its trie entries are written all the same (the
 * trie stays complete for its readers). */
static void set_single_classes(struct pal_list *l, const struct pal_cls_tables *t,
			       struct pal_class *cv[PAL_CLS_N_FIELDS])
{
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		if (t->bm[f].n_classes != 1)
			continue;
		l->single_class |= 1u << f;
		l->one_class[f] = cv[f][0];
		if (neutral_class(t, f))
			l->neutral |= 1u << f;
	}
}

#define CLASS_DELETE_CHUNK 4096

static bool of_lists(const struct pal_class_key *k, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k->list_id == ids[i])
			return true;
	return false;
}

/* Deletes the keys of list id from its first key on, following get_next_key while the keys are
 * the list's: the keys of one list id are one subtree of the trie (every key holds the whole id),
 * so they come one after the other in that post-order walk, which the deletions do not change
 * (see scan_delete_classes). Sets *complete when it saw exactly the n keys the list was written
 * with: then none is left (an id is handed out only when no key holds it, maps_sync.c
 * free_list_id, and only the list's write put keys under it). Otherwise what it saw is deleted
 * and the caller scans the trie for the rest. About two syscalls per key of the list, where a
 * scan takes one per key of every list: with the node's 100 pods bound to the rule lists of a
 * 10,000-pod cluster (510,000 keys), a change that replaced one list scanned them all. */
static int walk_delete_classes(int fd, const struct pal_dp_list_keys *lk, bool *complete)
{
	struct pal_class_key cur = lk->first, next;
	size_t seen = 0;
	bool more = true;

	*complete = false;
	while (more) {
		more = !bpf_map_get_next_key(fd, &cur, &next) && next.list_id == lk->id;
		if (cur.list_id == lk->id) {
			seen++;
			if (bpf_map_delete_elem(fd, &cur) && errno != ENOENT)
				return -errno;
		}
		cur = next;
	}
	*complete = seen == lk->n;
	return 0;
}

static struct pal_dp_list_keys *list_keys_find(struct pal_datapath *dp, uint32_t id)
{
	for (size_t i = 0; i < dp->n_list_keys; i++)
		if (dp->list_keys[i].id == id)
			return &dp->list_keys[i];
	return NULL;
}

static void list_keys_drop(struct pal_datapath *dp, struct pal_dp_list_keys *lk)
{
	*lk = dp->list_keys[--dp->n_list_keys];
}

static int scan_delete_classes(struct pal_datapath *dp, const uint32_t *ids, size_t n);

/* Deletes every pal_classes key of the given lists: those this process wrote by a walk of their
 * own keys, the others (adopted from the pins, or a walk that did not see them all) by one scan
 * of the trie. A list's record goes in either case: a retry scans. */
static int delete_classes(struct pal_datapath *dp, const uint32_t *ids, size_t n)
{
	uint32_t *rest = malloc((n ? n : 1) * sizeof(*rest));
	size_t n_rest = 0;
	int err = 0;

	if (!rest)
		return scan_delete_classes(dp, ids, n);
	for (size_t i = 0; i < n; i++) {
		struct pal_dp_list_keys *lk = list_keys_find(dp, ids[i]);
		bool complete = false;
		int e = 0;

		if (lk) {
			e = walk_delete_classes(MFD(dp, pal_classes), lk, &complete);
			list_keys_drop(dp, lk);
		}
		if (e && !err)
			err = e;
		if (!complete)
			rest[n_rest++] = ids[i];
	}
	if (n_rest) {
		int e = scan_delete_classes(dp, rest, n_rest);

		if (e && !err)
			err = e;
	}
	free(rest);
	return err;
}

/* Deletes every pal_classes key of the given lists (one scan of the trie), a chunk of keys at a
 * time: holding them all would cost 28 bytes per key, 7 MiB when a pod's label change rewrites
 * 50 lists of 5,000 addresses. After each chunk the scan resumes from the last key it keeps (from
 * the start when none): an LPM trie's get_next_key order between two keys (post-order over their
 * bits) does not depend on the other keys, so the deleted keys take no remaining one with them. */
static int scan_delete_classes(struct pal_datapath *dp, const uint32_t *ids, size_t n)
{
	int fd = MFD(dp, pal_classes);
	struct pal_class_key kept, next, *del = malloc(CLASS_DELETE_CHUNK * sizeof(*del));
	const struct pal_class_key *prev = NULL;
	bool have_kept = false, end = false;
	int err = 0;

	dp->class_scans++;

	if (!del)
		return -ENOMEM;
	while (!end) {
		size_t n_del = 0;

		while (n_del < CLASS_DELETE_CHUNK) {
			if (bpf_map_get_next_key(fd, prev, &next)) {
				end = true;
				break;
			}
			if (of_lists(&next, ids, n)) {
				del[n_del] = next;
				prev = &del[n_del++];
			} else {
				kept = next;
				have_kept = true;
				prev = &kept;
			}
		}
		for (size_t i = 0; i < n_del; i++)
			if (bpf_map_delete_elem(fd, &del[i]) && errno != ENOENT && !err)
				err = -errno;
		prev = have_kept ? &kept : NULL;
	}
	free(del);
	return err;
}

/* ---- lists ----------------------------------------------------------------------------------- */

/* The override rank words of class c (pal_class.ovr_rank) are used only in summary words where
 * the class has override words, so a class whose override words all lie in one summary word
 * (nearly every class: one address, one port) has ranks 0 wherever they are read and shares the
 * list's zero words; only the others get their own. */
static bool own_ranks(const struct pal_cls_bitmaps *bm, uint32_t c)
{
	uint32_t o0 = bm->ovr_start[c], o1 = bm->ovr_start[c + 1];

	return o1 > o0 && bm->ovr_word[o0] / 64 != bm->ovr_word[o1 - 1] / 64; /* ascending */
}

/* rank[k] = override words of class c in summary words below k. Returns n_summary. */
static uint32_t write_ranks(const struct pal_cls_bitmaps *bm, uint32_t c, uint32_t n_summary,
			    uint64_t *rank)
{
	for (uint32_t k = bm->ovr_start[c]; k < bm->ovr_start[c + 1]; k++)
		if (bm->ovr_word[k] / 64 + 1 < n_summary)
			rank[bm->ovr_word[k] / 64 + 1]++;
	for (uint32_t k = 1; k < n_summary; k++)
		rank[k] += rank[k - 1];
	return n_summary;
}

/* A list's content laid out at offset 0 of its region: the words, the entries, and the class
 * values (whose word indices relocate() moves to the region the list gets). */
struct list_image {
	uint64_t *words;
	uint64_t total; /* words */
	struct pal_entry *ents;
	struct pal_class *cv[PAL_CLS_N_FIELDS];
	struct pal_key_tables kt; /* after the bitmap words; kt_at[f]: where field f's begins */
	uint32_t kt_at[PAL_FIELD_COUNT];
};

static void image_free(struct list_image *im)
{
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
		free(im->cv[f]);
	free(im->words);
	free(im->ents);
	pal_key_tables_free(&im->kt);
	memset(im, 0, sizeof(*im));
}

/* region layout: always, zero ranks (shared), then per field its base words, then per class:
 * summary, anchor, override mask, override rank (own_ranks only), override words */
static uint64_t image_words(const struct pal_cls_tables *t)
{
	uint64_t total = 2 * (uint64_t)t->n_summary;

	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		total += (uint64_t)t->n_words + (uint64_t)t->bm[f].n_classes * 3 * t->n_summary +
			 t->bm[f].n_ovr;
		for (uint32_t c = 0; c < t->bm[f].n_classes; c++)
			total += own_ranks(&t->bm[f], c) ? t->n_summary : 0;
	}
	return total;
}

static int image_build(const struct pal_cls_tables *t, struct list_image *im)
{
	uint64_t off = 0;
	uint32_t zero_ranks;

	memset(im, 0, sizeof(*im));
	if (pal_key_tables_build(t, &im->kt))
		return -ENOMEM;
	im->total = image_words(t);
	for (int f = 0; f < PAL_FIELD_COUNT; f++) {
		im->kt_at[f] = (uint32_t)im->total;
		im->total += pal_key_table_words(&im->kt, f);
	}
	if (im->total > UINT32_MAX)
		return -E2BIG;
	if (!(im->words = calloc(im->total ? im->total : 1, sizeof(*im->words))) ||
	    !(im->ents = calloc(t->n_entries ? t->n_entries : 1, sizeof(*im->ents))))
		return -ENOMEM;
	if (t->n_summary && t->always)
		memcpy(&im->words[off], t->always, t->n_summary * sizeof(*im->words));
	off += t->n_summary;
	zero_ranks = (uint32_t)off; /* calloc'd */
	off += t->n_summary;
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		if (t->n_words)
			memcpy(&im->words[off], t->bm[f].base, t->n_words * sizeof(*im->words));
		im->cv[f] = calloc(t->bm[f].n_classes ? t->bm[f].n_classes : 1, sizeof(**im->cv));
		if (!im->cv[f])
			return -ENOMEM;
		for (uint32_t c = 0; c < t->bm[f].n_classes; c++)
			im->cv[f][c].base = (uint32_t)off;
		off += t->n_words;
	}
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
		const struct pal_cls_bitmaps *bm = &t->bm[f];
		struct pal_class *cv = im->cv[f];
		uint64_t *words = im->words;

		for (uint32_t c = 0; c < bm->n_classes; c++) {
			uint32_t o0 = bm->ovr_start[c], o1 = bm->ovr_start[c + 1];

			cv[c].summary = (uint32_t)off;
			if (t->n_summary)
				memcpy(&words[off], &bm->summary[(size_t)c * t->n_summary],
				       t->n_summary * sizeof(*words));
			for (uint32_t k = 0; k < t->n_summary; k++)
				if (words[off + k])
					cv[c].top |= 1u << k;
			off += t->n_summary;
			cv[c].anchor = (uint32_t)off;
			if (t->n_summary && bm->anchor)
				memcpy(&words[off], &bm->anchor[(size_t)c * t->n_summary],
				       t->n_summary * sizeof(*words));
			off += t->n_summary;
			cv[c].ovr_mask = (uint32_t)off;
			for (uint32_t k = o0; k < o1; k++)
				words[off + bm->ovr_word[k] / 64] |= 1ULL << (bm->ovr_word[k] % 64);
			off += t->n_summary;
			cv[c].ovr_rank = zero_ranks;
			if (own_ranks(bm, c)) {
				cv[c].ovr_rank = (uint32_t)off;
				off += write_ranks(bm, c, t->n_summary, &words[off]);
			}
			cv[c].ovr_base = (uint32_t)off;
			for (uint32_t k = o0; k < o1; k++)
				words[off++] = bm->ovr_bits[k];
		}
	}
	for (uint32_t i = 0; i < t->n_entries; i++) {
		im->ents[i].action = t->entries[i].action;
		im->ents[i].kind = t->entries[i].kind;
		im->ents[i].next = t->entries[i].next;
		im->ents[i].rule_id = t->entries[i].rule_id;
		im->ents[i].tier = t->entries[i].tier;
	}
	for (int f = 0; f < PAL_FIELD_COUNT; f++) /* the class values follow in place_key_classes */
		if (pal_key_table_words(&im->kt, f))
			memcpy(&im->words[im->kt_at[f]], im->kt.f[f].words,
			       im->kt.f[f].n_words * sizeof(*im->words));
	return 0;
}

/* The direct key tables' class values, once relocate() made them final, and where the list's
 * tables are. */
static void place_key_tables(struct list_image *im, uint32_t wbase, struct pal_list *l)
{
	for (int f = 0; f < PAL_FIELD_COUNT; f++) {
		struct pal_key_table *k = &im->kt.f[f];

		if (!pal_key_table_words(&im->kt, f))
			continue;
		pal_key_table_put_classes(k, im->cv[f]);
		memcpy(&im->words[im->kt_at[f]], k->words,
		       (size_t)k->n_classes * PAL_CLASS_WORDS * sizeof(*im->words));
		l->direct |= 1u << f;
		l->key_classes[f] = wbase + im->kt_at[f];
		l->key_table[f] = l->key_classes[f] + k->n_classes * PAL_CLASS_WORDS;
	}
}

/* The list_reuse.h digest: everything written for the list but its position. */
static int image_digest(const struct pal_cls_tables *t, struct list_image *im,
			uint8_t out[PAL_DP_LIST_DIGEST_LEN])
{
	uint32_t counts[4 + PAL_CLS_N_FIELDS] = { t->n_entries, t->n_words, t->n_summary,
						  (uint32_t)im->total };
	struct sha256_ctx h;
	struct lpm_writer w = { .digest = &h };
	int err;

	_Static_assert(PAL_DP_LIST_DIGEST_LEN == SHA256_DIGEST_SIZE, "a list digest is a SHA-256");
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
		counts[4 + f] = t->bm[f].n_classes; /* single_class and one_class follow from them */
	sha256_init(&h);
	sha256_update(&h, sizeof(counts), (const uint8_t *)counts);
	sha256_update(&h, im->total * sizeof(*im->words), (const uint8_t *)im->words);
	sha256_update(&h, t->n_entries * sizeof(*im->ents), (const uint8_t *)im->ents);
	if ((err = write_classes(&w, t, im->cv)))
		return err;
	sha256_digest(&h, PAL_DP_LIST_DIGEST_LEN, out);
	return 0;
}

/* Whether list id c is free: no list holds it. */
static bool list_id_free(struct pal_datapath *dp, uint32_t c)
{
	struct pal_list l;

	return bpf_map_lookup_elem(MFD(dp, pal_lists), &c, &l) && errno == ENOENT;
}

/* An id with PAL_LIST_ID_SMALL whose pal_small slot no list holds, round robin from the last one
 * handed out; -ENOSPC when every slot is taken. A slot is free once its list's pal_lists entry is
 * gone, which happens only after a grace period since the last interface let go of the list
 * (delete_lists): no packet reads the slot any more, so it may be written. */
static int free_small_id(struct pal_datapath *dp, uint32_t *id)
{
	for (uint32_t tries = 0; tries < dp->n_small_slots; tries++) {
		uint32_t c = PAL_LIST_ID_SMALL | (dp->next_small_slot++ % dp->n_small_slots);

		if (list_id_free(dp, c)) {
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}

/* An id with PAL_LIST_ID_LONG whose pal_long slot no list holds, round robin as free_small_id
 * (the same rule: free once the list's pal_lists entry is gone, delete_lists); -ENOSPC when every
 * slot is taken (pal_long has as many as pal_lists can hold lists). */
static int free_long_id(struct pal_datapath *dp, uint32_t *id)
{
	for (uint32_t tries = 0; tries < dp->n_long_slots; tries++) {
		uint32_t c = PAL_LIST_ID_LONG | (dp->next_long_slot++ % dp->n_long_slots);

		if (list_id_free(dp, c)) {
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}

/* The next list id that no list holds. Ids only grow, but the 30-bit counter wraps (and a restart
 * resumes after the largest pinned id): an id taken by a live list must never be written again,
 * or its classes and linear form would be overwritten under the interfaces that read them, and
 * the failure path would then delete them. 0 is never an id. A list with a linear form gets an id
 * naming a pal_small slot (PAL_LIST_ID_SMALL) while one is free; a list too long for the linear
 * form gets an id naming a pal_long slot (PAL_LIST_ID_LONG), or none. */
static int free_list_id(struct pal_datapath *dp, bool is_long, bool linear, uint32_t *id)
{
	if (is_long)
		return free_long_id(dp, id);
	if (linear && free_small_id(dp, id) == 0)
		return 0;
	for (uint32_t tries = 0; tries < (1u << 20); tries++) {
		uint32_t c = dp->next_list_id++ & ~(PAL_LIST_ID_LONG | PAL_LIST_ID_SMALL);

		if (!c)
			continue;
		if (list_id_free(dp, c)) {
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}
/* Writes l as the pal_long slot of long list id (l->list_id is id), or empties it (l NULL); a
 * whole value, while no packet can reach the id (abi.h PAL_LIST_ID_LONG). Other ids: nothing. */
static int long_slot_write(struct pal_datapath *dp, uint32_t id, const struct pal_list *l)
{
	static const struct pal_list empty;
	uint32_t slot = id & ~PAL_LIST_ID_LONG;

	if (!(id & PAL_LIST_ID_LONG))
		return 0;
	if (bpf_map_update_elem(MFD(dp, pal_long), &slot, l ? l : &empty, BPF_ANY))
		return -errno;
	return 0;
}

/* The class values point into the region at wbase. */
static void relocate(const struct pal_cls_tables *t, struct list_image *im, uint32_t wbase)
{
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
		for (uint32_t c = 0; c < t->bm[f].n_classes; c++) {
			struct pal_class *v = &im->cv[f][c];

			v->base += wbase;
			v->summary += wbase;
			v->anchor += wbase;
			v->ovr_mask += wbase;
			v->ovr_rank += wbase;
			v->ovr_base += wbase;
		}
}

/* The last stamp this process gave (list_stamp), and the largest of the lists it found pinned
 * (list_stamp_adopt). */
static uint64_t stamp_last, stamp_pinned;

/* A stamp for a list being written (abi.h pal_list.stamp): CLOCK_BOOTTIME in ns, later than every
 * stamp this process gave before (it waits for the clock to pass the last one, so a stamp is never
 * ahead of the clock) and than every stamp of the lists it found pinned (list_stamp_adopt). A
 * restarted agent's clock is normally past all its predecessor's stamps already (pinned maps do
 * not outlive the boot, whose clock never goes back); but CLOCK_BOOTTIME is per time namespace,
 * and an agent restarted under a smaller boottime offset reads an earlier clock than its
 * predecessor did: its stamps then start just after the largest pinned one, or the largest in
 * the adopted programs' verdict cache (adopt_cached_stamps), instead of at the clock. So no two lists live in the maps share a stamp, and the classifier's verdict cache
 * (bpf/classify.h) never takes one list's cached answer for another's. */
static uint64_t list_stamp(void)
{
	uint64_t prev = __atomic_load_n(&stamp_last, __ATOMIC_RELAXED), now, floor;

	for (;;) {
		struct timespec ts;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		floor = __atomic_load_n(&stamp_pinned, __ATOMIC_RELAXED);
		if (now <= floor) {
			/* the clock is behind the pins: past them, and past this process's last */
			now = (prev > floor ? prev : floor) + 1;
		} else if (now <= prev) {
			prev = __atomic_load_n(&stamp_last, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&stamp_last, &prev, now, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return now;
	}
}

/* A pinned list's stamp, seen at load: every stamp given from now on is after it. */
static void list_stamp_adopt(uint64_t stamp)
{
	uint64_t cur = __atomic_load_n(&stamp_pinned, __ATOMIC_RELAXED);

	while (stamp > cur && !__atomic_compare_exchange_n(&stamp_pinned, &cur, stamp, false,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

int pal_dp_list_write(struct pal_datapath *dp, const struct pal_cls_tables *t,
		      uint32_t generation, uint32_t *list_id)
{
	uint8_t digest[PAL_DP_LIST_DIGEST_LEN];
	struct list_image im = { 0 };
	struct lpm_writer w = { 0 };
	struct pal_small_list *linear = NULL;
	uint32_t wbase = 0, ebase = 0, id;
	bool have_w = false, have_e = false;
	struct pal_list l;
	int err;

	if (t->n_summary > PAL_SUMMARY_WORDS || t->n_entries > PAL_MAX_ENTRIES) {
		pal_dp_set_error(dp, "rule list too large (%u entries, at most %u)", t->n_entries,
				 PAL_MAX_ENTRIES);
		return -E2BIG;
	}
	if (image_words(t) > UINT32_MAX)
		return -E2BIG;
	if ((err = image_build(t, &im)))
		goto out;
	if ((err = image_digest(t, &im, digest))) {
		pal_dp_set_error(dp, "pal_classes: %s", strerror(-err));
		goto out;
	}
	/* The same list is live already: the caller gets another reference to it. */
	if (pal_dp_live_take(&dp->live, digest, list_id))
		goto out;
	err = pal_small_list_new(t, &linear);
	if (err) {
		pal_dp_set_error(dp, "pal_small: %s", strerror(-err));
		goto out;
	}
	err = free_list_id(dp, t->n_entries > PAL_SMALL_ENTRIES, linear != NULL, &id);
	if (err) {
		pal_dp_set_error(dp, "pal_lists: no free list id");
		goto out;
	}

	err = pal_region_get(&dp->words, (uint32_t)im.total, &wbase);
	if (err) {
		pal_dp_set_error(dp, "pal_words full (%llu words needed)",
				 (unsigned long long)im.total);
		goto fail;
	}
	have_w = true;
	err = pal_region_get(&dp->entries, t->n_entries, &ebase);
	if (err) {
		pal_dp_set_error(dp, "pal_entries full (%u entries needed)",
				 t->n_entries);
		goto fail;
	}
	have_e = true;
	relocate(t, &im, wbase);
	memset(&l, 0, sizeof(l));
	place_key_tables(&im, wbase, &l);
	err = array_write(MFD(dp, pal_words), wbase, im.words, sizeof(*im.words),
			  (uint32_t)im.total);
	if (err)
		goto fail;
	err = array_write(MFD(dp, pal_entries), ebase, im.ents, sizeof(*im.ents), t->n_entries);
	if (err)
		goto fail;

	w.fd = MFD(dp, pal_classes);
	w.list_id = id;
	err = write_classes(&w, t, im.cv);
	if (err) {
		pal_dp_set_error(dp, "pal_classes: %s", strerror(-err));
		goto fail_classes;
	}

	if (id & PAL_LIST_ID_SMALL)
		err = pal_small_list_write(dp, id, linear);
	if (err) {
		pal_dp_set_error(dp, "pal_small: %s", strerror(-err));
		goto fail_classes;
	}
	/* an address field whose hosts did not fit in pal_hosts keeps its LPM lookup */
	l.direct &= ~((1u << PAL_FIELD_SRC_ADDR | 1u << PAL_FIELD_DST_ADDR) &
		      ~pal_key_hosts_write(MFD(dp, pal_hosts), t, &im.kt, id));

	/* last: the list becomes reachable once an interface points at it */
	l.n_entries = t->n_entries;
	l.n_words = t->n_words;
	l.n_summary = t->n_summary;
	l.generation = generation; /* the first generation that wrote it (reused lists keep it) */
	l.entry_base = ebase;
	l.entry_count = t->n_entries ? t->n_entries : 1;
	l.word_base = wbase;
	l.word_count = im.total ? (uint32_t)im.total : 1;
	l.always = wbase;
	set_single_classes(&l, t, im.cv);
	l.list_id = id;
	l.stamp = list_stamp();
	/* the pal_long slot before the pal_lists entry: once that entry is there the id is taken,
	 * and the slot is whole */
	if ((err = long_slot_write(dp, id, &l))) {
		pal_dp_set_error(dp, "pal_long: %s", strerror(-err));
		goto fail_classes;
	}
	if (bpf_map_update_elem(MFD(dp, pal_lists), &id, &l, BPF_NOEXIST)) {
		err = -errno;
		pal_dp_set_error(dp, "pal_lists: %s", strerror(errno));
		goto fail_classes;
	}
	pal_dp_live_add(&dp->live, digest, id);
	/* Without the record (out of memory) its keys are found by a scan of the trie. */
	if (w.n && !vec_grow((void **)&dp->list_keys, &dp->cap_list_keys, dp->n_list_keys + 1,
			     sizeof(*dp->list_keys)))
		dp->list_keys[dp->n_list_keys++] =
			(struct pal_dp_list_keys){ .id = id, .n = (uint32_t)w.n, .first = w.first };
	*list_id = id;
	err = 0;
	goto out;
fail_classes:
	long_slot_write(dp, id, NULL);
	pal_small_list_delete(dp, id);
	delete_classes(dp, &id, 1);
	pal_key_hosts_delete(MFD(dp, pal_hosts), &id, 1);
fail:
	if (have_w)
		pal_region_put(&dp->words, wbase);
	if (have_e)
		pal_region_put(&dp->entries, ebase);
out:
	free(linear);
	image_free(&im);
	return err;
}

/* Deletes lists no reference holds. */
static int delete_lists(struct pal_datapath *dp, const uint32_t *ids, size_t n)
{
	int fd = MFD(dp, pal_lists);
	int err = n ? delete_classes(dp, ids, n) : 0;
	int err_hosts = n ? pal_key_hosts_delete(MFD(dp, pal_hosts), ids, n) : 0;

	if (!err)
		err = err_hosts;

	for (size_t i = 0; i < n; i++) {
		struct pal_list l;

		pal_small_list_delete(dp, ids[i]);
		/* keys of the list may be left: its pal_lists entry keeps the id from reuse
		 * (free_list_id) until a later load's sweep deletes it all again */
		if (err || bpf_map_lookup_elem(fd, &ids[i], &l))
			continue;
		/* the slot emptied first: while the id is taken its slot holds this list or nothing,
		 * never a list written for the id after it was freed. A slot that could not be
		 * emptied keeps the id taken. */
		if (long_slot_write(dp, ids[i], NULL))
			continue;
		bpf_map_delete_elem(fd, &ids[i]);
		pal_region_put(&dp->words, l.word_base);
		pal_region_put(&dp->entries, l.entry_base);
	}
	return err;
}

/* Each id is one reference given back; the ids of lists whose last reference went are put in
 * gone (room for n), how many returned. */
static size_t release_lists(struct pal_datapath *dp, const uint32_t *ids, size_t n, uint32_t *gone)
{
	size_t n_gone = 0;

	for (size_t i = 0; i < n; i++)
		if (!pal_dp_live_release(&dp->live, ids[i]))
			gone[n_gone++] = ids[i];
	return n_gone;
}

int pal_dp_lists_delete(struct pal_datapath *dp, const uint32_t *ids, size_t n)
{
	uint32_t one_iface[PAL_SLOT_COUNT]; /* the common case needs no memory (out of memory) */
	uint32_t *gone = n <= PAL_SLOT_COUNT ? one_iface : malloc(n * sizeof(*gone));
	int err;

	if (!n)
		return 0;
	if (!gone)
		return -ENOMEM;
	err = delete_lists(dp, gone, release_lists(dp, ids, n, gone));
	if (gone != one_iface)
		free(gone);
	return err;
}

int pal_dp_iface_lists_delete(struct pal_datapath *dp, const struct pal_iface *v)
{
	uint32_t ids[PAL_SLOT_COUNT];

	return pal_dp_lists_delete(dp, ids, pal_dp_iface_lists(v, ids));
}

void pal_dp_list_ids_retire(struct pal_datapath *dp, struct pal_dp_list_ids *ids,
			    const struct pal_iface *old)
{
	if (pal_dp_list_ids_add(ids, old) == 0)
		return;
	pal_dp_grace_period(); /* no room to keep them for later: now, once nothing reads them */
	pal_dp_iface_lists_delete(dp, old);
}

/* The lists an apply's flips made unreachable, for pal_dp_lists_sweep. Out of memory: deleted
 * now (the grace period first), as before the sweep existed. */
static int defer_lists(struct pal_datapath *dp, const uint32_t *ids, size_t n)
{
	if (vec_grow((void **)&dp->dead, &dp->cap_dead, dp->n_dead + n, sizeof(*dp->dead))) {
		pal_dp_grace_period();
		return pal_dp_lists_delete(dp, ids, n);
	}
	dp->n_dead += release_lists(dp, ids, n, dp->dead + dp->n_dead);
	return 0;
}

int pal_dp_lists_sweep(struct pal_datapath *dp)
{
	size_t n = dp->n_dead;
	int err;

	if (!n)
		return 0;
	pal_dp_grace_period();
	err = delete_lists(dp, dp->dead, n);
	dp->n_dead = 0;
	return err ? err : (int)(n > INT32_MAX ? INT32_MAX : n);
}

size_t pal_dp_class_scans(const struct pal_datapath *dp)
{
	return dp->class_scans;
}

size_t pal_dp_lists_swept_at_load(const struct pal_datapath *dp)
{
	return dp->swept_at_load;
}

size_t pal_dp_iface_lists(const struct pal_iface *v, uint32_t *ids)
{
	size_t n = 0;

	for (int s = 0; s < PAL_SLOT_COUNT; s++)
		if (v->lists[s])
			ids[n++] = v->lists[s];
	return n;
}

/* ---- interfaces ------------------------------------------------------------------------------ */

/* pal_dp_iface_flip, pal_dp_iface_remove: iface_slots.c */

/* ---- failsafes and config -------------------------------------------------------------------- */

static void failsafe_key(const struct pal_failsafe *f, uint8_t dir, uint8_t family,
			 struct pal_failsafe_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->proto = f->protocol;
	k->port = f->port;
	k->family = family;
	k->prefixlen = PAL_FAILSAFE_FIXED_BITS;
	if (f->has_net) {
		memcpy(k->addr, f->net.addr.bytes, 16);
		k->prefixlen += f->net.prefix_len;
	}
}

/* Makes pal_failsafe hold exactly the n keys of want. Sets *removed when an entry of the old set
 * is gone (the apply then sweeps the failsafe flows, failsafe_flows_sweep). */
static int failsafe_sync_keys(struct pal_datapath *dp, const struct pal_failsafe_key *want,
			      size_t n, bool *removed)
{
	int fd = MFD(dp, pal_failsafe);
	struct pal_failsafe_key key, next, *prev = NULL;
	uint32_t one = 1;
	int err = 0;

	/* the ports' bits first: a trie entry is never hidden behind a clear bit */
	err = pal_dp_fs_ports_widen(dp, want, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &want[i], &one, BPF_ANY)) {
			err = -errno;
			pal_dp_set_error(dp, "pal_failsafe: %s", strerror(errno));
			return err;
		}
	/* remove the ones no longer wanted (collect first: no deleting while iterating) */
	{
		struct pal_failsafe_key *del = NULL;
		size_t n_del = 0, dcap = 0;

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			bool keep = false;

			key = next;
			prev = &key;
			for (size_t i = 0; i < n && !keep; i++)
				keep = !memcmp(&want[i], &key, sizeof(key));
			if (keep)
				continue;
			if (vec_grow((void **)&del, &dcap, n_del + 1, sizeof(*del))) {
				free(del);
				return -ENOMEM;
			}
			del[n_del++] = key;
		}
		for (size_t i = 0; i < n_del; i++)
			bpf_map_delete_elem(fd, &del[i]);
		free(del);
		if (n_del && removed)
			*removed = true;
	}
	/* the removed entries are gone: their ports' bits may go */
	return pal_dp_fs_ports_exact(dp, want, n);
}

/* The keys pal_failsafe holds now (*out malloc'ed, the caller frees it), for
 * failsafe_sync_keys to restore them. */
static int failsafe_snapshot(struct pal_datapath *dp, struct pal_failsafe_key **out, size_t *n_out)
{
	int fd = MFD(dp, pal_failsafe);
	struct pal_failsafe_key key, next, *prev = NULL, *v = NULL;
	size_t n = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (vec_grow((void **)&v, &cap, n + 1, sizeof(*v))) {
			free(v);
			return -ENOMEM;
		}
		v[n++] = key;
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* Makes pal_failsafe hold the IR's failsafe lists; *removed as failsafe_sync_keys. */
static int failsafe_sync(struct pal_datapath *dp, const struct pal_ir *ir, bool *removed)
{
	struct pal_failsafe_key *want = NULL;
	size_t n = 0, cap = 2 * (ir->n_failsafe_in + ir->n_failsafe_out) + 1;
	int err = 0;

	want = calloc(cap, sizeof(*want));
	if (!want)
		return -ENOMEM;
	for (int dir = 0; dir < 2; dir++) {
		const struct pal_failsafe *v = dir ? ir->failsafe_out : ir->failsafe_in;
		size_t nv = dir ? ir->n_failsafe_out : ir->n_failsafe_in;

		for (size_t i = 0; i < nv; i++) {
			if (v[i].has_net) {
				failsafe_key(&v[i], dir, v[i].net.addr.family, &want[n++]);
			} else {
				failsafe_key(&v[i], dir, 4, &want[n++]);
				failsafe_key(&v[i], dir, 6, &want[n++]);
			}
		}
	}
	err = failsafe_sync_keys(dp, want, n, removed);
	free(want);
	return err;
}

int pal_dp_failsafe_sync(struct pal_datapath *dp, const struct pal_ir *ir)
{
	return failsafe_sync(dp, ir, NULL);
}

/* Does the failsafe set in pal_failsafe admit tuple t (a flow's original direction) in the
 * flow's admission context? The programs' check (bpf/stages.h pal_failsafe_lookup): inbound
 * (admitted at INPUT) the destination port and the source, outbound (LOCAL_OUT) the destination
 * port and address. */
static bool failsafe_admits_tuple(int fd, uint8_t ctx, const struct pal_flow_key *t)
{
	struct pal_failsafe_key k = { 0 };
	uint32_t v;

	if (t->proto != 6 && t->proto != 17) /* TCP, UDP: the only failsafes */
		return false;
	k.dir = ctx == PAL_FCTX_LOCAL_OUT ? PAL_FAILSAFE_OUT : PAL_FAILSAFE_IN;
	k.proto = t->proto;
	k.port = t->dport;
	k.family = t->family;
	memcpy(k.addr, k.dir == PAL_FAILSAFE_IN ? t->src : t->dst, 16);
	k.prefixlen = PAL_FAILSAFE_FIXED_BITS + (t->family == 4 ? 32 : 128);
	return bpf_map_lookup_elem(fd, &k, &v) == 0;
}

/* The original-direction tuple of the flow entry under key (table t: 0 pal_flows4, 1 pal_flows):
 * the key, swapped when the entry says the flow opened from the key's dst (PAL_FLOW_REVERSED,
 * set per key: a NAT tuple's entry has its own). */
static void entry_tuple(int t, const void *key, uint32_t flags, struct pal_flow_key *out)
{
	struct pal_flow_key k;

	if (t == 0)
		pal_flow_key_of4(key, &k);
	else
		memcpy(&k, key, sizeof(k));
	if (flags & PAL_FLOW_REVERSED) {
		uint8_t a[16];
		uint16_t p = k.sport;

		memcpy(a, k.src, 16);
		memcpy(k.src, k.dst, 16);
		memcpy(k.dst, a, 16);
		k.sport = k.dport;
		k.dport = p;
	}
	*out = k;
}

/* A failsafe flow's entry (its key in table t). Every entry of one flow (the packet's tuple and its
 * conntrack NAT tuples') carries the same orig and created_ns: they name the flow. */
struct fs_entry {
	struct pal_flow_key orig;
	uint64_t created_ns;
	uint8_t ctx;
	uint8_t t;
	bool keep; /* the set still admits one of the flow's tuples */
	uint8_t key[sizeof(struct pal_flow_key)];
};

static int fs_flow_cmp(const void *a, const void *b)
{
	const struct fs_entry *x = a, *y = b;
	int c = memcmp(&x->orig, &y->orig, sizeof(x->orig));

	if (c)
		return c;
	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? -1 : 1;
	return (int)x->ctx - (int)y->ctx;
}

/* Failsafe flows are never re-judged (bpf/flow.h pal_flow_classify_entry): a policy change must
 * not cut a session the failsafe ports keep open. Once the port that admitted one is no longer
 * failsafe nothing vouches for it: it becomes an ordinary flow of an older generation, which its
 * next packet re-judges against the policy in its admission context (INPUT: the host endpoint's
 * ingress; LOCAL_OUT: its egress), as any flow after a policy change. Without this an SSH session
 * through a removed failsafe port lived on under a host policy that denies it (5 days idle in
 * established), including across a restart with the new lists
 * (bpf_failsafe_flows/a_removed_failsafe_port_no_longer_vouches_for_its_flows). Run after the
 * generation moved: the rewritten value replaces the element (a program that holds the old one
 * writes into that), so a packet in flight at most passes once more. Best effort: a failure
 * leaves the flow failsafe, as before.
 *
 * What admitted a failsafe flow is its pre-NAT tuple (tc ingress and raw OUTPUT check before
 * DNAT), while the value's orig is the tuple of the hook that wrote it (INPUT, tc egress: after
 * DNAT). So a flow is stripped only when neither its orig nor any of its entries' tuples (its own
 * and its conntrack NAT tuples', entered by tc egress at once and adopted by tc ingress at the
 * client's next packet) is admitted any more. Judged by orig alone, an SSH session through a port
 * redirect (REDIRECT 22 -> 2222) lost its failsafe when any unrelated failsafe entry went, and was
 * cut at the server's next packet (tests/e2e/test_failsafe_nat_kept.sh, and _out.sh for a DNAT in
 * nat OUTPUT). */
static void failsafe_flows_sweep(struct pal_datapath *dp, uint32_t generation)
{
	int fs = MFD(dp, pal_failsafe);
	int fds[2] = { MFD(dp, pal_flows4), MFD(dp, pal_flows) };
	struct fs_entry *e = NULL;
	size_t n = 0, cap = 0;
	struct pal_flow f;

	for (int t = 0; t < 2; t++) {
		uint8_t key[sizeof(struct pal_flow_key)], next[sizeof(struct pal_flow_key)];
		void *prev = NULL;
		struct pal_flow_key tuple;

		memset(next, 0, sizeof(next));
		while (bpf_map_get_next_key(fds[t], prev, next) == 0) {
			memcpy(key, next, sizeof(key));
			prev = key;
			if (bpf_map_lookup_elem(fds[t], key, &f) || !(f.flags & PAL_FLOW_FAILSAFE) ||
			    (f.flags & PAL_FLOW_DENIED))
				continue;
			if (n == cap) {
				size_t nc = cap ? 2 * cap : 64;
				struct fs_entry *ne = realloc(e, nc * sizeof(*ne));

				if (!ne)
					goto out; /* best effort: nothing stripped */
				e = ne;
				cap = nc;
			}
			memset(&e[n], 0, sizeof(e[n]));
			e[n].orig = f.orig;
			e[n].created_ns = f.created_ns;
			e[n].ctx = f.ctx;
			e[n].t = (uint8_t)t;
			memcpy(e[n].key, key, sizeof(key));
			entry_tuple(t, key, f.flags, &tuple);
			e[n].keep = failsafe_admits_tuple(fs, f.ctx, &f.orig) ||
				    failsafe_admits_tuple(fs, f.ctx, &tuple);
			n++;
		}
	}
	/* a flow is kept when any of its entries is */
	qsort(e, n, sizeof(*e), fs_flow_cmp);
	for (size_t i = 1; i < n; i++)
		if (!fs_flow_cmp(&e[i - 1], &e[i]))
			e[i].keep = e[i - 1].keep = e[i].keep || e[i - 1].keep;
	for (size_t i = n; i-- > 1;)
		if (!fs_flow_cmp(&e[i - 1], &e[i]))
			e[i - 1].keep = e[i].keep;
	for (size_t i = 0; i < n; i++) {
		if (e[i].keep || bpf_map_lookup_elem(fds[e[i].t], e[i].key, &f) ||
		    !(f.flags & PAL_FLOW_FAILSAFE) || f.created_ns != e[i].created_ns)
			continue; /* kept, gone, or written anew since */
		/* SWEPT: a tc re-judge asks conntrack for the pre-DNAT tuple the sweep may not have
		 * seen (the flow's other entry not entered yet: PAL_FLOW_FAILSAFE_SWEPT) */
		f.flags = (f.flags & ~PAL_FLOW_FAILSAFE) | PAL_FLOW_FAILSAFE_SWEPT;
		f.generation = generation - 1; /* stale: any generation but the current */
		bpf_map_update_elem(fds[e[i].t], e[i].key, &f, BPF_EXIST);
	}
out:
	free(e);
}

int pal_dp_flow_cfg_set(struct pal_datapath *dp, const struct pal_flow_cfg *c)
{
	uint32_t key = 0;

	if (bpf_map_update_elem(MFD(dp, pal_flow_cfg), &key, c, BPF_ANY)) {
		int err = -errno;

		pal_dp_set_error(dp, "pal_flow_cfg: %s", strerror(errno));
		return err;
	}
	return 0;
}

int pal_dp_config_set(struct pal_datapath *dp, const struct pal_ir *ir, uint32_t generation)
{
	struct pal_config c = { 0 };

	if (ir && ir->endpoint_to_host == PAL_EP_TO_HOST_ACCEPT)
		c.flags |= PAL_CFG_EP_TO_HOST_ACCEPT;
	c.generation = generation;
	c.event_interval_ns = 1000000000u / (dp->event_rate ? dp->event_rate : PAL_EVENT_RATE_DEF);
	c.event_burst = PAL_EVENT_BURST_DEF;
	return pal_dp_config_store(dp, &c);
}

/* ---- endpoints ------------------------------------------------------------------------------- */

static int write_one(struct pal_datapath *dp, const struct pal_cls_input *in, uint32_t generation,
		     uint32_t *id)
{
	struct pal_cls_tables *t = NULL;
	int err = pal_cls_flatten(in, &t);

	if (err) {
		pal_dp_set_error(dp, "flattening a rule list failed: %s", strerror(-err));
		return err;
	}
	err = pal_dp_list_write(dp, t, generation, id);
	pal_cls_tables_free(t);
	return err;
}

int pal_dp_endpoint_write(struct pal_datapath *dp, const struct pal_ir *ir,
			  const struct pal_ir_endpoint *ep, uint32_t generation,
			  struct pal_iface *v)
{
	uint32_t written[PAL_SLOT_COUNT];
	size_t n_written = 0;
	int err = 0;

	memset(v, 0, sizeof(*v));
	v->generation = generation;
	v->flags = ep->kind == PAL_EP_WORKLOAD ? PAL_IF_WORKLOAD : PAL_IF_HOST;
	v->endpoint_id = (uint32_t)(ep - ir->endpoints);
	for (int s = 0; s < PAL_SLOT_COUNT; s++) {
		struct pal_cls_input in = { .ir = ir, .end = PAL_CLS_END_NONE };
		bool host = ep->kind == PAL_EP_HOST;
		uint32_t id = 0;

		switch (s) {
		case PAL_SLOT_UNTRACKED_IN:
		case PAL_SLOT_UNTRACKED_OUT:
			in.dir = s == PAL_SLOT_UNTRACKED_IN ? PAL_DIR_INGRESS : PAL_DIR_EGRESS;
			in.tiers = &ep->untracked[in.dir];
			break;
		case PAL_SLOT_PREDNAT_IN:
			in.dir = PAL_DIR_INGRESS;
			in.tiers = &ep->prednat[PAL_DIR_INGRESS];
			break;
		case PAL_SLOT_FORWARD_IN:
		case PAL_SLOT_FORWARD_OUT:
			in.dir = s == PAL_SLOT_FORWARD_IN ? PAL_DIR_INGRESS : PAL_DIR_EGRESS;
			in.tiers = &ep->forward[in.dir];
			break;
		default: /* normal / workload: tiers, profiles, default deny; always present */
			in.dir = s == PAL_SLOT_NORMAL_IN ? PAL_DIR_INGRESS : PAL_DIR_EGRESS;
			in.tiers = &ep->normal[in.dir];
			in.profiles = ep->profiles;
			in.n_profiles = ep->n_profiles;
			in.end = PAL_CLS_END_DENY;
			break;
		}
		/* Stateless and forward lists exist only when they have tiers (no forward list =
		 * allow, no untracked/preDNAT list = pass on); workloads have only the normal pair. */
		if (in.end == PAL_CLS_END_NONE && (!host || !in.tiers->n_tiers))
			continue;
		err = write_one(dp, &in, generation, &id);
		if (err)
			goto fail;
		v->lists[s] = id;
		written[n_written++] = id;
	}
	return 0;
fail:
	pal_dp_lists_delete(dp, written, n_written);
	memset(v->lists, 0, sizeof(v->lists));
	return err;
}

static bool bound(const struct pal_dp_binding *b, size_t n, uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (b[i].ifindex == ifindex && b[i].ep)
			return true;
	return false;
}

int pal_dp_list_ids_add(struct pal_dp_list_ids *ids, const struct pal_iface *v)
{
	int err = vec_grow((void **)&ids->v, &ids->cap, ids->n + PAL_SLOT_COUNT, sizeof(*ids->v));

	if (!err)
		ids->n += pal_dp_iface_lists(v, ids->v + ids->n);
	return err;
}

/* Marks the bindings that will get no slot (b[i].err = -ENOSPC): interfaces without a slot of
 * their own, in order, once the free slots are used up. */
static void mark_over_capacity(struct pal_datapath *dp, struct pal_dp_binding *b, size_t n)
{
	uint32_t free_slots = pal_dp_slots_available(dp);

	for (size_t i = 0; i < n; i++) {
		struct pal_iface cur;
		bool own = false;

		b[i].err = 0;
		if (!b[i].ep)
			continue;
		own = pal_dp_iface_read(dp, b[i].ifindex, &cur) == 0 &&
		      !(cur.flags & PAL_IF_UNPROGRAMMED);
		if (own)
			continue;
		if (free_slots)
			free_slots--;
		else
			b[i].err = -ENOSPC;
	}
}

/* Binds an endpoint that gets no slot: it denies everything (or keeps its last good value). */
static int bind_unprogrammed(struct pal_datapath *dp, const struct pal_dp_binding *b)
{
	bool kept;

	return pal_dp_iface_unprogrammed(dp, b->ifindex, b->ep->kind == PAL_EP_HOST, &kept);
}

int pal_dp_apply(struct pal_datapath *dp, const struct pal_ir *ir, struct pal_dp_binding *b,
		 size_t n, uint32_t generation)
{
	struct pal_dp_list_ids old = { 0 }, fresh = { 0 };
	struct pal_src_txn src = { 0 };
	size_t n_flipped = 0;
	bool fs_removed = false; /* a failsafe entry went: failsafe_flows_sweep */
	struct pal_failsafe_key *fs_old = NULL; /* the failsafe set before, for a failed apply */
	size_t n_fs_old = 0;
	bool fs_saved = false; /* fs_old holds the set (NULL when it was empty) */
	struct pal_iface *vals = NULL;
	int fd = MFD(dp, pal_ifaces);
	uint32_t key, next, *prev = NULL;
	uint32_t *stale = NULL;
	size_t n_stale = 0, cap_stale = 0;
	int err;

	/* the last apply's old lists, if the agent did not sweep them yet: their room first */
	pal_dp_lists_sweep(dp);
	/* 1. every endpoint's new lists, beside the old ones; a failure here changes nothing */
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	mark_over_capacity(dp, b, n);
	for (size_t i = 0; i < n; i++) {
		if (!b[i].ep || b[i].err)
			continue;
		err = pal_dp_endpoint_write(dp, ir, b[i].ep, generation, &vals[i]);
		if (!err && (err = pal_dp_list_ids_add(&fresh, &vals[i])))
			pal_dp_iface_lists_delete(dp, &vals[i]); /* written, not recorded in fresh */
		if (err) {
			pal_dp_lists_delete(dp, fresh.v, fresh.n);
			goto out_free;
		}
	}
	err = failsafe_snapshot(dp, &fs_old, &n_fs_old);
	fs_saved = !err;
	if (!err)
		err = failsafe_sync(dp, ir, &fs_removed);
	/* the workloads' new source prefixes beside the old ones, before any flip (srcaddrs.h) */
	if (!err)
		err = pal_dp_src_begin(dp, &src);
	for (size_t i = 0; i < n && !err; i++)
		err = pal_dp_src_allow(dp, &src, b[i].ifindex, b[i].ep);
	if (err) {
		pal_dp_src_undo(dp, &src, NULL, 0);
		pal_dp_lists_delete(dp, fresh.v, fresh.n);
		goto out_failsafe;
	}
	/* 2. the flips: one atomic update per interface */
	for (size_t i = 0; i < n; i++) {
		struct pal_iface o;
		bool had = false;

		if (!b[i].ep)
			continue;
		if (b[i].err) {
			err = bind_unprogrammed(dp, &b[i]);
			if (err)
				goto out;
			continue;
		}
		err = pal_dp_iface_flip(dp, b[i].ifindex, &vals[i], &o, &had);
		if (err)
			goto out; /* earlier interfaces flipped; this one keeps its old lists */
		n_flipped = i + 1;
		if (had)
			pal_dp_list_ids_retire(dp, &old, &o);
	}
	/* 3. interfaces no longer bound */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bound(b, n, key))
			continue;
		if (vec_grow((void **)&stale, &cap_stale, n_stale + 1, sizeof(*stale))) {
			err = -ENOMEM;
			goto out;
		}
		stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++) {
		struct pal_iface o;
		bool had = false;

		if (pal_dp_iface_remove(dp, stale[i], &o, &had) == 0 && had)
			pal_dp_list_ids_retire(dp, &old, &o);
	}
	/* the source prefixes the new endpoints no longer allow, and those of interfaces that are
	 * no workloads any more */
	err = pal_dp_src_trim(dp, b, n, true);
out:
	/* The generation moves only now, after the flips (bpf/flow_judge.h): a packet that read the
	 * new generation while its interface still had the old lists would be judged by those and
	 * its flow stamped with the new generation, never judged again, so a deny the new policy
	 * adds would not cut it. Also after a partial failure, so that the flows of the interfaces
	 * that did flip are judged again. */
	if (!err || n_flipped > 0) {
		int cerr = pal_dp_config_set(dp, ir, generation);

		if (!err)
			err = cerr;
		/* the first apply since open sweeps whatever it removed: the set it finds may be one a
		 * dead agent wrote without its sweep (killed between failsafe_sync and the flips, or
		 * before the generation moved), which no later apply would notice
		 * (bpf_failsafe_flows/an_agent_killed_before_its_sweep_leaves_no_failsafe_flow_behind) */
		if (!cerr && (fs_removed || !dp->fs_swept)) {
			failsafe_flows_sweep(dp, generation);
			dp->fs_swept = true;
		}
		fs_removed = false; /* the new failsafe set stays with the flipped lists */
	}
	if (err && n_flipped < n) {
		/* interfaces that kept their old lists lose what was added for them, their new
		 * lists included (never reachable: no grace period); the flipped ones are trimmed
		 * to their new prefixes */
		pal_dp_src_undo(dp, &src, b + n_flipped, n - n_flipped);
		pal_dp_src_trim(dp, b, n_flipped, false);
		for (size_t i = n_flipped; i < n; i++)
			pal_dp_iface_lists_delete(dp, &vals[i]);
	}
	/* 4. after a grace period no packet can be using the old lists: pal_dp_lists_sweep */
	if (old.n)
		defer_lists(dp, old.v, old.n);
out_failsafe:
	/* Nothing flipped (the generation did not move): the apply failed, the endpoints keep their
	 * last good lists, and so does the failsafe set, which failsafe_sync changed before the
	 * flips (a failsafe entry must be in place before lists that rely on it). Before, the new
	 * set stayed: a port the failed configuration removed from failsafe was no longer
	 * failsafe under the old lists (an SSH port the new policy was to allow instead: locked
	 * out by an apply that failed), and its flows kept their failsafe mark for good, since the
	 * retry, finding the set already changed, removed nothing and swept nothing
	 * (bpf_failsafe_flows/a_failed_apply_keeps_the_failsafe_set_and_its_flows_in_step). The
	 * restore removes what the failed apply added; a flow admitted through such an entry
	 * in the meantime is swept against the current generation, as after any removal. */
	if (err && n_flipped == 0 && fs_saved) {
		bool fs_gone = false;

		if (failsafe_sync_keys(dp, fs_old, n_fs_old, &fs_gone))
			fs_gone = true; /* restored in part: sweep against what is there */
		if (fs_removed || fs_gone)
			failsafe_flows_sweep(dp, pal_dp_generation(dp));
	}
out_free:
	free(fs_old);
	pal_dp_src_end(&src);
	free(vals);
	free(fresh.v);
	free(old.v);
	free(stale);
	return err;
}

uint32_t pal_dp_generation(struct pal_datapath *dp)
{
	struct pal_config c;
	uint32_t key = 0;

	if (bpf_map_lookup_elem(MFD(dp, pal_config), &key, &c))
		return 0;
	return c.generation;
}
