# Manifests written by others, against the running agent: a policy file truncated to nothing (a
# `kubectl get ... > file` that failed) keeps the last good policy in force and names the file;
# kubectl's dump of Calico's CRDs, with YAML anchors and merge keys and an IPPool beside the
# policy, applies; a port kubectl reads as 80 but written 0x50 is refused at its line and column,
# and the last good policy stays.
. "$(dirname "$0")/lib.sh"
# Its workload lives on another node: a local one would turn the forward watch on (links.h rule 6)
# and attach every link of the host network namespace this test runs in.
WEP_NODE=other-node

write_policy "$TMP/p" "  - action: Deny
    protocol: UDP
    destination:
      ports: [53]"
port=$(free_port)
start_agent --policy-dir "$TMP/p" --health "127.0.0.1:$port"
[ "$(rules)" = 2 ] || fail "rules at the start: $(rules), want 2"

# 1. The policy file truncated: an error naming it, the last good generation kept.
g=$(gen)
: >"$TMP/p/20-policy.yaml"
wait_until 5 grep -q "20-policy.yaml: error: the file holds no resources" "$TMP/agent.log" ||
	fail "an emptied policy file was not reported"
http "$port" /readyz
[ "$code" = 503 ] || fail "/readyz with an emptied policy file: $code $body"
contains "$body" "last good generation $g still enforced"
contains "$body" "20-policy.yaml: error: the file holds no resources"
[ "$(gen)" = "$g" ] && [ "$(rules)" = 2 ] || fail "an emptied file changed the policy: generation $(gen), rules $(rules)"

# 2. kubectl's CRD form, anchors and a merge key, an IPPool: applied, the IPPool skipped.
cat >"$TMP/p/20-policy.yaml" <<'YAML'
apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: crd.projectcalico.org/v1
  kind: GlobalNetworkPolicy
  metadata:
    name: default.edge-ssh
    uid: 1b7c9d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e
    resourceVersion: "1801"
    generation: 2
  spec:
    selector: role == "edge"
    ingress:
    - &ssh {action: Allow, protocol: TCP, destination: {ports: [22]}}
    - {<<: *ssh, destination: {ports: [2222]}}
    - <<: *ssh
      protocol: UDP
      destination: {ports: [5353]}
- apiVersion: crd.projectcalico.org/v1
  kind: IPPool
  metadata: {name: default-ipv4-ippool}
  spec: {cidr: 198.18.0.0/16, ipipMode: Never}
YAML
wait_gen_above "$g"
[ "$(rules)" = 3 ] || fail "rules from the CRD dump: $(rules), want 3"
grep -q "20-policy.yaml:21:9: warning: IPPool is not policy palisade enforces" "$TMP/agent.log" ||
	fail "the IPPool was not reported as skipped"
http "$port" /readyz
[ "$code" = 200 ] || fail "/readyz after the CRD dump: $code $body"

# 3. A port written 0x50: refused where it is written, the last good policy kept.
g=$(gen)
sed -i 's/ports: \[2222\]/ports: [0x50]/' "$TMP/p/20-policy.yaml"
wait_until 5 grep -q "20-policy.yaml:16:40: error: port 0x50 is not written in decimal; YAML 1.1 readers such as kubectl and calicoctl read it as 80" "$TMP/agent.log" ||
	fail "a 0x50 port was not refused at its line"
[ "$(gen)" = "$g" ] && [ "$(rules)" = 3 ] || fail "a refused file changed the policy: generation $(gen), rules $(rules)"
kill -0 "$AGENT" || fail "agent died on a refused manifest"
stop_agent || fail "agent exited $? on SIGTERM"
