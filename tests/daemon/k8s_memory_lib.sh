# Shared by test_k8s_memory*.sh (sourced, not a test): lib.sh and tests/k8s/lib.sh in a private
# namespace, the replay server holding a 5,000-pod, 500-policy cluster, the peak memory bound of a
# first start ($HWM_LIMIT_KB), and:
#   start_k8s_agent       palisaded --datastore kubernetes as node-0 (log appended to
#                         $TMP/agent.log, so a restart keeps the first start's), waits for its apply
#   agent_status_kb FIELD the agent's /proc status FIELD (VmHWM, VmRSS) in kB
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
HWM_LIMIT_KB=${K8S_MEMORY_HWM_LIMIT_KB:-40960}

python3 "$ROOT/tests/bench/k8s_cluster.py" 5000 500 >"$TMP/cluster.json" || fail "fixture"
k8s_start "$TMP/k8s" --fixture "$TMP/cluster.json" || fail "replay server"

start_k8s_agent() {
	rm -f "$TMP/record.json"
	ip netns exec "$NS" "$PALISADED" --bpffs "$BPFFS" --node node-0 --events-socket "$TMP/events.sock" \
		--datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" >>"$TMP/agent.log" 2>&1 &
	AGENT=$!
	wait_until 120 gen_above 0 || fail "not applied within 120 s"
}

agent_status_kb() { awk -v field="$1:" '$1 == field { print $2 }' "/proc/$AGENT/status"; }
