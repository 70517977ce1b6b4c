/* pal_failsafe_parse and failsafe lists in the IR and the evaluator. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "test_compiler_util.h"

static size_t parse_ok(const char *text, struct pal_failsafe **v)
{
	char err[200] = "";
	size_t n = 99;

	cr_assert_eq(pal_failsafe_parse(text, v, &n, err, sizeof(err)), 0, "%s: %s", text, err);
	return n;
}

Test(compiler_failsafe, calico_defaults)
{
	struct pal_failsafe *v;
	size_t n = parse_ok(PAL_FAILSAFE_IN_DEFAULT, &v);

	cr_assert_eq(n, 9);
	cr_assert_eq(v[0].protocol, PAL_PROTO_TCP);
	cr_assert_eq(v[0].port, 22);
	cr_assert_not(v[0].has_net);
	cr_assert_eq(v[1].protocol, PAL_PROTO_UDP);
	cr_assert_eq(v[1].port, 68);
	cr_assert_eq(v[8].port, 6667);
	free(v);
	n = parse_ok(PAL_FAILSAFE_OUT_DEFAULT, &v);
	cr_assert_eq(n, 9);
	cr_assert_eq(v[0].protocol, PAL_PROTO_UDP);
	cr_assert_eq(v[0].port, 53);
	free(v);
}

Test(compiler_failsafe, cidrs_case_and_spaces)
{
	struct pal_failsafe *v;
	char buf[PAL_CIDR_STRLEN];
	size_t n = parse_ok(" TCP:198.18.0.0/15:22 , udp:[2001:db8::/32]:53,tcp:198.18.0.7:2379 ", &v);

	cr_assert_eq(n, 3);
	cr_assert(v[0].has_net);
	cr_assert_eq(v[0].protocol, PAL_PROTO_TCP);
	cr_assert_str_eq(pal_cidr_str(&v[0].net, buf), "198.18.0.0/15");
	cr_assert_eq(v[1].protocol, PAL_PROTO_UDP);
	cr_assert_eq(v[1].port, 53);
	cr_assert_str_eq(pal_cidr_str(&v[1].net, buf), "2001:db8::/32");
	cr_assert_eq(v[2].net.prefix_len, 32);
	free(v);
}

Test(compiler_failsafe, empty_lists)
{
	static const char *const empty[] = { "", "none", " none ", "NONE" };
	struct pal_failsafe *v = (void *)1;

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		cr_assert_eq(parse_ok(empty[i], &v), 0, "%s", empty[i]);
		cr_assert_null(v);
	}
}

Test(compiler_failsafe, bad_inputs)
{
	static const char *const bad[] = {
		"tcp",		     "tcp:",		"icmp:22",	     "tcp:0",
		"tcp:65536",	     "tcp:22,",		",tcp:22",	     "tcp:22x",
		"tcp:-1",	     "tcp:2001:db8::/32:22", "tcp:[2001:db8::/32:22", "tcp:bogus:22",
		"tcp:198.18.0.0/33:22", "none,tcp:22",	"tcp::22",	     "tcp:[]:22",
		"sctp:22",	     "tcp:123456",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pal_failsafe *v = (void *)1;
		size_t n = 7;
		char err[200] = "";

		cr_assert_eq(pal_failsafe_parse(bad[i], &v, &n, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert_null(v, "%s", bad[i]);
		cr_assert_eq(n, 0, "%s", bad[i]);
		cr_assert_neq(err[0], '\0', "no message for %s", bad[i]);
	}
}

Test(compiler_failsafe, copied_into_ir_and_used)
{
	static const char yaml[] =
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: eth0}\nspec: {node: node1, interfaceName: eth0}\n";
	struct ctest t;

	ct_compile_ex(&t, yaml, "tcp:198.18.200.0/24:22", "udp:[2001:db8::/32]:53",
		      PAL_EP_TO_HOST_DROP);
	cr_assert_eq(t.rc, 0);
	cr_assert_eq(t.ir.n_failsafe_in, 1);
	cr_assert_eq(t.ir.n_failsafe_out, 1);
	cr_assert_eq(t.ir.failsafe_in[0].port, 22);
	cr_assert_neq(t.ir.failsafe_in, t.fs_in); /* a copy */

	/* Inbound: the source must be in the CIDR. */
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.200.9", 1, "198.18.0.1", 22);
	ct_eval_expect(&t, PAL_TRACE_INGRESS, "eth0", NULL, &p, true, PAL_STAGE_FAILSAFE, NULL, -1);
	p = ct_pkt(PAL_PROTO_TCP, "198.18.100.9", 1, "198.18.0.1", 22);
	ct_eval_expect(&t, PAL_TRACE_INGRESS, "eth0", NULL, &p, false, PAL_STAGE_DEFAULT, NULL, -1);
	/* Outbound: the destination must be in the CIDR. */
	p = ct_pkt(PAL_PROTO_UDP, "2001:db8::1", 1, "2001:db8::53", 53);
	ct_eval_expect(&t, PAL_TRACE_EGRESS, "eth0", NULL, &p, true, PAL_STAGE_FAILSAFE, NULL, -1);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.0.1", 1, "198.18.0.53", 53);
	ct_eval_expect(&t, PAL_TRACE_EGRESS, "eth0", NULL, &p, false, PAL_STAGE_DEFAULT, NULL, -1);
	ct_free(&t);
}
