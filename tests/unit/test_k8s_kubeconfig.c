/* kubeconfig and in-cluster configuration: every supported field, the current context, relative
 * paths, -data forms, and errors naming file, line, column and field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/k8s/kubeconfig.h"

static int parse(const char *text, const char *ctx, struct pal_k8s_conn *c, char *err, size_t n)
{
	return pal_k8s_kubeconfig_parse("kc.yaml", text, strlen(text), "/etc/kube", ctx, c, err, n);
}

#define KC_HEAD                                                                       \
	"apiVersion: v1\nkind: Config\n"                                              \
	"clusters:\n"                                                                 \
	"- name: other\n  cluster:\n    server: https://198.18.0.9:443\n"            \
	"- name: replay\n  cluster:\n    server: https://127.0.0.1:6443/\n"         \
	"    certificate-authority: certs/ca.crt\n"                                   \
	"contexts:\n"                                                                 \
	"- name: a\n  context:\n    cluster: other\n    user: u1\n"                   \
	"- name: b\n  context:\n    cluster: replay\n    user: u2\n    namespace: kube-system\n"

Test(k8s_kubeconfig, current_context_token_and_relative_ca)
{
	struct pal_k8s_conn c;
	char err[256];
	const char *t = KC_HEAD "current-context: b\nusers:\n"
				"- name: u1\n  user:\n    token: wrong\n"
				"- name: u2\n  user:\n    token: s3cret\n";

	cr_assert_eq(parse(t, NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.server, "https://127.0.0.1:6443");
	cr_expect_str_eq(c.ca_file, "/etc/kube/certs/ca.crt");
	cr_expect_str_eq(c.token, "s3cret");
	cr_expect_str_eq(c.namespace, "kube-system");
	cr_expect_str_eq(c.context, "b");
	cr_expect_null(c.token_file);
	cr_expect_not(c.insecure);
	pal_k8s_conn_free(&c);

	/* An explicit context overrides current-context. */
	cr_assert_eq(parse(t, "a", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.server, "https://198.18.0.9:443");
	cr_expect_str_eq(c.token, "wrong");
	cr_expect_null(c.ca_file);
	pal_k8s_conn_free(&c);
}

Test(k8s_kubeconfig, data_forms_token_file_client_cert_insecure)
{
	struct pal_k8s_conn c;
	char err[256];
	/* "-----BEGIN X-----\n" and "key\n" in base64 */
	const char *t =
		"clusters:\n- name: c\n  cluster:\n    server: https://[2001:db8::1]:6443\n"
		"    certificate-authority-data: LS0tLS1CRUdJTiBYLS0tLS0K\n"
		"    insecure-skip-tls-verify: true\n"
		"users:\n- name: u\n  user:\n    tokenFile: /run/tok\n"
		"    client-certificate-data: LS0tLS1CRUdJTiBYLS0tLS0K\n"
		"    client-key-data: a2V5Cg==\n"
		"contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		"current-context: x\n";

	cr_assert_eq(parse(t, NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.ca_data.data, "-----BEGIN X-----\n");
	cr_expect_eq(c.ca_data.len, 18);
	cr_expect_str_eq(c.cert_data.data, "-----BEGIN X-----\n");
	cr_expect_str_eq(c.key_data.data, "key\n");
	cr_expect_str_eq(c.token_file, "/run/tok");
	cr_expect(c.insecure);
	cr_expect_null(c.token);
	cr_expect_null(c.namespace);
	pal_k8s_conn_free(&c);
}

Test(k8s_kubeconfig, client_certificate_files_json)
{
	struct pal_k8s_conn c;
	char err[256];
	const char *t = "{\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":\"https://h:1\"}}],"
			"\"users\":[{\"name\":\"u\",\"user\":{\"client-certificate\":\"/p/c.crt\","
			"\"client-key\":\"k.key\"}}],"
			"\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],"
			"\"current-context\":\"x\"}";

	cr_assert_eq(parse(t, NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.cert_file, "/p/c.crt");
	cr_expect_str_eq(c.key_file, "/etc/kube/k.key");
	pal_k8s_conn_free(&c);
}

#define EXPECT_ERR(text, want)                                                              \
	do {                                                                                \
		struct pal_k8s_conn c_;                                                     \
		char err_[256];                                                             \
		int rc_ = parse((text), NULL, &c_, err_, sizeof(err_));                     \
		cr_expect_eq(rc_, -EINVAL, "accepted: %s", (text));                         \
		cr_expect(strstr(err_, (want)) != NULL, "message \"%s\" lacks \"%s\"", err_, \
			  (want));                                                          \
	} while (0)

Test(k8s_kubeconfig, errors_name_the_place)
{
	EXPECT_ERR("clusters: []\n", "kc.yaml: current-context: missing");
	EXPECT_ERR(KC_HEAD "current-context: nope\n", "kc.yaml:12:1: contexts: no entry named \"nope\"");
	EXPECT_ERR(KC_HEAD "current-context: b\nusers:\n- name: u2\n  user:\n    token: [1]\n",
		   "kc.yaml:25:12: users[0].user.token: expected a string");
	EXPECT_ERR(KC_HEAD "current-context: b\nusers:\n- name: u2\n  user:\n"
			   "    exec: {command: aws}\n",
		   "users[0].user.exec: not supported");
	EXPECT_ERR(KC_HEAD "current-context: b\nusers:\n- name: u2\n  user:\n"
			   "    client-key-data: '@@@'\n",
		   "kc.yaml:25:22: users[0].user.client-key-data: not base64");
	EXPECT_ERR(KC_HEAD "current-context: b\nusers:\n- name: u2\n  user:\n"
			   "    client-certificate: /c.crt\n",
		   "needs its key");
	EXPECT_ERR("clusters:\n- name: c\n  cluster:\n    server: ftp://x\n"
		   "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
		   "kc.yaml:4:13: clusters[0].cluster.server: \"ftp://x\" is not an http(s) URL");
	EXPECT_ERR("clusters:\n- name: c\n  cluster:\n    server: https://x\n"
		   "    insecure-skip-tls-verify: maybe\n"
		   "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
		   "insecure-skip-tls-verify: expected true or false");
	EXPECT_ERR("a: [\n", "kc.yaml:");
}

Test(k8s_kubeconfig, base64)
{
	struct pal_k8s_blob b;

	cr_assert_eq(pal_k8s_base64_decode("aGVsbG8=", 8, &b), 0);
	cr_expect_eq(b.len, 5);
	cr_expect_str_eq(b.data, "hello");
	free(b.data);
	cr_assert_eq(pal_k8s_base64_decode("aGVs\nbG8", 8, &b), 0);
	cr_expect_str_eq(b.data, "hello");
	free(b.data);
	cr_expect_eq(pal_k8s_base64_decode("aGV*", 4, &b), -EINVAL);
	cr_expect_eq(pal_k8s_base64_decode("aG=Vs", 5, &b), -EINVAL);
	cr_expect_eq(pal_k8s_base64_decode("a", 1, &b), -EINVAL);
}

Test(k8s_kubeconfig, in_cluster)
{
	char dir[] = "/tmp/pal-k8s-sa.XXXXXX", path[128], err[256];
	struct pal_k8s_conn c;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/namespace", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("palisade\n", f);
	fclose(f);

	cr_assert_eq(pal_k8s_incluster("198.18.0.1", "443", dir, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.server, "https://198.18.0.1:443");
	cr_expect(strstr(c.token_file, "/token") && strstr(c.ca_file, "/ca.crt"));
	cr_expect_str_eq(c.namespace, "palisade");
	pal_k8s_conn_free(&c);

	cr_assert_eq(pal_k8s_incluster("2001:db8::1", "6443", dir, &c, err, sizeof(err)), 0);
	cr_expect_str_eq(c.server, "https://[2001:db8::1]:6443");
	pal_k8s_conn_free(&c);

	cr_expect_eq(pal_k8s_incluster(NULL, "443", dir, &c, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "KUBERNETES_SERVICE_HOST") != NULL, "%s", err);
	unlink(path);
	rmdir(dir);
}
