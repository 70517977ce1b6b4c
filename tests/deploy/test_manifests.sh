#!/usr/bin/env bash
# deploy/kubernetes against the replay API server (tests/k8s/): every manifest file and every
# kustomize rendering (base, each component, uninstall) passes `kubectl apply --dry-run=client`
# through the server's discovery, and the rendered objects say what docs/kubernetes.md promises:
# the image override, IfNotPresent, --datastore kubernetes, the node name from spec.nodeName,
# probe and flag ports that agree and collide with no other CNI agent, AppArmor unconfined and
# spc_t, exactly the datastore's RBAC. Runs with the kustomize of any kubectl from Debian 12's
# 1.20 on. A deliberately broken manifest must fail the same check.
# `make test-manifests` (part of `make test`); no root needed.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
. tests/k8s/lib.sh

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
command -v kubectl >/dev/null || fail "kubectl missing (Debian package kubernetes-client)"
command -v jq >/dev/null || fail "jq missing"
VERSION=${VERSION:-$(make -s version)}
TEST_IMAGE=registry.example:5000/team/palisade:9.8.7

TMP=$(mktemp -d "/tmp/deploy-manifests-$$.XXXXXX")
cleanup() { local rc=$?; k8s_stop; rm -rf "$TMP"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

k8s_start "$TMP/server" || fail "replay server"

# dry_run FILE: kubectl apply --dry-run=client, with kubectl's schema validation (the replay
# server's OpenAPI documents, tests/k8s/replay_openapi.py: unknown fields and wrong types fail;
# kinds, versions and scopes are checked through discovery) prints one "created (dry run)" per
# object; the objects as JSON go to FILE.json.
dry_run() {
	local f=$1 n out
	out=$(k8s_kubectl apply --dry-run=client -f "$f" 2>&1) ||
		{ echo "$out"; return 1; }
	n=$(grep -c '^kind:' "$f")
	[ "$(grep -c 'created (dry run)' <<<"$out")" -eq "$n" ] ||
		{ echo "want $n objects created (dry run), kubectl said: $out"; return 1; }
	k8s_kubectl apply --dry-run=client -o json -f "$f" >"$f.json" 2>&1 ||
		{ cat "$f.json"; return 1; }
}

# Every object file under deploy/kubernetes (kustomization files and JSON patches are inputs to
# kustomize, not objects).
n=0
while IFS= read -r f; do
	grep -q '^kind:' "$f" || continue
	cp "$f" "$TMP/file.yaml"
	out=$(dry_run "$TMP/file.yaml") || fail "kubectl apply --dry-run=client -f $f: $out"
	n=$((n + 1))
done < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
[ "$n" -ge 3 ] || fail "only $n manifest files found under deploy/kubernetes"
ok "$n manifest files pass kubectl apply --dry-run=client"

# The renderings.
render() { # render NAME DIR; IMAGE from the environment
	local name=$1; shift
	deploy/kubernetes/render.sh "$@" >"$TMP/$name.yaml" 2>"$TMP/$name.err" ||
		fail "render $*: $(cat "$TMP/$name.err")"
	out=$(dry_run "$TMP/$name.yaml") || fail "dry run of the $name rendering: $out"
}
IMAGE=$TEST_IMAGE render base deploy/kubernetes
IMAGE=$TEST_IMAGE render files deploy/kubernetes/configmap-feed
IMAGE=$TEST_IMAGE render annotation deploy/kubernetes/apparmor-annotation-only
IMAGE=$TEST_IMAGE render events deploy/kubernetes/events-group
IMAGE=$TEST_IMAGE render uninstall deploy/kubernetes/uninstall
render default deploy/kubernetes
for d in deploy/kubernetes deploy/kubernetes/configmap-feed deploy/kubernetes/apparmor-annotation-only \
	deploy/kubernetes/events-group deploy/kubernetes/uninstall; do
	out=$(k8s_kubectl apply --dry-run=client -k "$d" 2>&1) ||
		fail "kubectl apply -k $d --dry-run=client: $out"
done
ok "kustomize renderings (base, configmap-feed, apparmor-annotation-only, events-group, uninstall) and apply -k of each pass the dry run"

# The check can fail: a kind the API does not serve, and a namespaced kind without its group.
sed 's/^kind: DaemonSet$/kind: DeamonSet/' "$TMP/base.yaml" >"$TMP/typo.yaml"
! dry_run "$TMP/typo.yaml" >/dev/null 2>&1 || fail "a DeamonSet passed the dry run"
sed 's#^apiVersion: apps/v1$#apiVersion: v1#' "$TMP/base.yaml" >"$TMP/group.yaml"
! dry_run "$TMP/group.yaml" >/dev/null 2>&1 || fail "a v1 DaemonSet passed the dry run"
sed 's/mountPropagation:/mountPropagaton:/' "$TMP/base.yaml" >"$TMP/field.yaml"
out=$(dry_run "$TMP/field.yaml" 2>&1) && fail "a misspelt field passed the dry run"
case "$out" in *'unknown field "mountPropagaton"'*) ;; *) fail "a misspelt field: $out" ;; esac
sed 's/privileged: true/privileged: "yes"/' "$TMP/base.yaml" >"$TMP/type.yaml"
out=$(dry_run "$TMP/type.yaml" 2>&1) && fail "a string for a boolean passed the dry run"
case "$out" in *'privileged: got "string", expected "boolean"'*) ;; *) fail "a wrong type: $out" ;; esac
ok "a misspelt kind, a wrong group, a misspelt field and a wrong type fail the dry run"

# expect NAME JQ-FILTER DESCRIPTION: the filter, run on the objects of rendering NAME (a List),
# must print true.
expect() {
	local name=$1 filter=$2 what=$3 got
	got=$(jq -r "$filter" "$TMP/$name.yaml.json" 2>&1)
	[ "$got" = true ] || fail "$name: $what (got: $got)"
	ok "$name: $what"
}
ds='(.items[] | select(.kind == "DaemonSet"))'
pod="$ds.spec.template"
agent="($pod.spec.containers[] | select(.name == \"palisaded\"))"
all_containers="[$pod.spec.initContainers[]?, $pod.spec.containers[]]"

expect base "[$all_containers[].image] | all(. == \"$TEST_IMAGE\")" "every container runs the image given by IMAGE"
expect uninstall "[$all_containers[].image] | all(. == \"$TEST_IMAGE\")" "every container runs the image given by IMAGE"
expect default "[$all_containers[].image] | all(. == \"localhost/palisade:$VERSION\")" \
	"the default image is what make image builds (localhost/palisade:$VERSION)"
expect base "[$all_containers[].imagePullPolicy] | all(. == \"IfNotPresent\")" "imagePullPolicy IfNotPresent"
expect base "$agent.args | index(\"--datastore=kubernetes\") != null" "--datastore kubernetes is the default"
expect base "($agent.args | index(\"--node=\$(NODE_NAME)\") != null) and
	($agent.env[] | select(.name == \"NODE_NAME\") | .valueFrom.fieldRef.fieldPath == \"spec.nodeName\")" \
	"the node name comes from spec.nodeName"
# Ports: the flags' ports are the named containerPorts, the probes use them, and none is a port of
# calico-node/Typha, cilium-agent/operator/hubble, the kubelet or kube-proxy.
expect base "($agent.args[] | select(startswith(\"--health=\")) | split(\":\") | last | tonumber) as \$h |
	($agent.args[] | select(startswith(\"--metrics=\")) | split(\":\") | last | tonumber) as \$m |
	($agent.ports | map({(.name): .containerPort}) | add) as \$p |
	\$p.health == \$h and \$p.metrics == \$m and
	([[$agent.startupProbe, $agent.livenessProbe, $agent.readinessProbe][].httpGet.port] | all(. == \"health\")) and
	([\$h, \$m] | all(. as \$x | [9099, 9091, 9093, 9094, 9098, 5473, 179, 4240, 4244, 4245, 9234,
	  9876, 9879, 9890, 9891, 9962, 9963, 9964, 10248, 10249, 10250, 10255, 10256, 10257, 10259]
	  | index(\$x) == null))" \
	"health and metrics ports agree between flags, containerPorts and probes, and avoid Calico's, Cilium's and Kubernetes' ports"
expect base "$agent.startupProbe.httpGet.path == \"/livez\" and $agent.livenessProbe.httpGet.path == \"/livez\" and
	$agent.readinessProbe.httpGet.path == \"/readyz\"" "startup, liveness and readiness probes"
expect base "$pod.spec.securityContext.appArmorProfile.type == \"Unconfined\" and
	($pod.metadata.annotations as \$a | [$all_containers[].name] |
	 all(\$a[\"container.apparmor.security.beta.kubernetes.io/\" + .] == \"unconfined\"))" \
	"AppArmor unconfined by field and by annotation for every container"
expect base "$pod.spec.securityContext.seLinuxOptions.type == \"spc_t\"" "SELinux type spc_t"
expect annotation "($pod.spec.securityContext | has(\"appArmorProfile\") | not) and
	$pod.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/palisaded\"] == \"unconfined\"" \
	"the pre-1.30 variant drops the field, keeps the annotation"
expect base "$pod.spec.hostNetwork == true and ($pod.spec.hostPID // false) == false and
	$pod.spec.priorityClassName == \"system-node-critical\" and
	($pod.spec.tolerations | any(.operator == \"Exists\" and (has(\"key\") | not) and (has(\"effect\") | not))) and
	$pod.spec.terminationGracePeriodSeconds > 0" \
	"hostNetwork without hostPID, system-node-critical, tolerates every taint, a grace period"
expect base "$agent.resources.requests.memory == \"64Mi\" and ($agent.resources.limits.memory | test(\"^[0-9]+Mi\$\"))" \
	"memory request at the 64 MB goal, with a limit"
# RBAC: exactly get/list/watch of the resources the Kubernetes datastore reads.
rbac_want=$(for r in namespaces pods nodes serviceaccounts services discovery.k8s.io/endpointslices \
	networking.k8s.io/networkpolicies; do echo "$r"; done
	for g in crd.projectcalico.org projectcalico.org; do
		for r in globalnetworkpolicies networkpolicies tiers hostendpoints globalnetworksets networksets; do
			echo "$g/$r"; done; done)
rbac_want=$(for r in $rbac_want; do for v in get list watch; do echo "$r:$v"; done; done | sort | jq -R . | jq -sc .)
expect base "[.items[] | select(.kind == \"ClusterRole\") | .rules[] | . as \$r | .apiGroups[] as \$g |
	\$r.resources[] as \$res | \$r.verbs[] | (if \$g == \"\" then \"\" else \$g + \"/\" end) + \$res + \":\" + .]
	| sort == $rbac_want" "ClusterRole: get, list and watch of exactly the datastore's resources"
expect files "($agent.args | index(\"--datastore=files\") != null) and
	($agent.args | index(\"--policy-dir=/etc/palisade/policies\") != null) and
	($agent.volumeMounts | any(.name == \"policies\" and .mountPath == \"/etc/palisade/policies\")) and
	($pod.spec.volumes | any(.configMap.name == \"policies\" or .configMap.name == \"palisade-policies\")) and
	(.items | any(.kind == \"ConfigMap\" and .metadata.name == \"palisade-policies\"))" \
	"the configmap-feed variant reads the ConfigMap palisade-policies with --datastore files"
# The state file (and the event socket) in the node's /run/palisade: it outlives the container.
expect base "($agent.volumeMounts[] | select(.mountPath == \"/run/palisade\") | .name) as \$v |
	($pod.spec.volumes[] | select(.name == \$v) | .hostPath.path == \"/run/palisade\")" \
	"the agent's run directory (the state file of the last good versions) is the node's /run/palisade"
# The group is a number (no host group name resolves in the image) and the socket's directory is
# the node's /run/palisade, where polctl monitor looks by default.
expect events "($agent.args | map(select(startswith(\"--events-socket-group=\"))) |
	length == 1 and (.[0] | ltrimstr(\"--events-socket-group=\") | test(\"^[0-9]+\$\"))) and
	($agent.args | any(startswith(\"--events-socket=\")) | not) and
	($agent.volumeMounts[] | select(.mountPath == \"/run/palisade\") | .name) as \$v |
	($pod.spec.volumes[] | select(.name == \$v) | .hostPath.path == \"/run/palisade\")" \
	"the events-group variant gives the node's /run/palisade/events.sock to a group by GID"
expect uninstall "($pod.spec.initContainers[0].command | index(\"--uninstall\") != null) and
	($pod.spec.initContainers[0].command | index(\"--bpffs=/sys/fs/bpf/palisade\") != null) and
	$pod.spec.hostNetwork == true and ($pod.spec.tolerations | any(.operator == \"Exists\"))" \
	"the uninstall DaemonSet runs palisaded --uninstall on the agent's pin directory on every node"
echo "test_manifests: passed"
