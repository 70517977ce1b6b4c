/* palisaded options and config file: defaults, every flag, precedence, and usage errors. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/daemonlib/cfg.h"

#include "test_daemon_cfg_util.h"

Test(daemon_cfg, defaults)
{
	struct pald_config c;

	unsetenv("PALISADED_BACKEND");
	PARSE_OK(&c, "--policy-dir", "pol");
	cr_expect_eq(c.policy_dirs.n, 1);
	cr_expect_str_eq(c.policy_dirs.v[0], "pol");
	cr_expect_str_eq(c.node, "host-a");
	cr_expect_str_eq(c.bpffs, PALD_DEFAULT_BPFFS);
	cr_expect_eq(c.iface_globs.n, 0);
	cr_expect_eq(c.xdp_mode, PALD_XDP_AUTO);
	cr_expect_eq(c.n_failsafe_in, 9, "Calico's inbound defaults");
	cr_expect_eq(c.n_failsafe_out, 9, "Calico's outbound defaults");
	cr_expect_not(c.health.set);
	cr_expect_not(c.metrics.set);
	cr_expect_eq(c.endpoint_to_host, PAL_EP_TO_HOST_DROP);
	cr_expect_eq(c.log_format, PALD_LOG_TEXT);
	cr_expect_eq(c.log_level, PALD_LOG_INFO);
	cr_expect_not(c.once || c.uninstall || c.help || c.version);
	cr_expect_str_eq(c.backend, "bpf");
	cr_expect(c.reevaluate_flows, "a deny means now, by default");
	cr_expect_eq(c.dp_sizes.event_rate, 0, "the datapath's default event rate");
	for (int i = 0; i < PAL_FLOW_TMO_COUNT; i++)
		cr_expect_eq(c.flow_timeout_s[i], 0, "the kernel's defaults");
	pald_config_free(&c);
}

Test(daemon_cfg, every_flag)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "a", "--policy-dir=b", "--node", "n1", "--bpffs=/sys/fs/bpf/x",
		 "--interfaces", "eth*,bond*", "--interfaces=ens1", "--xdp-mode", "generic",
		 "--failsafe-in", "tcp:22", "--failsafe-out=udp:53,tcp:[2001:db8::/32]:443",
		 "--health", "127.0.0.1:9099", "--metrics=[::1]:9100",
		 "--endpoint-to-host-action", "accept", "--log-format=json", "--log-level", "debug",
		 "--once", "--backend=null", "--event-rate", "50");
	cr_expect_eq(c.policy_dirs.n, 2);
	cr_expect_str_eq(c.policy_dirs.v[1], "b");
	cr_expect_str_eq(c.node, "n1");
	cr_expect_str_eq(c.bpffs, "/sys/fs/bpf/x");
	cr_assert_eq(c.iface_globs.n, 3);
	cr_expect_str_eq(c.iface_globs.v[0], "eth*");
	cr_expect_str_eq(c.iface_globs.v[1], "bond*");
	cr_expect_str_eq(c.iface_globs.v[2], "ens1");
	cr_expect_eq(c.xdp_mode, PALD_XDP_GENERIC);
	cr_assert_eq(c.n_failsafe_in, 1);
	cr_expect_eq(c.failsafe_in[0].port, 22);
	cr_assert_eq(c.n_failsafe_out, 2);
	cr_expect(c.failsafe_out[1].has_net);
	cr_expect(c.health.set);
	cr_expect_eq(c.health.sa.ss_family, AF_INET);
	cr_expect_eq(ntohs(((struct sockaddr_in *)&c.health.sa)->sin_port), 9099);
	cr_expect_eq(c.metrics.sa.ss_family, AF_INET6);
	cr_expect_eq(c.endpoint_to_host, PAL_EP_TO_HOST_ACCEPT);
	cr_expect_eq(c.log_format, PALD_LOG_JSON);
	cr_expect_eq(c.log_level, PALD_LOG_DEBUG);
	cr_expect(c.once);
	cr_expect_str_eq(c.backend, "null");
	cr_expect_eq(c.dp_sizes.event_rate, 50);
	pald_config_free(&c);
}

Test(daemon_cfg, failsafe_none_is_empty)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "a", "--failsafe-in", "none", "--failsafe-out=none");
	cr_expect_eq(c.n_failsafe_in, 0);
	cr_expect_eq(c.n_failsafe_out, 0);
	pald_config_free(&c);
}

Test(daemon_cfg, backend_from_env)
{
	struct pald_config c;

	setenv("PALISADED_BACKEND", "null", 1);
	PARSE_OK(&c, "--policy-dir", "a");
	cr_expect_str_eq(c.backend, "null");
	pald_config_free(&c);
	unsetenv("PALISADED_BACKEND");
}

Test(daemon_cfg, uninstall_needs_no_policy_dir)
{
	struct pald_config c;

	PARSE_OK(&c, "--uninstall");
	cr_expect(c.uninstall);
	pald_config_free(&c);
}

Test(daemon_cfg, help_wins_over_other_errors)
{
	struct pald_config c;

	PARSE_OK(&c, "--help");
	cr_expect(c.help);
	pald_config_free(&c);
	PARSE_OK(&c, "--version", "--xdp-mode=bogus");
	cr_expect(c.version);
	pald_config_free(&c);
}

Test(daemon_cfg, usage_errors)
{
	PARSE_ERR("unknown option --bogus", "--policy-dir", "a", "--bogus");
	PARSE_ERR("needs an argument", "--policy-dir");
	PARSE_ERR("xdp mode must be", "--policy-dir", "a", "--xdp-mode", "fast");
	PARSE_ERR("ADDR:PORT", "--policy-dir", "a", "--health", "localhost");
	PARSE_ERR("ADDR:PORT", "--policy-dir", "a", "--metrics", "1.2.3.4:70000");
	PARSE_ERR("failsafe-in", "--policy-dir", "a", "--failsafe-in", "icmp:1");
	PARSE_ERR("failsafe-out", "--policy-dir", "a", "--failsafe-out", "tcp:99999");
	PARSE_ERR("drop or accept", "--policy-dir", "a", "--endpoint-to-host-action", "allow");
	PARSE_ERR("text or json", "--policy-dir", "a", "--log-format", "xml");
	PARSE_ERR("log level", "--policy-dir", "a", "--log-level", "loud");
	PARSE_ERR("event rate must be a number from 1 to 1000000, got \"0\"", "--policy-dir", "a",
		  "--event-rate", "0");
	PARSE_ERR("event rate must be", "--policy-dir", "a", "--event-rate", "1000001");
	PARSE_ERR("absolute", "--policy-dir", "a", "--bpffs", "rel");
	PARSE_ERR("unexpected argument \"extra\"", "--policy-dir", "a", "extra");
	PARSE_ERR("cannot be combined", "--policy-dir", "a", "--once", "--uninstall");
	PARSE_ERR("no policy directory", "--once");
	PARSE_ERR("must not be empty", "--policy-dir", "");
	PARSE_ERR("cannot read config file", "--config", "/nonexistent/palisaded.yaml");
	/* a directory opens but does not read: an error, not an empty config */
	PARSE_ERR("cannot read config file /: Is a directory", "--config", "/");
}

Test(daemon_cfg, listen_addresses)
{
	static const struct {
		const char *text;
		bool ok;
		int family;
	} cases[] = {
		{ "127.0.0.1:9099", true, AF_INET }, { "[::1]:9099", true, AF_INET6 },
		{ ":9099", true, AF_INET },          { "*:80", true, AF_INET },
		{ "[::]:1", true, AF_INET6 },        { "::1:9099", false, 0 },
		{ "127.0.0.1", false, 0 },           { "127.0.0.1:0", false, 0 },
		{ "127.0.0.1:65536", false, 0 },     { "127.0.0.1:9x", false, 0 },
		{ "[::1]9099", false, 0 },           { "example.com:80", false, 0 },
		{ "", false, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pald_listen_addr a;
		int rc = pald_listen_addr_parse(cases[i].text, &a);

		cr_expect_eq(rc == 0, cases[i].ok, "%s", cases[i].text);
		if (cases[i].ok && rc == 0)
			cr_expect_eq(a.sa.ss_family, cases[i].family, "%s", cases[i].text);
	}
}

static int apply_text(struct pald_config *c, const char *text, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	return pald_config_apply_file_text(c, "cfg.yaml", text, strlen(text), err, errlen);
}

Test(daemon_cfg, file_keys)
{
	struct pald_config c;
	char err[512] = "";
	int rc = apply_text(&c,
			    "policyDirs: [/a, /b]\nnode: n2\nbpffs: /sys/fs/bpf/y\n"
			    "interfaces: \"eth*,ens*\"\nxdpMode: native\nfailsafeIn: [tcp:22, udp:68]\n"
			    "failsafeOut: udp:53\nhealth: 127.0.0.1:1\nmetrics: \":2\"\n"
			    "endpointToHostAction: accept\nlogFormat: json\nlogLevel: warn\n",
			    err, sizeof(err));

	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_eq(c.policy_dirs.n, 2);
	cr_expect_str_eq(c.node, "n2");
	cr_expect_str_eq(c.bpffs, "/sys/fs/bpf/y");
	cr_expect_eq(c.iface_globs.n, 2);
	cr_expect_eq(c.xdp_mode, PALD_XDP_NATIVE);
	cr_expect_str_eq(c.failsafe_in_text, "tcp:22,udp:68");
	cr_expect_str_eq(c.failsafe_out_text, "udp:53");
	cr_expect(c.health.set && c.metrics.set);
	cr_expect_eq(c.endpoint_to_host, PAL_EP_TO_HOST_ACCEPT);
	cr_expect_eq(c.log_format, PALD_LOG_JSON);
	cr_expect_eq(c.log_level, PALD_LOG_WARN);
	pald_config_free(&c);
}

Test(daemon_cfg, flow_keys)
{
	struct pald_config c;
	char err[512] = "";
	int rc = apply_text(&c,
			    "flowTimeoutTcpEstablished: 5d\nflowTimeoutUdp: 45\nflowTimeoutIcmp: 2m\n"
			    "flowTimeoutTcpClose: 10s\nreevaluateFlowsOnPolicyChange: \"false\"\n",
			    err, sizeof(err));

	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_eq(c.flow_timeout_s[PAL_FLOW_TMO_TCP_ESTABLISHED], 432000);
	cr_expect_eq(c.flow_timeout_s[PAL_FLOW_TMO_UDP], 45);
	cr_expect_eq(c.flow_timeout_s[PAL_FLOW_TMO_ICMP], 120);
	cr_expect_eq(c.flow_timeout_s[PAL_FLOW_TMO_TCP_CLOSE], 10);
	cr_expect_eq(c.flow_timeout_s[PAL_FLOW_TMO_UDP_REPLIED], 0, "unset: the default");
	cr_expect_not(c.reevaluate_flows);
	pald_config_free(&c);
	rc = apply_text(&c, "node: a\nflowTimeoutUdp: soon\n", err, sizeof(err));
	cr_expect_neq(rc, 0);
	cr_expect(strstr(err, "cfg.yaml:2:17: flowTimeoutUdp must be a duration") != NULL, "%s",
		  err);
	pald_config_free(&c);
	rc = apply_text(&c, "flowTimeoutTcpSynSent: 0\n", err, sizeof(err));
	cr_expect_neq(rc, 0, "zero is no timeout");
	pald_config_free(&c);
	rc = apply_text(&c, "reevaluateFlowsOnPolicyChange: maybe\n", err, sizeof(err));
	cr_expect(strstr(err, "reevaluateFlowsOnPolicyChange must be true or false") != NULL, "%s",
		  err);
	pald_config_free(&c);
}

Test(daemon_cfg, file_json)
{
	struct pald_config c;
	char err[512] = "";
	int rc = apply_text(&c, "{\"policyDirs\": [\"/p\"], \"node\": \"j\", \"xdpMode\": \"off\"}",
			    err, sizeof(err));

	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(c.policy_dirs.v[0], "/p");
	cr_expect_str_eq(c.node, "j");
	cr_expect_eq(c.xdp_mode, PALD_XDP_OFF);
	pald_config_free(&c);
}

Test(daemon_cfg, file_errors_name_line_and_column)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "node: a\npolicyDir: /x\n", "cfg.yaml:2:1: unknown key \"policyDir\"" },
		{ "node: a\nxdpMode: turbo\n", "cfg.yaml:2:10: xdp mode must be" },
		{ "node: [a, b]\n", "cfg.yaml:1:7: node must be a string, not a list" },
		{ "policyDirs: {a: b}\n", "cfg.yaml:1:13: policyDirs must be a list or a string" },
		{ "- a\n- b\n", "expected a mapping" },
		{ "node: a\n---\nnode: b\n", "expected one document" },
		{ "node: [\n", "cfg.yaml:" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pald_config c;
		char err[512] = "";

		cr_expect_neq(apply_text(&c, cases[i].text, err, sizeof(err)), 0, "%s", cases[i].text);
		cr_expect(strstr(err, cases[i].want) != NULL, "\"%s\" lacks \"%s\"", err, cases[i].want);
		pald_config_free(&c);
	}
}

Test(daemon_cfg, empty_file_and_null_values_keep_defaults)
{
	struct pald_config c;
	char err[256] = "";

	cr_expect_eq(apply_text(&c, "", err, sizeof(err)), 0, "%s", err);
	pald_config_free(&c);
	cr_expect_eq(apply_text(&c, "node:\nlogLevel: ~\n", err, sizeof(err)), 0, "%s", err);
	cr_expect_null(c.node);
	pald_config_free(&c);
}

Test(daemon_cfg, flags_override_file_and_replace_its_lists)
{
	char path[] = "/tmp/pald-cfg-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "policyDirs: [/file-a, /file-b]\nnode: from-file\ninterfaces: [x*]\n"
			   "logLevel: error\n";
	struct pald_config c;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	PARSE_OK(&c, "--config", path, "--policy-dir", "/flag", "--node=from-flag");
	unlink(path);
	cr_expect_eq(c.policy_dirs.n, 1, "a flag list replaces the file's list");
	cr_expect_str_eq(c.policy_dirs.v[0], "/flag");
	cr_expect_str_eq(c.node, "from-flag");
	cr_expect_eq(c.iface_globs.n, 1, "untouched by flags: the file's list stays");
	cr_expect_eq(c.log_level, PALD_LOG_ERROR);
	pald_config_free(&c);
}

Test(daemon_cfg, events_socket_and_iptables_backend)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "p");
	cr_expect_str_eq(c.events_socket, PALD_DEFAULT_EVENTS_SOCKET);
	cr_expect_str_eq(c.iptables_backend, "auto");
	pald_config_free(&c);
	PARSE_OK(&c, "--policy-dir", "p", "--events-socket", "none", "--iptables-backend", "legacy");
	cr_expect_null(c.events_socket, "none turns the socket off");
	cr_expect_str_eq(c.iptables_backend, "legacy");
	pald_config_free(&c);
	PARSE_OK(&c, "--policy-dir", "p", "--events-socket", "/tmp/x/ev.sock", "--iptables-backend",
		 "nft");
	cr_expect_str_eq(c.events_socket, "/tmp/x/ev.sock");
	pald_config_free(&c);
	PARSE_ERR("events socket must be an absolute path or none", "--policy-dir", "p",
		  "--events-socket", "ev.sock");
	PARSE_ERR("iptables backend must be auto, legacy or nft", "--policy-dir", "p",
		  "--iptables-backend", "xtables");
}

Test(daemon_cfg, events_socket_group)
{
	struct pald_config c;

	PARSE_OK(&c, "--policy-dir", "p");
	cr_expect_null(c.events_socket_group);
	cr_expect_eq(c.events_socket_gid, -1, "default: root only");
	pald_config_free(&c);
	PARSE_OK(&c, "--policy-dir", "p", "--events-socket-group", "root");
	cr_expect_str_eq(c.events_socket_group, "root");
	cr_expect_eq(c.events_socket_gid, 0, "resolved when parsed");
	pald_config_free(&c);
	/* A GID without a name here: a host group seen from a container. */
	PARSE_OK(&c, "--policy-dir", "p", "--events-socket-group", "64999");
	cr_expect_eq(c.events_socket_gid, 64999);
	pald_config_free(&c);
	PARSE_ERR("events socket group \"no-such-group-pald\": no such group", "--policy-dir", "p",
		  "--events-socket-group", "no-such-group-pald");
	PARSE_ERR("no such group", "--policy-dir", "p", "--events-socket-group", "-5");
	PARSE_ERR("no such group", "--policy-dir", "p", "--events-socket-group", "4294967295");
}
