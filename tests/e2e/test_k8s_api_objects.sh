#!/usr/bin/env bash
# Objects as a kube-apiserver v1.32 serves them (managedFields, ownerReferences, a status with
# conditions, dual-stack podIPs with IPv6 first), replayed at palisaded --datastore kubernetes,
# then real packets checked against what Kubernetes NetworkPolicy (as Calico implements it) says:
#   - a sidecar's named port (an init container with restartPolicy Always) resolves on its pod;
#   - who may claim an address a policy admits by label: a running pod does (from the update that
#     gives it the address), also while it terminates; it no longer does once the CNI released the address (the AWS VPC CNI's cleared
#     vpc.amazonaws.com/pod-ips), once it Succeeded, and a hostNetwork pod never does (its address
#     is its node's); a pod deleted and recreated under its name in one watch window is the new pod,
#     also with a new address while the agent was cut off (the relist after a 410);
#   - a namespace's label change flips a namespaceSelector both ways, a NetworkPolicy's and a
#     Calico NetworkPolicy's (through the kns. profile's pcns. labels), and kubernetes.io/
#     metadata.name selects a namespace by name; a namespace deleted while its pod still exists
#     no longer admits that pod, created again it does;
#   - a Deployment's pod whose workload endpoint name "<node>-k8s-<pod>-eth0" is longer than a DNS
#     label (67 characters without a dot) and whose service account has a name longer than a
#     label value (63 characters; Kubernetes allows 253 for both) is policed by its policy,
#     including a serviceAccounts match on that name, and a port range (endPort) from an ipBlock
#     with an except.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

# served_pod NS NAME NODE IPS LABELS [JQ]: a Pod as the API server serves it; IPS comma-separated
# in status.podIPs order (podIP is the first, as the kubelet reports it); JQ edits it further.
served_pod() {
	jq -nc --arg ns "$1" --arg name "$2" --arg node "$3" --arg ips "$4" --argjson labels "$5" '
	($ips | split(",") | map(select(. != ""))) as $ipl |
	{apiVersion: "v1", kind: "Pod",
	 metadata: {name: $name, namespace: $ns, generateName: ($name + "-"), labels: $labels,
		annotations: {"kubectl.kubernetes.io/default-container": "c"},
		ownerReferences: [{apiVersion: "apps/v1", kind: "ReplicaSet", name: ($name + "-rs"),
			uid: "3f0c2a8e-1b4d-4c6e-9a7f-0d1e2f3a4b5c", controller: true,
			blockOwnerDeletion: true}],
		managedFields: [
			{manager: "kube-controller-manager", operation: "Update", apiVersion: "v1",
			 time: "2026-12-06T19:00:00Z", fieldsType: "FieldsV1",
			 fieldsV1: {"f:metadata": {"f:generateName": {}, "f:labels": {}}}},
			{manager: "kubelet", operation: "Update", apiVersion: "v1",
			 time: "2026-12-06T19:00:02Z", fieldsType: "FieldsV1", subresource: "status",
			 fieldsV1: {"f:status": {"f:podIPs": {}}}}]},
	 spec: {nodeName: $node, serviceAccountName: "default", serviceAccount: "default",
		restartPolicy: "Always", dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler",
		terminationGracePeriodSeconds: 30, enableServiceLinks: true, priority: 0,
		preemptionPolicy: "PreemptLowerPriority",
		tolerations: [{key: "node.kubernetes.io/not-ready", operator: "Exists",
			effect: "NoExecute", tolerationSeconds: 300}],
		volumes: [{name: "kube-api-access", projected: {defaultMode: 420, sources: []}}],
		containers: [{name: "c", image: "registry.k8s.io/pause:3.10",
			imagePullPolicy: "IfNotPresent", resources: {},
			ports: [{name: "http", containerPort: 8080, protocol: "TCP"}],
			terminationMessagePath: "/dev/termination-log",
			terminationMessagePolicy: "File"}]},
	 status: {phase: "Running", qosClass: "BestEffort", startTime: "2026-12-06T19:00:01Z",
		hostIP: "198.18.1.1", hostIPs: [{ip: "198.18.1.1"}],
		conditions: [{type: "Ready", status: "True", lastProbeTime: null,
			lastTransitionTime: "2026-12-06T19:00:02Z"}],
		containerStatuses: [{name: "c", ready: true, restartCount: 0, started: true,
			image: "registry.k8s.io/pause:3.10", imageID: "", containerID: "containerd://1",
			state: {running: {startedAt: "2026-12-06T19:00:02Z"}}}]}}
	| if ($ipl | length) > 0 then .status.podIP = $ipl[0] | .status.podIPs = ($ipl | map({ip: .}))
	  else . end
	| '"${6:-.}"
}

served_ns() {
	jq -nc --arg name "$1" --argjson labels "${2:-"{}"}" '{apiVersion: "v1", kind: "Namespace",
		metadata: {name: $name, uid: ("ns-" + $name),
			labels: ({"kubernetes.io/metadata.name": $name} + $labels),
			managedFields: [{manager: "kubectl-create", operation: "Update", apiVersion: "v1",
				time: "2026-12-06T18:00:00Z", fieldsType: "FieldsV1",
				fieldsV1: {"f:metadata": {"f:labels": {}}}}]},
		spec: {finalizers: ["kubernetes"]}, status: {phase: "Active"}}'
}

put() { k8s_put "$1" || fail "put: $1"; }

# settle: every pod event so far has been taken: one after them (a sentinel pod's new label) has
# been applied. Before a probe that must stay blocked after a change that converts to nothing.
settle() {
	local g
	g=$(agentd_generation)
	put "$(served_pod infra sentinel node-b 198.18.3.1 "{\"seq\":\"$RANDOM$RANDOM\"}")"
	k8s_wait_applied "$g" >/dev/null || fail "the sentinel pod's change was not applied"
}

# verdict WANT SRC PORT [DST SERVER]: polls (3 s at most) until a TCP connection from the client's
# address SRC to DST:PORT (default the pod web, 198.19.5.10) passes (WANT allowed, answered by
# SERVER) or not (blocked).
verdict() {
	local want=$1 src=$2 port=$3 dst=${4:-198.19.5.10} server=${5:-kweb:$3} i out
	for i in $(seq 6); do
		out=$(PROBE_TIMEOUT=1 tcp_probe client "$dst" "$port" "$src" 2>/dev/null)
		case "$want:$out" in
		allowed:"$server "*) return 0 ;;
		blocked:) return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}
expect() {
	verdict "$@" || fail "$2 -> ${4:-198.19.5.10}:$3 is not $1: $6
$(tail -n 15 "$AGENTD_LOG")"
	log "probe: $2 -> ${4:-198.19.5.10}:$3 $1: $6"
}

# The pod shop/web on this node (IPv6 listed first), with a sidecar serving on its named port.
k8s_web_pod 8080 9090 15000
put "$(served_ns shop)"
put "$(served_ns infra)"
put "$(served_ns ops)"
put "$(served_pod shop web demo-node 2001:db8:5::10,198.19.5.10 '{"app":"web"}' \
	'.spec.initContainers = [{name: "mesh", image: "proxy", restartPolicy: "Always",
		ports: [{name: "mesh-admin", containerPort: 15000, protocol: "TCP"}]}]')"
# 9090 from pods labelled role=trusted of any namespace, 8080 from the pods of namespaces labelled
# team=ops, the sidecar's named port from anywhere.
put "$(jq -nc '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
	metadata: {name: "web-in", namespace: "shop", uid: "np-web-in", generation: 1,
		annotations: {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
		managedFields: [{manager: "kubectl-client-side-apply", operation: "Update",
			apiVersion: "networking.k8s.io/v1", time: "2026-12-06T19:00:00Z",
			fieldsType: "FieldsV1", fieldsV1: {"f:spec": {"f:ingress": {}}}}]},
	spec: {podSelector: {matchLabels: {app: "web"}}, policyTypes: ["Ingress"],
		ingress: [
			{from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: "trusted"}}}],
			 ports: [{protocol: "TCP", port: 9090}]},
			{from: [{namespaceSelector: {matchLabels: {team: "ops"}}}],
			 ports: [{protocol: "TCP", port: 8080}]},
			{ports: [{protocol: "TCP", port: "mesh-admin"}]}]}}')"
k8s_agent_start
n=$(grep -c 'object rejected' "$AGENTD_LOG")
[ "$n" = 0 ] || fail "objects as the API server serves them were rejected: $(grep 'object rejected' "$AGENTD_LOG")"
polctl_json endpoints | jq -e '.[] | select(.name == "demo--node-k8s-web-eth0")
	| select(.addrs | index("2001:db8:5::10") and index("198.19.5.10"))' >/dev/null ||
	fail "pod web's endpoint lacks its dual-stack addresses: $(polctl_json endpoints | jq -c '.[] | {name, addrs}')"

expect allowed 198.18.1.50 15000 "" "" "the sidecar's named port mesh-admin"
expect blocked 198.18.1.50 9090 "" "" "no pod claims 198.18.1.50"
expect blocked 198.18.1.50 8080 "" "" "no pod of a team=ops namespace"

# Claims on 198.18.1.20: a trusted pod of another node admits it while it runs and while it
# terminates, not once the CNI released its address (status.podIP stays until the pod is gone).
# First Pending, without an address (no claim), then with one.
put "$(served_pod infra t1 node-b "" '{"role":"trusted"}' '.status.phase = "Pending"
	| .status.conditions[0].status = "False" | del(.status.containerStatuses)')"
settle
expect blocked 198.18.1.20 9090 "" "" "trusted pod infra/t1 Pending, no address yet"
t1=$(served_pod infra t1 node-b 198.18.1.20 '{"role":"trusted"}' \
	'.metadata.annotations["vpc.amazonaws.com/pod-ips"] = "198.18.1.20"')
put "$t1"
expect allowed 198.18.1.20 9090 "" "" "running trusted pod infra/t1 at 198.18.1.20"
put "$(jq -c '.metadata.deletionTimestamp = "2026-12-06T19:10:00Z"
	| .metadata.deletionGracePeriodSeconds = 30' <<<"$t1")"
expect allowed 198.18.1.20 9090 "" "" "t1 terminating, its address not yet released"
put "$(jq -c '.metadata.deletionTimestamp = "2026-12-06T19:10:00Z"
	| .metadata.annotations["vpc.amazonaws.com/pod-ips"] = ""' <<<"$t1")"
expect blocked 198.18.1.20 9090 "" "" "t1 terminating, the AWS VPC CNI released its address"
k8s_delete v1 Pod infra t1 || fail "delete t1"

# A Job's pod: trusted while it runs, not once it Succeeded (it keeps status.podIP).
job=$(served_pod infra job-x node-b 198.18.1.20 '{"role":"trusted"}')
put "$job"
expect allowed 198.18.1.20 9090 "" "" "running trusted pod infra/job-x"
put "$(jq -c '.status.phase = "Succeeded" | .status.conditions[0].status = "False"' <<<"$job")"
expect blocked 198.18.1.20 9090 "" "" "job-x Succeeded, its address free for the next pod"
k8s_delete v1 Pod infra job-x || fail "delete job-x"

# A hostNetwork pod's address is its node's: never a workload's claim.
put "$(served_pod infra node-agent node-b 198.18.1.20 '{"role":"trusted"}' '.spec.hostNetwork = true')"
settle
expect blocked 198.18.1.20 9090 "" "" "hostNetwork pod labelled trusted at its node's address"
k8s_delete v1 Pod infra node-agent || fail "delete node-agent"

# The same name deleted and recreated (a new uid, other labels) in one watch window.
put "$(served_pod infra t2 node-b 198.18.1.20 '{"role":"trusted"}')"
expect allowed 198.18.1.20 9090 "" "" "trusted pod infra/t2"
k8s_delete v1 Pod infra t2 || fail "delete t2"
put "$(served_pod infra t2 node-b 198.18.1.20 '{"role":"batch"}')"
expect blocked 198.18.1.20 9090 "" "" "infra/t2 recreated without role=trusted"

# The same name recreated with a new uid and another address while the agent is cut off and the
# history is compacted (the DELETED event is never seen: the relist after the 410 shows one change
# of the key): the old address is no longer a trusted pod's, the new one is.
put "$(served_pod infra t3 node-b 198.18.1.20 '{"role":"trusted"}')"
expect allowed 198.18.1.20 9090 "" "" "trusted pod infra/t3 at 198.18.1.20"
k8s_delete v1 Pod infra t2 || fail "delete t2"
k8s_ctl POST /stop >/dev/null || fail "control: stop"
k8s_delete v1 Pod infra t3 || fail "delete t3"
put "$(served_pod infra t3 node-b 198.18.1.50 '{"role":"trusted"}')"
k8s_ctl POST /compact >/dev/null || fail "control: compact"
k8s_ctl POST /start >/dev/null || fail "control: start"
expect allowed 198.18.1.50 9090 "" "" "infra/t3 recreated (new uid) at 198.18.1.50, seen by a relist"
expect blocked 198.18.1.20 9090 "" "" "infra/t3's old address 198.18.1.20 after the relist"
grep -q 'watch history compacted, listing again' "$AGENTD_LOG" || fail "no relist after the compaction"
k8s_delete v1 Pod infra t3 || fail "delete t3"
expect blocked 198.18.1.50 9090 "" "" "infra/t3 deleted"

# A namespace's label change flips the namespaceSelector, both ways.
put "$(served_pod ops o1 node-b 198.18.1.200 '{}')"
settle
expect blocked 198.18.1.200 8080 "" "" "ops/o1, namespace ops not yet team=ops"
put "$(served_ns ops '{"team":"ops"}')"
expect allowed 198.18.1.200 8080 "" "" "namespace ops labelled team=ops"
put "$(served_ns ops)"
expect blocked 198.18.1.200 8080 "" "" "namespace ops label removed"

# The same through a Calico NetworkPolicy's namespaceSelector (the namespace's labels reach its
# pods through the kns.ops profile's pcns. labels), and kubernetes.io/metadata.name, the label the
# API server gives every namespace, in a NetworkPolicy's namespaceSelector.
put "$(jq -nc '{apiVersion: "crd.projectcalico.org/v1", kind: "NetworkPolicy",
	metadata: {name: "default.from-blue", namespace: "shop"},
	spec: {tier: "default", order: 100, selector: "app == \"web\"", types: ["Ingress"],
		ingress: [{action: "Allow", protocol: "TCP",
			source: {namespaceSelector: "color == \"blue\""},
			destination: {ports: [9090]}}]}}')"
put "$(jq -nc '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
	metadata: {name: "from-ops-by-name", namespace: "shop"},
	spec: {podSelector: {matchLabels: {app: "web"}}, policyTypes: ["Ingress"],
		ingress: [{from: [{namespaceSelector:
				{matchLabels: {"kubernetes.io/metadata.name": "ops"}}}],
			ports: [{protocol: "TCP", port: 8080}]}]}}')"
expect blocked 198.18.1.200 9090 "" "" "ops/o1, namespace ops not color=blue"
expect allowed 198.18.1.200 8080 "" "" "ops/o1, namespaceSelector kubernetes.io/metadata.name=ops"
put "$(served_ns ops '{"color":"blue"}')"
expect allowed 198.18.1.200 9090 "" "" "namespace ops labelled color=blue (Calico namespaceSelector)"
put "$(served_ns ops)"
expect blocked 198.18.1.200 9090 "" "" "namespace ops no longer color=blue"
put "$(served_ns ops '{"color":"blue"}')"
expect allowed 198.18.1.200 9090 "" "" "namespace ops color=blue again"
# The namespace deleted while its pod still exists (the pod's DELETED event comes later, on
# another watch): its labels are gone with it, as Calico's kns.ops profile is, so neither
# selector admits the pod; created again, they do.
# A namespaceSelector of all namespaces ({}, Calico's all(): has(projectcalico.org/namespace), a
# label of the pod itself) still admits its trusted pod.
put "$(served_pod ops o2 node-b 198.18.1.20 '{"role":"trusted"}')"
expect allowed 198.18.1.20 9090 "" "" "trusted pod ops/o2"
k8s_delete v1 Namespace "" ops || fail "delete namespace ops"
expect blocked 198.18.1.200 9090 "" "" "namespace ops deleted, pod ops/o1 not (Calico namespaceSelector)"
expect blocked 198.18.1.200 8080 "" "" "namespace ops deleted, pod ops/o1 not (kubernetes.io/metadata.name)"
expect allowed 198.18.1.20 9090 "" "" "namespace ops deleted, trusted pod ops/o2 (namespaceSelector {})"
k8s_delete v1 Pod ops o2 || fail "delete o2"
put "$(served_ns ops)"
expect allowed 198.18.1.200 8080 "" "" "namespace ops created again (kubernetes.io/metadata.name)"
expect blocked 198.18.1.200 9090 "" "" "namespace ops created again without color=blue"
k8s_delete crd.projectcalico.org/v1 NetworkPolicy shop default.from-blue || fail "delete from-blue"
k8s_delete networking.k8s.io/v1 NetworkPolicy shop from-ops-by-name || fail "delete from-ops-by-name"

# A Deployment's pod (its workload endpoint name of 67 characters without a dot) of a service
# account of 70 characters: policed (8080 by a NetworkPolicy; 9090 by a Calico policy matching
# that service account by name), its ServiceAccount loads.
sa=api-$(printf 'x%.0s' $(seq 66))
[ ${#sa} = 70 ] || fail "service account name of ${#sa} characters"
api=checkout-api-v2-deployment-7d9c8b6f5-x2kq9
wep=demo--node-k8s-$(sed 's/-/--/g' <<<"$api")-eth0
[ ${#wep} = 67 ] || fail "workload endpoint name of ${#wep} characters"
IF_API=$(calico_iface shop "$api")
k8s_pod_net kapi "$IF_API" 198.19.5.20
tcp_server kapi 8080
tcp_server kapi 9090
tcp_server kapi 7070
tcp_server kapi 7200
put "$(jq -nc --arg sa "$sa" '{apiVersion: "v1", kind: "ServiceAccount",
	metadata: {name: $sa, namespace: "shop", uid: "sa-api"}}')"
put "$(jq -nc '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
	metadata: {name: "api-in", namespace: "shop"},
	spec: {podSelector: {matchLabels: {app: "api"}}, policyTypes: ["Ingress"],
		ingress: [{ports: [{protocol: "TCP", port: 8080}]}]}}')"
# A port range (endPort, inclusive) from an ipBlock with an except: 198.18.1.0/27 (.20) is not
# admitted, the rest of 198.18.1.0/24 (.50) is, on 7000..7100 only.
put "$(jq -nc '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
	metadata: {name: "api-range", namespace: "shop"},
	spec: {podSelector: {matchLabels: {app: "api"}}, policyTypes: ["Ingress"],
		ingress: [{from: [{ipBlock: {cidr: "198.18.1.0/24", except: ["198.18.1.0/27"]}}],
			ports: [{protocol: "TCP", port: 7000, endPort: 7100}]}]}}')"
put "$(jq -nc --arg sa "$sa" '{apiVersion: "crd.projectcalico.org/v1", kind: "NetworkPolicy",
	metadata: {name: "default.api-sa", namespace: "shop"},
	spec: {tier: "default", order: 100, selector: "app == \"api\"", types: ["Ingress"],
		ingress: [{action: "Allow", protocol: "TCP",
			destination: {ports: [9090], serviceAccounts: {names: [$sa]}}}]}}')"
put "$(served_pod shop "$api" demo-node 198.19.5.20 '{"app":"api"}' \
	'.spec.serviceAccountName = "'"$sa"'" | .spec.serviceAccount = "'"$sa"'"')"
k8s_wait_bound "$IF_API" "$wep" "$(now_ms)" >/dev/null ||
	fail "pod $api (service account of 70 characters) not bound: $(k8s_status | jq -c .bad_objects)"
expect allowed 198.18.1.50 8080 198.19.5.20 kapi:8080 "pod api, its NetworkPolicy's port"
expect allowed 198.18.1.50 9090 198.19.5.20 kapi:9090 "pod api, serviceAccounts names [its 70-character account]"
expect allowed 198.18.1.50 7070 198.19.5.20 kapi:7070 "pod api, 7000..7100 from 198.18.1.0/24"
expect blocked 198.18.1.20 7070 198.19.5.20 - "pod api, 7000..7100 but from the except 198.18.1.0/27"
expect blocked 198.18.1.50 7200 198.19.5.20 - "pod api, a port no policy allows"
n=$(grep -c 'object rejected' "$AGENTD_LOG")
[ "$n" = 0 ] || fail "objects rejected: $(grep 'object rejected' "$AGENTD_LOG")"

agentd_stop
exit 0
