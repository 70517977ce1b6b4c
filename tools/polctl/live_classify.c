/* The datapath's classifier, run in userspace over the pinned maps: the same lookups, in the same
 * order, as bpf/classify.h's pal_classify (which follows flatten.h's "PER-PACKET ALGORITHM"), so
 * that `polctl trace` answers from the tables the programs are using right now. Map reads are
 * plain bpf(2) lookups (an LPM_TRIE lookup from userspace is a longest-prefix match, as in BPF);
 * nothing is written. Keep it in step with bpf/classify.h. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"

struct cls_state {
	const struct polctl_live *lv;
	struct pal_class cls[PAL_FIELD_COUNT];
	uint32_t rank[PAL_FIELD_COUNT][PAL_SUMMARY_WORDS];
	uint64_t cand[PAL_SUMMARY_WORDS];
	uint32_t n_summary;
	int err;
};

static uint64_t word_at(struct cls_state *s, uint32_t idx)
{
	uint64_t w = 0;

	if (bpf_map_lookup_elem(s->lv->fd[LM_WORDS], &idx, &w))
		s->err = -errno;
	return w;
}

/* word(f, c_f, j): an override word found by rank in the class's override mask, else the
 * field's base word. */
static uint64_t field_word(struct cls_state *s, uint32_t f, uint32_t j)
{
	const struct pal_class *c = &s->cls[f];
	uint32_t k = (j >> 6) & (PAL_SUMMARY_WORDS - 1), b = j & 63;
	uint64_t mask = word_at(s, c->ovr_mask + k);

	if ((mask >> b) & 1)
		return word_at(s, c->ovr_base + s->rank[f][k] +
					  (uint32_t)__builtin_popcountll(mask & ((1ULL << b) - 1)));
	return word_at(s, c->base + j);
}

static void key16(struct pal_class_key *k, bool present, uint16_t v)
{
	if (present) {
		k->sub = 1;
		k->data[0] = (uint8_t)(v >> 8);
		k->data[1] = (uint8_t)(v & 0xff);
	}
	k->prefixlen = PAL_CLASS_FIXED_BITS + 16;
}

static int lookup_classes(struct cls_state *s, uint32_t list_id, const struct live_pkt *p)
{
	for (uint32_t f = 0; f < PAL_FIELD_COUNT; f++) {
		struct pal_class_key key;

		memset(&key, 0, sizeof(key));
		key.list_id = list_id;
		key.field = (uint8_t)f;
		switch (f) {
		case PAL_FIELD_SRC_ADDR:
		case PAL_FIELD_DST_ADDR:
			key.sub = p->family;
			memcpy(key.data, f == PAL_FIELD_SRC_ADDR ? p->src : p->dst, 16);
			key.prefixlen = PAL_CLASS_FIXED_BITS + (p->family == 4 ? 32 : 128);
			break;
		case PAL_FIELD_PROTO:
			key.sub = p->family;
			key.data[0] = p->proto;
			key.prefixlen = PAL_CLASS_FIXED_BITS + 8;
			break;
		case PAL_FIELD_SPORT:
			key16(&key, p->has_ports, p->sport);
			break;
		case PAL_FIELD_DPORT:
			key16(&key, p->has_ports, p->dport);
			break;
		default:
			key16(&key, p->is_icmp, (uint16_t)(p->icmp_type << 8 | p->icmp_code));
			break;
		}
		if (bpf_map_lookup_elem(s->lv->fd[LM_CLASSES], &key, &s->cls[f]))
			return -errno;
	}
	return 0;
}

int live_classify(const struct polctl_live *lv, uint32_t list_id, const struct live_pkt *p,
		  struct live_cls *out)
{
	struct cls_state s = { .lv = lv };
	uint64_t anch[PAL_SUMMARY_WORDS];
	struct pal_list l;
	uint32_t cursor = 0, steps = 0;

	memset(out, 0, sizeof(*out));
	out->status = LIVE_CLS_INTERNAL;
	out->e.rule_id = PAL_RULE_ID_NONE;
	if (bpf_map_lookup_elem(lv->fd[LM_LISTS], &list_id, &l) || l.n_summary > PAL_SUMMARY_WORDS)
		return out->status;
	s.n_summary = l.n_summary;
	if (lookup_classes(&s, list_id, p))
		return out->status;

	/* candidate words: AND of the summaries, restricted by the anchors; override ranks */
	for (uint32_t k = 0; k < s.n_summary; k++) {
		s.cand[k] = ~0ULL;
		anch[k] = word_at(&s, l.always + k);
	}
	for (uint32_t f = 0; f < PAL_FIELD_COUNT; f++) {
		uint32_t r = 0;

		for (uint32_t k = 0; k < s.n_summary; k++) {
			s.cand[k] &= word_at(&s, s.cls[f].summary + k);
			anch[k] |= word_at(&s, s.cls[f].anchor + k);
			s.rank[f][k] = r;
			r += (uint32_t)__builtin_popcountll(word_at(&s, s.cls[f].ovr_mask + k));
		}
	}
	for (uint32_t k = 0; k < s.n_summary; k++)
		s.cand[k] &= anch[k];
	if (s.err)
		return out->status;

	/* the walk: candidate words in order from the cursor, entries in order within a word */
	for (;;) {
		uint32_t start = cursor >> 6, j = 0;
		bool found = false;
		uint64_t w = ~0ULL;

		for (uint32_t k = start >> 6; k < s.n_summary; k++) {
			uint64_t bits = s.cand[k];

			if (k == start >> 6)
				bits &= ~0ULL << (start & 63);
			if (bits) {
				j = k * 64 + (uint32_t)__builtin_ctzll(bits);
				found = true;
				break;
			}
		}
		if (!found) {
			out->status = LIVE_CLS_NOMATCH;
			return out->status;
		}
		if (++steps > PAL_MAX_CLASSIFY_STEPS) {
			out->status = LIVE_CLS_OVERFLOW;
			return out->status;
		}
		for (uint32_t f = 0; f < PAL_FIELD_COUNT; f++)
			w &= field_word(&s, f, j);
		if (s.err)
			return out->status;
		if (j == cursor >> 6)
			w &= ~0ULL << (cursor & 63);
		bool moved = false; /* a Log/Pass/Skip jumped to a later word */

		while (w) {
			uint32_t i = j * 64 + (uint32_t)__builtin_ctzll(w), idx = l.entry_base + i;
			struct pal_entry e;

			if (++steps > PAL_MAX_CLASSIFY_STEPS) {
				out->status = LIVE_CLS_OVERFLOW;
				return out->status;
			}
			if (i >= l.n_entries || bpf_map_lookup_elem(lv->fd[LM_ENTRIES], &idx, &e))
				return out->status;
			if (e.action == PAL_ACT_ALLOW || e.action == PAL_ACT_DENY) {
				out->status = LIVE_CLS_VERDICT;
				out->entry = i;
				out->e = e;
				return out->status;
			}
			if (e.action == PAL_ACT_LOG && out->n_logged < PAL_MAX_LOGS)
				out->logged[out->n_logged++] = e.rule_id;
			if (e.next <= i) /* the tables promise next > i */
				return out->status;
			cursor = e.next;
			if (cursor >> 6 != j) {
				moved = true;
				break;
			}
			w &= ~0ULL << (cursor & 63);
		}
		if (!moved)
			cursor = (j + 1) * 64;
	}
}
