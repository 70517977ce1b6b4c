/* Calico's `services:` rule match (compile_services.c) through compiler and evaluator, and the
 * Service and EndpointSlice kinds of the loader (decode_service.c). Endpoints:
 * fixtures/compiler/match (pod1: prod, app=web, 198.18.2.10 on cali1). */
#include <criterion/criterion.h>
#include <string.h>
#include "test_compiler_util.h"
#include "test_model_util.h"

#define POD1 "198.18.2.10"
#define CLIENT "198.18.100.1"
#define OTHER "198.18.100.2"

#define SLICE(name, ns, svc, addrs, ports)                                                         \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " name     \
	"\n  namespace: " ns "\n  labels: {kubernetes.io/service-name: " svc "}\n"                \
	"addressType: IPv4\nendpoints:\n- addresses: " addrs "\n  conditions: {ready: true}\n"     \
	"ports: " ports "\n"
#define SERVICE(name, ns)                                                                          \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: " name ", namespace: " ns "}\n"      \
	"spec: {type: ClusterIP, clusterIP: 198.18.250.1, ports: [{port: 80, targetPort: 8080}]}\n"
#define GNPE(egress)                                                                               \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"      \
	"spec:\n  selector: app == 'web'\n  egress: " egress "\n"
#define GNP(ingress)                                                                               \
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"      \
	"spec:\n  selector: app == 'web'\n  ingress: " ingress "\n"

static struct ctest T;

static void teardown(void)
{
	ct_free(&T);
}

TestSuite(compiler_services, .fini = teardown);

static void load(const char *yaml)
{
	ct_compile_dir_yaml(&T, "match", yaml);
	cr_assert_eq(T.rc, 0);
}

static bool pass(uint8_t proto, const char *src, const char *dst, uint16_t dport)
{
	struct pal_packet p = ct_pkt(proto, src, 40000, dst, dport);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_FORWARD, "ext0", "cali1", &p);

	if (v.allow)
		ct_expect(&v, true, PAL_STAGE_WORKLOAD, "p", -2);
	return v.allow;
}

/* pod1's egress: a packet from pod1 (cali1) routed out of ext0. */
static bool pass_out(uint8_t proto, const char *dst, uint16_t dport)
{
	struct pal_packet p = ct_pkt(proto, POD1, 40000, dst, dport);
	struct pal_verdict v = ct_eval(&T, PAL_TRACE_FORWARD, "cali1", "ext0", &p);

	if (v.allow)
		ct_expect(&v, true, PAL_STAGE_WORKLOAD, "p", -2);
	return v.allow;
}

#define DB "198.18.7.1"
#define DB_SLICE SLICE("db-abc", "data", "db", "['" DB "', '198.18.7.2']",                       \
		       "[{name: pg, port: 5432, protocol: TCP}, {name: alt, port: 6432}, "          \
		       "{name: dns, port: 53, protocol: UDP}, {name: any}]")

Test(compiler_services, destination_is_the_endpoints_addresses_and_ports)
{
	load(GNPE("[{action: Allow, destination: {services: {name: db, namespace: data}}}]")
		     SERVICE("db", "data") DB_SLICE);
	cr_assert(pass_out(PAL_PROTO_TCP, DB, 5432));
	cr_assert(pass_out(PAL_PROTO_TCP, "198.18.7.2", 5432));
	cr_assert(pass_out(PAL_PROTO_TCP, DB, 6432), "slice port protocol defaults to TCP");
	cr_assert(pass_out(PAL_PROTO_UDP, DB, 53));
	cr_assert_not(pass_out(PAL_PROTO_TCP, DB, 53));
	cr_assert_not(pass_out(PAL_PROTO_UDP, DB, 5432));
	cr_assert_not(pass_out(PAL_PROTO_TCP, DB, 80), "the Service's own port is not matched");
	cr_assert_not(pass_out(PAL_PROTO_TCP, "198.18.250.1", 80), "nor its cluster IP");
	cr_assert_not(pass_out(PAL_PROTO_TCP, "198.18.7.3", 5432));
	cr_assert_not(pass_out(PAL_PROTO_ICMP, DB, 0));
}

Test(compiler_services, destination_service_rules_are_validated_as_calico_does)
{
	struct mtest t;

	mt_load(&t, GNP("[{action: Allow, destination: {services: {name: db, namespace: data}}}]"));
	mt_expect_error(&t, "6:53", "spec.ingress[0].destination.services",
			"services are not allowed in an ingress rule's destination");
	mt_free(&t);
}

Test(compiler_services, source_is_the_endpoints_addresses_of_every_slice)
{
	load(GNP("[{action: Allow, source: {services: {name: clients, namespace: prod}}}]")
		     SLICE("clients-1", "prod", "clients", "['" CLIENT "']", "[]")
		     SLICE("clients-2", "prod", "clients", "['198.18.100.3']", "[{port: 1}]")
		     SLICE("clients-x", "other", "clients", "['" OTHER "']", "[]")
		     SLICE("others", "prod", "others", "['198.18.100.4']", "[]"));
	cr_assert(pass(PAL_PROTO_TCP, CLIENT, POD1, 1234));
	cr_assert(pass(PAL_PROTO_UDP, "198.18.100.3", POD1, 5), "any port: source has no ports");
	cr_assert_not(pass(PAL_PROTO_TCP, OTHER, POD1, 1234), "another namespace's service");
	cr_assert_not(pass(PAL_PROTO_TCP, "198.18.100.4", POD1, 1234), "another service");
}

Test(compiler_services, namespaced_policy_defaults_to_its_namespace)
{
	load("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, "
	     "namespace: prod}\nspec:\n  selector: app == 'web'\n  ingress: [{action: Allow, "
	     "source: {services: {name: clients}}}]\n"
	     SLICE("c", "prod", "clients", "['" CLIENT "']", "[]")
	     SLICE("c", "other", "clients", "['" OTHER "']", "[]"));
	cr_assert(pass(PAL_PROTO_TCP, CLIENT, POD1, 1));
	cr_assert_not(pass(PAL_PROTO_TCP, OTHER, POD1, 1));
}

/* A GlobalNetworkPolicy must name the namespace (a load error, test_model_validation); a
 * profile has no namespace either, and Calico lets it leave it out. */
Test(compiler_services, profile_without_namespace_warns_and_matches_nothing)
{
	ct_compile_dir_yaml(&T, "match",
			    "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: prof}\n"
			    "spec:\n  ingress: [{action: Allow, source: {services: {name: clients}}}]\n"
			    SLICE("c", "default", "clients", "['" CLIENT "']", "[]"));
	cr_assert(ct_has_diag(&T.d, PAL_SEV_WARNING, "matches no Service",
			      "spec.ingress[0].source.services"));
}

Test(compiler_services, a_service_without_slices_matches_nothing)
{
	load(GNP("[{action: Allow, source: {services: {name: gone, namespace: prod}}}]\n"
		 "  egress: [{action: Allow, destination: {services: {name: gone, namespace: prod}}}]"));
	cr_assert_not(pass(PAL_PROTO_TCP, CLIENT, POD1, 8080));
	cr_assert_not(pass_out(PAL_PROTO_TCP, CLIENT, 8080));
}

Test(model_service, endpoint_slice_and_service_decode)
{
	struct mtest t;

	mt_check_clean(&t, SERVICE("db", "data") DB_SLICE
		       "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		       "metadata: {name: ext, namespace: prod}\naddressType: FQDN\n"
		       "endpoints: [{addresses: [db.example.com]}]\nports: [{port: 5432}]\n");
	MT_EXPECT_COUNTS(&t, .services = 1, .endpoint_slices = 2);
	cr_assert_str_eq(t.m.endpoint_slices.v[0].service_name, "db");
	cr_assert_eq(t.m.endpoint_slices.v[0].n_addrs, 2);
	cr_assert_eq(t.m.endpoint_slices.v[0].n_ports, 4);
	cr_assert_eq(t.m.endpoint_slices.v[0].ports[3].port, 0, "a port without a number");
	cr_assert_eq(t.m.endpoint_slices.v[0].ports[1].protocol, PAL_PROTO_TCP);
	cr_assert_null(t.m.endpoint_slices.v[1].service_name);
	cr_assert_eq(t.m.endpoint_slices.v[1].n_addrs, 0, "FQDN addresses are not IPs");
	mt_free(&t);
}

Test(model_service, endpoint_slice_errors)
{
	mt_check_error(SLICE("s", "prod", "web", "['198.18.0.300']", "[]") + 4, "9:15",
		       "endpoints[0].addresses[0]", "invalid IP address \"198.18.0.300\"");
	mt_check_error("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
		       "addressType: IPX\n",
		       "4:14", "addressType", "invalid addressType \"IPX\"");
	mt_check_error("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n"
		       "addressType: IPv4\nports: [{port: 1, protocol: ICMP}]\n",
		       "5:29", "ports[0].protocol", "must be TCP, UDP or SCTP");
	mt_check_error("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIp: x}\n",
		       "4:8", "spec.clusterIp", "clusterIp");
}
