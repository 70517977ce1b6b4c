# Watching: Kubernetes ConfigMap "..data" symlink swaps, a deleted and recreated policy
# directory (and its parents), a new subdirectory; files the loader
# ignores (hidden, other extensions) do not trigger reloads.
. "$(dirname "$0")/lib.sh"

# ConfigMap layout: ..<ts>/ holds the files, ..data -> ..<ts>, top-level links into ..data/.
cm="$TMP/cm"
mkdir -p "$cm/..2026_11_28_00_00_00.1"
write_policy "$cm/..2026_11_28_00_00_00.1"
ln -s ..2026_11_28_00_00_00.1 "$cm/..data"
ln -s ..data/10-endpoints.yaml "$cm/10-endpoints.yaml"
ln -s ..data/20-policy.yaml "$cm/20-policy.yaml"
d2="$TMP/later/parent/p"
extra_policy() { # extra_policy FILE NAME
	cat >"$1" <<YAML
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: $2
spec:
  selector: role == "edge"
  ingress:
  - action: Allow
    protocol: UDP
YAML
}
mkdir -p "$d2"
extra_policy "$d2/extra.yaml" extra
start_agent --policy-dir "$cm" --policy-dir "$d2" --log-level debug
[ "$(rules)" = 2 ] || fail "initial rules: $(rules), want 2"

# The kubelet's update: new timestamped dir, new ..data_tmp link renamed over ..data, old dir gone.
g=$(gen)
new="$cm/..2026_11_28_00_01_00.2"
mkdir "$new"
write_policy "$new" "  - action: Deny
  - action: Deny"
t0=$(date +%s%N)
ln -s ..2026_11_28_00_01_00.2 "$cm/..data_tmp"
mv -T "$cm/..data_tmp" "$cm/..data"
rm -rf "$cm/..2026_11_28_00_00_00.1"
wait_gen_above "$g"
wait_until 2 rules_are 4 || fail "ConfigMap swap: rules $(rules), want 4"
echo "ConfigMap swap latency (ms): $((($(applied_ns) - t0) / 1000000))"

# A deleted policy directory is an error (the last good policy stays), not "no policy": a
# half-finished `rm -rf && cp` deploy must not open the node.
g=$(gen)
n_rejected=$(grep -c "policy rejected" "$TMP/agent.log")
rm -rf "$d2"
rejected_above() { [ "$(grep -c "policy rejected" "$TMP/agent.log")" -gt "$1" ]; }
wait_until 5 rejected_above "$n_rejected" ||
	fail "deleting a policy directory was not reported"
[ "$(gen)" = "$g" ] || fail "deleting a policy directory changed the generation"
# Recreated (the parent's watch notices), with different content.
mkdir "$d2"
extra_policy "$d2/x.yaml" x
extra_policy "$d2/y.yaml" y
wait_gen_above "$g"
wait_until 2 rules_are 5 || fail "recreated dir: rules $(rules), want 5"

# The whole path gone and back: the nearest existing ancestor is watched.
g=$(gen)
rm -rf "$TMP/later"
sleep 0.1
mkdir -p "$d2"
extra_policy "$d2/x.yaml" x
wait_gen_above "$g"
wait_until 2 rules_are 4 || fail "recreated path: rules $(rules), want 4"

# A new subdirectory and a file in it.
g=$(gen)
mkdir -p "$d2/sub/deeper"
extra_policy "$d2/sub/deeper/z.yaml" z
wait_until 5 rules_are 5 || fail "file in a new subdirectory: rules $(rules), want 5"

# Ignored names: no reload.
sleep 0.2
g=$(gen)
echo junk >"$d2/.x.yaml.swp"
echo junk >"$d2/notes.txt"
mkdir "$d2/.hidden"
sleep 0.3
[ "$(gen)" = "$g" ] || fail "an ignored file triggered a reload"
exit 0
