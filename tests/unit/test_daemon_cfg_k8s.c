/* palisaded's Kubernetes datastore options: --datastore, --kubeconfig,
 * --kubernetes-interface-naming and their config-file keys. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../agent/daemonlib/cfg.h"

#include "test_daemon_cfg_util.h"

Test(daemon_cfg_k8s, files_is_the_default_and_needs_a_policy_dir)
{
	struct pald_config c;
	char err[512];
	char *ok[] = { "palisaded", "--policy-dir", "/p", NULL };
	char *none[] = { "palisaded", NULL };

	cr_assert_eq(pald_config_parse(&c, ARGC(ok), ok, "h", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.datastore, PALD_DATASTORE_FILES);
	cr_expect_null(c.kubeconfig);
	pald_config_free(&c);
	cr_expect_neq(pald_config_parse(&c, ARGC(none), none, "h", err, sizeof(err)), 0);
	cr_expect(strstr(err, "--datastore kubernetes") != NULL, "%s", err);
	pald_config_free(&c);
}

Test(daemon_cfg_k8s, kubernetes_needs_no_policy_dir)
{
	struct pald_config c;
	char err[512];
	char *argv[] = { "palisaded", "--datastore", "kubernetes", "--kubeconfig", "/etc/kc",
			 "--kubernetes-interface-naming", "route", "--workload-interface-prefix", "eni",
			 "--kubernetes-discovery-interval", "60", "--auto-host-endpoints", NULL };

	cr_assert_eq(pald_config_parse(&c, ARGC(argv), argv, "h", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.datastore, PALD_DATASTORE_KUBERNETES);
	cr_expect_str_eq(c.kubeconfig, "/etc/kc");
	cr_expect(c.k8s_iface_by_route);
	cr_expect_str_eq(c.workload_prefix, "eni");
	cr_expect_eq(c.k8s_discovery_s, 60);
	cr_expect(c.auto_host_endpoints);
	pald_config_free(&c);
}

Test(daemon_cfg_k8s, config_file_keys)
{
	struct pald_config c;
	char err[512];
	char *argv[] = { "palisaded", "--datastore", "files", "--policy-dir", "/p", NULL };
	const char *text = "datastore: kubernetes\nkubeconfig: /k\nkubernetesInterfaceNaming: calico\n"
			   "autoHostEndpoints: true\n";
	const char *off = "autoHostEndpoints: false\n", *bad = "autoHostEndpoints: maybe\n";

	cr_assert_eq(pald_config_parse(&c, ARGC(argv), argv, "h", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pald_config_apply_file_text(&c, "f.yaml", text, strlen(text), err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(c.datastore, PALD_DATASTORE_KUBERNETES);
	cr_expect_str_eq(c.kubeconfig, "/k");
	cr_expect_not(c.k8s_iface_by_route);
	cr_expect(c.auto_host_endpoints);
	cr_assert_eq(pald_config_apply_file_text(&c, "f.yaml", off, strlen(off), err, sizeof(err)), 0);
	cr_expect_not(c.auto_host_endpoints);
	cr_expect_neq(pald_config_apply_file_text(&c, "f.yaml", bad, strlen(bad), err, sizeof(err)), 0);
	cr_expect(strstr(err, "autoHostEndpoints must be true or false") != NULL, "%s", err);
	pald_config_free(&c);
}

Test(daemon_cfg_k8s, bad_values_and_once)
{
	PARSE_ERR("datastore must be files or kubernetes, got \"etcd\"", "--datastore", "etcd");
	PARSE_ERR("calico or route", "--datastore", "kubernetes", "--kubernetes-interface-naming",
		  "eni");
	PARSE_ERR("--once", "--datastore", "kubernetes", "--once");
	/* Route naming without the CNI's prefix would leave a veth open until its route exists. */
	PARSE_ERR("--workload-interface-prefix", "--datastore", "kubernetes",
		  "--kubernetes-interface-naming", "route");
}

/* The periodic relist is off unless asked for (a relist on every node is a load on the API
 * server that grows with the cluster); flag and config key set it, 0 turns it off again. */
Test(daemon_cfg_k8s, relist_interval_is_off_by_default_and_opt_in)
{
	struct pald_config c;
	char err[512];
	char *argv[] = { "palisaded", "--datastore", "kubernetes", NULL };
	char *flag[] = { "palisaded", "--datastore", "kubernetes", "--kubernetes-relist-interval",
			 "1800", NULL };
	const char *key = "kubernetesRelistInterval: 3600\n", *off = "kubernetesRelistInterval: 0\n";
	const char *bad = "kubernetesRelistInterval: -5\n";

	cr_assert_eq(pald_config_parse(&c, ARGC(argv), argv, "h", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.k8s_relist_s, 0);
	cr_assert_eq(pald_config_apply_file_text(&c, "f.yaml", key, strlen(key), err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(c.k8s_relist_s, 3600);
	cr_assert_eq(pald_config_apply_file_text(&c, "f.yaml", off, strlen(off), err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(c.k8s_relist_s, 0);
	cr_expect_neq(pald_config_apply_file_text(&c, "f.yaml", bad, strlen(bad), err, sizeof(err)), 0);
	cr_expect(strstr(err, "f.yaml") && strstr(err, "kubernetes relist interval"), "%s", err);
	pald_config_free(&c);
	cr_assert_eq(pald_config_parse(&c, ARGC(flag), flag, "h", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.k8s_relist_s, 1800);
	pald_config_free(&c);
}

/* Without --node the node name is the hostname as the kubelet registers it and Calico names it
 * (names.Hostname: trimmed, lower case): matched as given, a host named "Worker-1" found none of
 * its pods (spec.nodeName "worker-1") and no auto host endpoint of its own. */
Test(daemon_cfg_k8s, default_node_is_the_hostname_in_lower_case)
{
	static const char *const cases[][2] = {
		{ "Worker-1.Example.COM", "worker-1.example.com" },
		{ " node-a\n", "node-a" },
		{ "node-b", "node-b" },
		{ "", "localhost" },
		{ " ", "localhost" },
	};
	char *argv[] = { "palisaded", "--datastore", "kubernetes", NULL };
	char *given[] = { "palisaded", "--datastore", "kubernetes", "--node", "Given-Name", NULL };
	struct pald_config c;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(pald_config_parse(&c, ARGC(argv), argv, cases[i][0], err, sizeof(err)),
			     0, "%s", err);
		cr_expect_str_eq(c.node, cases[i][1], "hostname \"%s\"", cases[i][0]);
		pald_config_free(&c);
	}
	/* A name given is taken as it is. */
	cr_assert_eq(pald_config_parse(&c, ARGC(given), given, "h", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.node, "Given-Name");
	pald_config_free(&c);
}
