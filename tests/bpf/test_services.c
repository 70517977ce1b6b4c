/* Calico's `services:` match through the programs: pod b may reach Service db (pod a's address,
 * TCP 5432, from its EndpointSlice) and nothing else; pod a admits only the endpoints of Service
 * clients (pod b). The evaluator and the datapath must agree on every packet. */
#include <criterion/criterion.h>
#include "bpft.h"
#include "test_compiler_util.h"

static const char *yaml =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: a, namespace: prod, labels: {app: db}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali0, ipNetworks: [198.18.3.1/32],"
	" profiles: [kns.prod]}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
	"metadata: {name: b, namespace: prod, labels: {app: web}}\n"
	"spec: {node: node1, orchestrator: k8s, interfaceName: cali1, ipNetworks: [198.18.3.2/32],"
	" profiles: [kns.prod]}\n---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: db-1, namespace: prod, labels: {kubernetes.io/service-name: db}}\n"
	"addressType: IPv4\nendpoints: [{addresses: [198.18.3.1]}]\n"
	"ports: [{name: pg, port: 5432, protocol: TCP}]\n---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: clients-1, namespace: prod, labels: {kubernetes.io/service-name: clients}}\n"
	"addressType: IPv4\nendpoints: [{addresses: [198.18.3.2]}]\nports: []\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: web, namespace: prod}\n"
	"spec:\n  selector: app == 'web'\n  types: [Egress]\n"
	"  egress: [{action: Allow, destination: {services: {name: db}}}, {action: Deny}]\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: prod}\n"
	"spec:\n  selector: app == 'db'\n  types: [Ingress]\n"
	"  ingress: [{action: Allow, source: {services: {name: clients}}}, {action: Deny}]\n";

BT_YAML_SUITE(bpf_services, yaml);

static void check(const char *in, const char *out, const struct pal_packet *p, bool allow)
{
	bt_expect_agree(&T, &C, PAL_TRACE_FORWARD, in, out, p, allow);
}

Test(bpf_services, endpoints_and_ports_of_the_service)
{
	struct pal_packet p = ct_pkt(PAL_PROTO_TCP, "198.18.3.2", 40000, "198.18.3.1", 5432);

	/* b -> a:5432: b's egress allows Service db, a's ingress allows Service clients. */
	check("cali1", "cali0", &p, true);
	/* Another port of a, another protocol: not the Service. */
	p.dport = 80;
	check("cali1", "cali0", &p, false);
	p = ct_pkt(PAL_PROTO_UDP, "198.18.3.2", 40000, "198.18.3.1", 5432);
	check("cali1", "cali0", &p, false);
	/* From outside to a:5432: not an endpoint of Service clients. */
	p = ct_pkt(PAL_PROTO_TCP, "198.18.100.1", 40000, "198.18.3.1", 5432);
	check("eth0", "cali0", &p, false);
}
