/* Test harness for the BPF programs (bpft.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpft.h"
#include "small_list.h"
#include "stats.h"
#include "test_compiler_util.h"

const struct bt_pkt_opts bt_ack = { .tcp_flags = BT_TCP_ACK };

const char *const bt_if_names[BT_N_IFS] = { "eth0", "eth1", "cali0", "cali1" };

static void sh(const char *cmd)
{
	int rc = system(cmd);

	cr_assert_eq(rc, 0, "`%s` failed (%d)", cmd, rc);
}

uint32_t bt_ct_opts_size;
uint32_t bt_max_endpoints;
uint32_t bt_event_rate;

struct pal_dp_opts bt_dp_opts(const char *pin_dir)
{
	return (struct pal_dp_opts){ .pin_dir = pin_dir,
				     .sizes = { .max_words = 1u << 22, .max_entries = 1u << 18,
						.max_classes = 1u << 18, .max_flows = 4096,
						.max_rule_ids = 1u << 16,
						.max_endpoints = bt_max_endpoints,
						.event_rate = bt_event_rate },
				     .ct_opts_size = bt_ct_opts_size };
}

void bt_setup(struct bpft *t)
{
	char cmd[256], err[512] = "";
	struct pal_dp_opts opts;
	bool adopted;
	int rc;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < BT_N_IFS; i++)
		t->sf_out_deny[i] = t->sf_out_allow[i] = t->sf_out_failsafe[i] = -1;
	/* Criterion runs each test in its own process: the namespace dies with it. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s (run as root)",
		     strerror(errno));
	sh("ip link set lo up");
	for (int i = 0; i < BT_N_IFS; i++) {
		/* veth pairs (this kernel has no dummy driver) */
		snprintf(cmd, sizeof(cmd),
			 "ip link add %s type veth peer name p-%s && ip link set %s up && "
			 "ip link set p-%s up",
			 bt_if_names[i], bt_if_names[i], bt_if_names[i], bt_if_names[i]);
		sh(cmd);
		t->ifindex[i] = (int)if_nametoindex(bt_if_names[i]);
		cr_assert_gt(t->ifindex[i], 0);
	}
	pal_dp_unpin_orphans("paltest-"); /* a crashed test (a sanitizer's abort) cleans up nothing */
	snprintf(t->pin_dir, sizeof(t->pin_dir), "/sys/fs/bpf/paltest-%d", (int)getpid());
	pal_dp_unpin_all(t->pin_dir);
	opts = bt_dp_opts(t->pin_dir);
	rc = pal_dp_open(&opts, &t->dp, &adopted, err, sizeof(err));
	if (rc)
		pal_dp_unpin_all(t->pin_dir); /* a failed setup runs no teardown */
	cr_assert_eq(rc, 0, "pal_dp_open: %s", err);
	cr_assert_not(adopted);
}

void bt_teardown(struct bpft *t)
{
	for (int i = 0; i < BT_N_IFS; i++) {
		if (t->sf_out_deny[i] >= 0)
			close(t->sf_out_deny[i]);
		if (t->sf_out_allow[i] >= 0)
			close(t->sf_out_allow[i]);
		if (t->sf_out_failsafe[i] >= 0)
			close(t->sf_out_failsafe[i]);
	}
	pal_dp_close(t->dp);
	pal_dp_unpin_all(t->pin_dir);
}

int bt_ifindex(const struct bpft *t, const char *name)
{
	for (int i = 0; i < BT_N_IFS; i++)
		if (name && !strcmp(name, bt_if_names[i]))
			return t->ifindex[i];
	return 0;
}

static int if_slot(const struct bpft *t, int ifindex)
{
	for (int i = 0; i < BT_N_IFS; i++)
		if (t->ifindex[i] == ifindex)
			return i;
	return -1;
}

/* Loads the raw OUTPUT filters of interface i once (bt_apply: host endpoint interfaces). */
static void load_sf_out(struct bpft *t, int i)
{
	char dpath[PATH_MAX], fpath[PATH_MAX], apath[PATH_MAX];
	int rc;

	if (t->sf_out_deny[i] >= 0)
		return;
	rc = pal_dp_load_sf_out(t->dp, (uint32_t)t->ifindex[i], dpath, fpath, apath);
	cr_assert_eq(rc, 0, "load sf_out: %s", pal_dp_error(t->dp));
	t->sf_out_deny[i] = bpf_obj_get(dpath);
	t->sf_out_failsafe[i] = bpf_obj_get(fpath);
	t->sf_out_allow[i] = bpf_obj_get(apath);
	cr_assert(t->sf_out_deny[i] >= 0 && t->sf_out_allow[i] >= 0 && t->sf_out_failsafe[i] >= 0);
}

/* pal_dp_apply with every endpoint of ir bound to the interface of its name; with_sf_out also
 * loads the raw OUTPUT filters of host endpoint interfaces first. */
static int apply_bound(struct bpft *t, const struct pal_ir *ir, uint32_t generation,
		       bool with_sf_out)
{
	struct pal_dp_binding b[BT_N_IFS];
	size_t n = 0;

	for (int i = 0; i < BT_N_IFS; i++) {
		const struct pal_ir_endpoint *ep = pal_ir_endpoint_for_iface(ir, bt_if_names[i]);

		if (!ep)
			continue;
		b[n].ifindex = (uint32_t)t->ifindex[i];
		b[n].ep = ep;
		n++;
		if (with_sf_out && ep->kind == PAL_EP_HOST)
			load_sf_out(t, i);
	}
	return pal_dp_apply(t->dp, ir, b, n, generation);
}

void bt_apply(struct bpft *t, const struct pal_ir *ir, uint32_t generation)
{
	int rc = apply_bound(t, ir, generation, true);

	cr_assert_eq(rc, 0, "pal_dp_apply: %s (%s)", strerror(-rc), pal_dp_error(t->dp));
}

int bt_apply_rc(struct bpft *t, const struct pal_ir *ir, uint32_t generation)
{
	return apply_bound(t, ir, generation, false);
}

/* ---- packets ------------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

size_t bt_build(uint8_t *buf, size_t cap, const struct pal_packet *pkt, const struct bt_pkt_opts *o)
{
	static const struct bt_pkt_opts none;
	bool v6 = pkt->src.family == PAL_AF_INET6;
	size_t off = 0, l3, l4, end;
	uint8_t proto = pkt->protocol;
	uint8_t *nhp;

	if (!o)
		o = &none;
	cr_assert_geq(cap, 256);
	memset(buf, 0, cap);
	/* Ethernet */
	memcpy(buf, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	off = 12;
	if (o->vlan) {
		put16(buf + off, 0x8100);
		put16(buf + off + 2, 100);
		off += 4;
	}
	put16(buf + off, v6 ? 0x86dd : 0x0800);
	off += 2;
	l3 = off;
	if (!v6) {
		size_t ihl = 20 + (size_t)o->ip_opts;

		buf[l3] = 0x40 | (uint8_t)(ihl / 4);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = proto;
		put16(buf + l3 + 4, o->ip_id ? o->ip_id : 0x1234);
		if (o->frag == 1)
			put16(buf + l3 + 6, 0x2000);
		else if (o->frag == 2)
			put16(buf + l3 + 6, 185);
		memcpy(buf + l3 + 12, pkt->src.bytes, 4);
		memcpy(buf + l3 + 16, pkt->dst.bytes, 4);
		for (int i = 0; i < o->ip_opts; i++)
			buf[l3 + 20 + i] = 1; /* NOP options */
		l4 = l3 + ihl;
	} else {
		bool nd = proto == PAL_PROTO_ICMPV6 && pkt->icmp_type >= 133 && pkt->icmp_type <= 137;

		buf[l3] = 0x60;
		buf[l3 + 7] = o->hop_limit ? o->hop_limit : nd ? 255 : 64; /* as ND senders do */
		memcpy(buf + l3 + 8, pkt->src.bytes, 16);
		memcpy(buf + l3 + 24, pkt->dst.bytes, 16);
		nhp = &buf[l3 + 6];
		l4 = l3 + 40;
		for (int i = 0; i < o->ext6; i++) { /* destination options, PadN */
			*nhp = 60;
			nhp = &buf[l4];
			buf[l4 + 1] = 0;
			buf[l4 + 2] = 1;
			buf[l4 + 3] = 4;
			l4 += 8;
		}
		if (o->ext6_frag || o->frag) {
			*nhp = 44;
			nhp = &buf[l4];
			if (o->frag == 1)
				put16(buf + l4 + 2, 1);
			else if (o->frag == 2)
				put16(buf + l4 + 2, 185 << 3);
			put16(buf + l4 + 6, o->ip_id ? o->ip_id : 0x42);
			l4 += 8;
		}
		*nhp = proto;
	}
	if (o->frag == 2) {
		end = l4 + 16; /* payload only */
	} else {
		switch (proto) {
		case PAL_PROTO_TCP:
			put16(buf + l4, pkt->sport);
			put16(buf + l4 + 2, pkt->dport);
			put16(buf + l4 + 4, o->tcp_seq >> 16);
			put16(buf + l4 + 6, o->tcp_seq & 0xffff);
			buf[l4 + 12] = (uint8_t)((5 + o->tcp_opts / 4) << 4);
			buf[l4 + 13] = o->tcp_flags ? o->tcp_flags : BT_TCP_SYN;
			{
				uint32_t ack = o->tcp_ack;

				if (!ack && (buf[l4 + 13] & (BT_TCP_SYN | BT_TCP_ACK)) ==
						    (BT_TCP_SYN | BT_TCP_ACK))
					ack = 1;
				put16(buf + l4 + 8, ack >> 16);
				put16(buf + l4 + 10, ack & 0xffff);
			}
			end = l4 + 20;
			if (o->tcp_opts) {
				memset(buf + end, 1, o->tcp_opts / 4 * 4);
				end += o->tcp_opts / 4 * 4;
			}
			cr_assert_leq(end + o->tcp_data, cap);
			memset(buf + end, 0, o->tcp_data);
			end += o->tcp_data;
			break;
		case PAL_PROTO_UDP:
		case PAL_PROTO_UDPLITE:
			put16(buf + l4, pkt->sport);
			put16(buf + l4 + 2, pkt->dport);
			put16(buf + l4 + 4, 8);
			end = l4 + 8;
			break;
		case PAL_PROTO_SCTP:
			put16(buf + l4, pkt->sport);
			put16(buf + l4 + 2, pkt->dport);
			end = l4 + 12;
			break;
		case PAL_PROTO_ICMP:
		case PAL_PROTO_ICMPV6:
			buf[l4] = pkt->icmp_type;
			buf[l4 + 1] = pkt->icmp_code;
			put16(buf + l4 + 4, o->icmp_id);
			end = l4 + 8;
			break;
		default:
			end = l4 + 8;
			break;
		}
	}
	if (!v6)
		put16(buf + l3 + 2, (uint16_t)(end - l3));
	else
		put16(buf + l3 + 4, (uint16_t)(end - l3 - 40));
	return end;
}

/* ---- hooks --------------------------------------------------------------------------------- */

int bt_run_xdp(struct bpft *t, int ifindex, const uint8_t *pkt, size_t len,
	       struct pal_xdp_meta *meta)
{
	uint8_t out[4096];
	struct xdp_md ctx = { .data = 0, .data_end = (uint32_t)len,
			      .ingress_ifindex = (uint32_t)ifindex };
	struct xdp_md ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		    .repeat = 1);
	int rc = bpf_prog_test_run_opts(pal_dp_prog_fd(t->dp, PAL_PROG_XDP_HEP_INGRESS), &o);

	if (rc)
		return -1;
	if (meta) {
		memset(meta, 0, sizeof(*meta));
		if (ctx_out.data == sizeof(*meta))
			memcpy(meta, out, sizeof(*meta));
	}
	return (int)o.retval;
}

int bt_run_tc(struct bpft *t, enum pal_dp_prog prog, int ifindex, int ingress_ifindex,
	      uint32_t mark_in, const uint8_t *pkt, size_t len, uint32_t *mark_out)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex,
				 .ingress_ifindex = (uint32_t)ingress_ifindex, .mark = mark_in };
	struct __sk_buff ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	int rc = bpf_prog_test_run_opts(pal_dp_prog_fd(t->dp, prog), &o);

	if (rc)
		return -1;
	if (mark_out)
		*mark_out = ctx_out.mark;
	return (int)o.retval;
}

int bt_run_sf(int prog_fd, int ingress_ifindex, uint32_t mark, const uint8_t *pkt, size_t len)
{
	struct __sk_buff ctx = { .ingress_ifindex = (uint32_t)ingress_ifindex, .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int rc = bpf_prog_test_run_opts(prog_fd, &o);

	if (rc)
		return -1;
	return (int)o.retval;
}

/* ---- the path ------------------------------------------------------------------------------ */

#define XDP_DROP_RC 1
#define TC_SHOT_RC 2

/* A packet that hook dropped. */
static struct bt_result dropped_at(int hook)
{
	return (struct bt_result){ .allow = false, .dropped_at = hook };
}

struct bt_result bt_path(struct bpft *t, enum pal_trace_dir dir, const char *in, const char *out,
			 const struct pal_packet *pkt, const struct bt_pkt_opts *o)
{
	struct bt_result r = { .allow = true, .dropped_at = -1 };
	struct pal_packet post = *pkt;
	uint8_t pre_buf[512], post_buf[512];
	size_t pre_len, post_len;
	int a = bt_ifindex(t, in), b = bt_ifindex(t, out), rc;
	uint32_t mark = 0;

	if (pkt->has_dnat) {
		post.dst = pkt->dnat_dst;
		post.dport = pkt->dnat_dport;
		post.has_dnat = false;
	}
	pre_len = bt_build(pre_buf, sizeof(pre_buf), pkt, o);
	post_len = bt_build(post_buf, sizeof(post_buf), &post, o);
	cr_assert(a > 0, "unknown interface %s", in);

	if (dir == PAL_TRACE_INGRESS || dir == PAL_TRACE_FORWARD) {
		rc = bt_run_xdp(t, a, pre_buf, pre_len, NULL);
		cr_assert_geq(rc, 0, "xdp test run failed");
		if (rc == XDP_DROP_RC)
			return dropped_at(PAL_HOOK_XDP);
		rc = bt_run_tc(t, PAL_PROG_TC_INGRESS, a, a, 0, pre_buf, pre_len, &mark);
		cr_assert_geq(rc, 0, "tc ingress test run failed");
		if (rc == TC_SHOT_RC)
			return dropped_at(PAL_HOOK_TC_INGRESS);
	}
	switch (dir) {
	case PAL_TRACE_INGRESS:
		rc = bt_run_sf(pal_dp_prog_fd(t->dp, PAL_PROG_SF_INPUT_DENY), a, mark, post_buf,
			       post_len);
		cr_assert_geq(rc, 0, "INPUT test run failed");
		if (rc)
			return dropped_at(PAL_HOOK_INPUT);
		break;
	case PAL_TRACE_EGRESS: {
		int s = if_slot(t, a);

		if (s >= 0 && t->sf_out_deny[s] >= 0) {
			rc = bt_run_sf(t->sf_out_deny[s], 0, 0, pre_buf, pre_len);
			cr_assert_geq(rc, 0);
			if (rc)
				return dropped_at(PAL_HOOK_RAW_OUTPUT);
			if (bt_run_sf(t->sf_out_failsafe[s], 0, 0, pre_buf, pre_len) == 1)
				mark |= PAL_MARK_FAILSAFE;
			else if (bt_run_sf(t->sf_out_allow[s], 0, 0, pre_buf, pre_len) == 1)
				mark |= PAL_MARK_UNTRACKED;
		}
		/* CT --notrack: conntrack never sees an untracked packet, so it is not NATed */
		if (mark & PAL_MARK_UNTRACKED)
			rc = bt_run_tc(t, PAL_PROG_TC_EGRESS, a, 0, mark, pre_buf, pre_len, &mark);
		else
			rc = bt_run_tc(t, PAL_PROG_TC_EGRESS, a, 0, mark, post_buf, post_len, &mark);
		cr_assert_geq(rc, 0, "tc egress test run failed");
		if (rc == TC_SHOT_RC)
			return dropped_at(PAL_HOOK_TC_EGRESS);
		break;
	}
	case PAL_TRACE_FORWARD:
		cr_assert(b > 0, "unknown interface %s", out);
		rc = bt_run_tc(t, PAL_PROG_TC_EGRESS, b, a, mark, post_buf, post_len, &mark);
		cr_assert_geq(rc, 0, "tc egress test run failed");
		if (rc == TC_SHOT_RC)
			return dropped_at(PAL_HOOK_TC_EGRESS);
		break;
	}
	r.mark = mark;
	r.untracked = (mark & PAL_MARK_UNTRACKED) != 0;
	return r;
}

uint64_t bt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bt_flush_flows(struct bpft *t)
{
	cr_assert_geq(pal_dp_flush_flows(t->dp), 0);
}

struct bt_result bt_path_new_flow(struct bpft *t, enum pal_trace_dir dir, const char *in,
				  const char *out, const struct pal_packet *pkt)
{
	bt_flush_flows(t);
	return bt_path(t, dir, in, out, pkt, NULL);
}

/* The table of key k's family and the key as that table takes it (in *k4 for IPv4). */
static int flow_table(struct bpft *t, const struct pal_flow_key *k, struct pal_flow_key4 *k4,
		      const void **key)
{
	if (k->family == 4) {
		pal_flow_key4_of(k, k4);
		*key = k4;
		return pal_dp_map_fd(t->dp, "pal_flows4");
	}
	*key = k;
	return pal_dp_map_fd(t->dp, "pal_flows");
}

bool bt_flow_get(struct bpft *t, const struct pal_flow_key *k, struct pal_flow *f)
{
	struct pal_flow_key4 k4;
	const void *key;
	int fd = flow_table(t, k, &k4, &key);

	return bpf_map_lookup_elem(fd, key, f) == 0;
}

void bt_flow_put(struct bpft *t, const struct pal_flow_key *k, const struct pal_flow *f)
{
	struct pal_flow_key4 k4;
	const void *key;
	int fd = flow_table(t, k, &k4, &key);

	cr_assert_eq(bpf_map_update_elem(fd, key, f, 0), 0, "writing a flow entry");
}

int bt_veth_add(const char *name, uint32_t index)
{
	char cmd[160], at[32] = "";
	int ifi;

	if (index)
		snprintf(at, sizeof(at), " index %u", index);
	snprintf(cmd, sizeof(cmd), "ip link add %s%s type veth peer name p-%s", name, at, name);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	ifi = (int)if_nametoindex(name);
	cr_assert(ifi > 0, "%s: no ifindex after %s", name, cmd);
	if (index)
		cr_assert_eq((uint32_t)ifi, index, "the veth %s did not get ifindex %u", name,
			     index);
	return ifi;
}

struct bt_result bt_expect_agree(struct bpft *t, struct ctest *c, enum pal_trace_dir dir,
				 const char *in, const char *out, const struct pal_packet *pkt,
				 bool allow)
{
	struct pal_verdict v = ct_eval(c, dir, in, out, pkt);
	struct bt_result r;

	bt_flush_flows(t);
	r = bt_path(t, dir, in, out, pkt, NULL);
	cr_assert_eq(v.allow, allow, "evaluator: %s", v.reason);
	cr_assert_eq(r.allow, allow, "datapath dropped at %d; evaluator: %s", r.dropped_at,
		     v.reason);
	return r;
}

struct pal_if_ctr bt_ifctr(struct bpft *t, int ifindex, enum pal_hook hook)
{
	struct pal_if_ctr c;

	cr_assert_eq(pal_dp_if_counter(t->dp, (uint32_t)ifindex, hook, &c), 0);
	return c;
}

int bt_trace_arm(struct bpft *t, uint64_t nonce)
{
	int fd = pal_dp_map_fd(t->dp, "pal_trace"), ncpu = libbpf_num_possible_cpus();
	struct bpf_map_info mi = { 0 };
	uint32_t ml = sizeof(mi), zero = 0;
	size_t stride;
	uint8_t *v;

	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &mi, &ml), 0);
	stride = (mi.value_size + 7) & ~7u;
	v = calloc((size_t)ncpu, stride);
	cr_assert_not_null(v);
	for (int c = 0; c < ncpu; c++)
		memcpy(v + (size_t)c * stride, &nonce, sizeof(nonce));
	cr_assert_eq(bpf_map_update_elem(fd, &zero, v, BPF_ANY), 0);
	free(v);
	return fd;
}

struct pal_rule_ctr bt_rulectr(struct bpft *t, uint32_t rule_id)
{
	struct pal_rule_ctr c;

	cr_assert_eq(pal_dp_rule_counter(t->dp, rule_id, &c), 0);
	return c;
}

void bt_setup_table(struct bpft *t, struct ctest *c)
{
	bt_setup(t);
	ct_compile_dir(c, "table", PAL_FAILSAFE_IN_DEFAULT, PAL_FAILSAFE_OUT_DEFAULT,
		       PAL_EP_TO_HOST_DROP);
	cr_assert_eq(c->rc, 0);
	bt_apply(t, &c->ir, 1);
}

void bt_setup_yaml(struct bpft *t, struct ctest *c, const char *yaml)
{
	bt_setup(t);
	ct_compile_ex(c, yaml, NULL, NULL, PAL_EP_TO_HOST_ACCEPT);
	cr_assert_eq(c->rc, 0);
	bt_apply(t, &c->ir, 1);
}

void bt_teardown_table(struct bpft *t, struct ctest *c)
{
	ct_free(c);
	bt_teardown(t);
}

void bt_setup_compiled(struct bpft *t, struct ctest *c, const char *yaml)
{
	bt_setup(t);
	ct_compile_ok(c, yaml);
	bt_apply(t, &c->ir, 1);
}

void bt_setup_pair(struct bpft *t, struct ctest *a, const char *yaml_a, struct ctest *b,
		   const char *yaml_b)
{
	bt_setup(t);
	ct_compile(a, yaml_a);
	ct_compile(b, yaml_b);
	cr_assert(a->rc == 0 && b->rc == 0);
	bt_apply(t, &a->ir, 1);
}

void bt_teardown_pair(struct bpft *t, struct ctest *a, struct ctest *b)
{
	ct_free(a);
	ct_free(b);
	bt_teardown(t);
}

bool bt_pair_admits(struct bpft *t, uint16_t dport)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.9.9", 40000, "198.18.0.1", dport);

	bt_flush_flows(t);
	return bt_path(t, PAL_TRACE_INGRESS, "eth0", NULL, &p, NULL).allow;
}

void bt_pair_apply(struct bpft *t, const struct ctest *c, uint32_t generation)
{
	struct pal_dp_binding b = { .ifindex = (uint32_t)t->ifindex[BT_ETH0],
				    .ep = pal_ir_endpoint_for_iface(&c->ir, "eth0") };

	cr_assert(b.ep);
	cr_assert_eq(pal_dp_apply(t->dp, &c->ir, &b, 1, generation), 0, "%s", pal_dp_error(t->dp));
}

struct ring_buffer *bt_events_open(struct bpft *t, int (*fn)(void *ctx, void *data, size_t len))
{
	struct ring_buffer *rb = ring_buffer__new(pal_dp_map_fd(t->dp, "pal_events"), fn, NULL, NULL);

	cr_assert_not_null(rb);
	return rb;
}

/* ---- the classifier's scratch slots ---------------------------------------------------- */

/* The pal_scratch map of a program (by its map ids). */
bool bt_linear_form(struct bpft *t, uint32_t list_id, struct pal_small_list *sl)
{
	static struct pal_small_list scratch; /* the tests run one at a time per process */

	return pal_small_list_read(pal_dp_map_fd(t->dp, "pal_small"), list_id,
				   sl ? sl : &scratch) == 0;
}

size_t bt_list_ids(struct bpft *t, uint32_t *ids, size_t max)
{
	int lists = pal_dp_map_fd(t->dp, "pal_lists");
	uint32_t key, next, *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(lists, prev, &next) == 0) {
		key = next;
		prev = &key;
		cr_assert_lt(n, max, "more than %zu programmed lists", max);
		ids[n++] = key;
	}
	return n;
}

/* Calls fn on every programmed list with a linear form; how many there are. */
static size_t each_linear_form(struct bpft *t, void (*fn)(struct bpft *, uint32_t))
{
	uint32_t ids[BT_MAX_LISTS];
	size_t n = bt_list_ids(t, ids, BT_MAX_LISTS), linear = 0;

	for (size_t i = 0; i < n; i++) {
		if (!bt_linear_form(t, ids[i], NULL))
			continue;
		if (fn)
			fn(t, ids[i]);
		linear++;
	}
	return linear;
}

size_t bt_linear_forms(struct bpft *t)
{
	return each_linear_form(t, NULL);
}

static void linear_form_drop(struct bpft *t, uint32_t list_id)
{
	static const struct pal_small_list empty;
	uint32_t slot = pal_small_list_slot(list_id);

	cr_assert_eq(bpf_map_update_elem(pal_dp_map_fd(t->dp, "pal_small"), &slot, &empty, BPF_ANY),
		     0);
}

int bt_linear_forms_drop(struct bpft *t)
{
	return (int)each_linear_form(t, linear_form_drop);
}

int bt_scratch_fd(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t ids[64], len = sizeof(info);

	info.nr_map_ids = 64;
	info.map_ids = (uint64_t)(unsigned long)ids;
	cr_assert_eq(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	for (uint32_t i = 0; i < info.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		cr_assert_geq(fd, 0);
		cr_assert_eq(bpf_obj_get_info_by_fd(fd, &mi, &ml), 0);
		if (strcmp(mi.name, "pal_scratch") == 0)
			return fd;
		close(fd);
	}
	cr_assert_fail("no pal_scratch map");
	return -1;
}

/* Sets the owner word (the slot's first 8 bytes) of hook's slot on every CPU. */
uint8_t *bt_percpu_read(int fd, const void *key, int *ncpu, size_t *stride)
{
	struct bpf_map_info mi = { 0 };
	uint32_t ml = sizeof(mi);
	uint8_t *v;

	*ncpu = libbpf_num_possible_cpus();
	cr_assert_gt(*ncpu, 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &mi, &ml), 0);
	*stride = (mi.value_size + 7) & ~7u; /* per-CPU values are 8-byte aligned in the buffer */
	v = calloc((size_t)*ncpu, *stride);
	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(fd, key, v), 0);
	return v;
}

void bt_compile_apply(struct bpft *t, struct ctest *c, char *yaml, uint32_t gen)
{
	memset(c, 0, sizeof(*c));
	ct_compile(c, yaml);
	free(yaml);
	cr_assert_eq(c->rc, 0, "compile");
	bt_apply(t, &c->ir, gen);
}

void bt_scratch_set_owner(int fd, uint32_t hook, uint64_t owner)
{
	int ncpu;
	size_t stride;
	uint8_t *v = bt_percpu_read(fd, &hook, &ncpu, &stride);

	for (int c = 0; c < ncpu; c++)
		memcpy(v + (size_t)c * stride, &owner, sizeof(owner));
	cr_assert_eq(bpf_map_update_elem(fd, &hook, v, BPF_ANY), 0);
	free(v);
}
