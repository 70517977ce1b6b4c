/* The per-packet classifier in userspace: exactly the algorithm of flatten.h's PER-PACKET
 * ALGORITHM, over the flattener's tables. The BPF programs implement the same steps with map
 * lookups (LPM tries for the prefixes, arrays/hashes for the rest); this file is the model they
 * are tested against. Lookups here search the sorted tables the way an LPM trie answers: the
 * longest prefix that contains the key. */
#include <string.h>
#include "flatten.h"

void pal_cls_keys_from_packet(const struct pal_packet *pkt, const struct pal_addr *dst,
			      uint16_t dport, struct pal_cls_keys *k)
{
	bool ports = pkt->protocol == PAL_PROTO_TCP || pkt->protocol == PAL_PROTO_UDP ||
		     pkt->protocol == PAL_PROTO_SCTP;
	bool icmp = pkt->protocol == PAL_PROTO_ICMP || pkt->protocol == PAL_PROTO_ICMPV6;

	memset(k, 0, sizeof(*k));
	k->src = pkt->src;
	k->dst = *dst;
	k->protocol = pkt->protocol;
	k->sport = ports ? pkt->sport : PAL_CLS_KEY_NONE;
	k->dport = ports ? dport : PAL_CLS_KEY_NONE;
	k->icmp = icmp ? (uint32_t)pkt->icmp_type << 8 | pkt->icmp_code : PAL_CLS_KEY_NONE;
}

/* addr with the bits beyond len cleared. */
static void mask_addr(const struct pal_addr *a, uint8_t len, struct pal_addr *out)
{
	*out = *a;
	for (int i = 0; i < 16; i++) {
		int keep = (int)len - i * 8;

		if (keep <= 0)
			out->bytes[i] = 0;
		else if (keep < 8)
			out->bytes[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static uint32_t addr_lookup(const struct pal_cls_prefix *v, size_t n, const struct pal_addr *a)
{
	int max = a->family == PAL_AF_INET4 ? 32 : 128;

	for (int len = max; len >= 0; len--) {
		struct pal_cidr key = { .prefix_len = (uint8_t)len };
		size_t lo = 0, hi = n;

		mask_addr(a, (uint8_t)len, &key.addr);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = pal_cidr_cmp(&v[mid].cidr, &key);

			if (c == 0)
				return v[mid].cls;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0; /* unreachable: both families' /0 are always present */
}

static uint32_t key_lookup(const struct pal_cls_keytable *kt, uint32_t key)
{
	if (key == PAL_CLS_KEY_NONE)
		return kt->none_class;
	for (int len = 16; len >= 0; len--) {
		uint16_t v = (uint16_t)(len ? key & (0xffffu << (16 - len)) : 0);
		size_t lo = 0, hi = kt->n_prefixes;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct pal_cls_kprefix *p = &kt->prefixes[mid];

			if (p->value == v && p->len == len)
				return p->cls;
			if (p->value < v || (p->value == v && p->len < len))
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0; /* unreachable: the prefixes cover every key */
}

uint32_t pal_cls_class_of(const struct pal_cls_tables *t, enum pal_cls_field f,
			  const struct pal_cls_keys *k)
{
	switch (f) {
	case PAL_CLS_F_SRC:
		return addr_lookup(t->addr[0], t->n_addr[0], &k->src);
	case PAL_CLS_F_DST:
		return addr_lookup(t->addr[1], t->n_addr[1], &k->dst);
	case PAL_CLS_F_PROTO:
		return t->proto_class[k->src.family == PAL_AF_INET4 ? 0 : 1][k->protocol];
	case PAL_CLS_F_SPORT:
		return key_lookup(&t->sport, k->sport);
	case PAL_CLS_F_DPORT:
		return key_lookup(&t->dport, k->dport);
	case PAL_CLS_F_ICMP:
		return key_lookup(&t->icmp, k->icmp);
	default:
		return 0;
	}
}

uint64_t pal_cls_word(const struct pal_cls_tables *t, enum pal_cls_field f, uint32_t cls,
		      uint32_t j)
{
	const struct pal_cls_bitmaps *bm = &t->bm[f];
	uint32_t lo = bm->ovr_start[cls], hi = bm->ovr_start[cls + 1];

	/* The BPF side: a hash lookup (list, field, class, j), falling back to base[j]. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bm->ovr_word[mid] == j)
			return bm->ovr_bits[mid];
		if (bm->ovr_word[mid] < j)
			lo = mid + 1;
		else
			hi = mid;
	}
	return bm->base[j];
}

void pal_cls_classify(const struct pal_cls_tables *t, const struct pal_cls_keys *k,
		      struct pal_cls_result *res)
{
	uint32_t cls[PAL_CLS_N_FIELDS];
	uint64_t cand[PAL_CLS_MAX_SUMMARY];
	uint32_t cursor = 0;

	memset(res, 0, sizeof(*res));
	res->entry = PAL_CLS_NO_MATCH;
	/* 1. one class per field */
	for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
		cls[f] = pal_cls_class_of(t, (enum pal_cls_field)f, k);
	/* 2. candidate words: AND of the summaries, within the words anchored entries can match */
	for (uint32_t s = 0; s < t->n_summary; s++) {
		uint64_t anchored = t->always[s];

		cand[s] = ~0ull;
		for (int f = 0; f < PAL_CLS_N_FIELDS; f++) {
			cand[s] &= t->bm[f].summary[(size_t)cls[f] * t->n_summary + s];
			anchored |= t->bm[f].anchor[(size_t)cls[f] * t->n_summary + s];
		}
		cand[s] &= anchored;
	}
	/* 3. candidate words in ascending order, entries in ascending order within a word */
	for (uint32_t s = 0; s < t->n_summary; s++) {
		while (cand[s]) {
			uint32_t j = s * 64 + (uint32_t)__builtin_ctzll(cand[s]);
			uint64_t w = ~0ull;

			cand[s] &= cand[s] - 1;
			if (j < cursor / 64)
				continue;
			if (++res->steps > PAL_CLS_MAX_STEPS) {
				res->overflow = true;
				return;
			}
			for (int f = 0; f < PAL_CLS_N_FIELDS; f++)
				w &= pal_cls_word(t, (enum pal_cls_field)f, cls[f], j);
			if (j == cursor / 64)
				w &= ~0ull << (cursor % 64);
			while (w) {
				uint32_t i = j * 64 + (uint32_t)__builtin_ctzll(w);
				const struct pal_cls_entry *e = &t->entries[i];

				if (++res->steps > PAL_CLS_MAX_STEPS) {
					res->overflow = true;
					return;
				}
				if (e->action == PAL_CLS_ALLOW || e->action == PAL_CLS_DENY) {
					res->entry = i;
					return;
				}
				if (e->action == PAL_CLS_LOG && res->n_logged < PAL_CLS_MAX_LOGS)
					res->logged[res->n_logged++] = i;
				cursor = e->next;
				if (cursor / 64 != j)
					break;
				w &= ~0ull << (cursor % 64);
			}
		}
	}
	/* 4. no verdict */
}

size_t pal_cls_range_to_prefixes(uint16_t first, uint16_t last,
				 void (*fn)(uint16_t value, uint8_t len, void *arg), void *arg)
{
	uint32_t lo = first, hi = last;
	size_t n = 0;

	/* Greedy: at lo, take the largest aligned block that starts there and fits in [lo, hi]. */
	while (lo <= hi) {
		uint32_t size = 1;
		uint8_t len = 16;

		while (len > 0 && (lo & (size * 2 - 1)) == 0 && lo + size * 2 - 1 <= hi) {
			size *= 2;
			len--;
		}
		fn((uint16_t)lo, len, arg);
		n++;
		lo += size;
	}
	return n;
}
