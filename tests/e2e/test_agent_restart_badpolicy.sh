#!/usr/bin/env bash
# The files datastore across a restart with a bad policy file: the agent stops, its directory gets
# a broken file and a valid one that would open tcp 9999 while no agent runs, and the restarted
# agent applies nothing: the pinned datapath keeps enforcing the previous agent's policy (same
# generation, 9999 still blocked, 8443 still open), /readyz answers 503 degraded naming the file.
# Fixed, the whole directory applies. (The Kubernetes datastore's counterpart, per object:
# test_k8s_restart_last_good.sh.)
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start

dir=$(policy_dir_copy)
agentd_start "$dir"
gen=$(agentd_generation)
expect_tcp_blocked client 198.18.1.1 9999 -
agentd_stop

cp "$here/fixtures/80-open-9999.yaml" "$dir/"
printf '%s\n' 'apiVersion: projectcalico.org/v3' 'kind: GlobalNetworkPolicy' 'metadata:' \
	'  name: broken' 'spec:' '  selector: has(host-endpoint)' '  ingress:' \
	'    - action: Allo' >"$dir/90-bad.yaml"
agentd_spawn "$dir"
for i in $(seq 100); do
	case "$(agentd_readyz)" in 503\ *90-bad.yaml:8*) break ;; esac
	kill -0 "$AGENTD_PID" 2>/dev/null || fail "palisaded exited: $(tail -n 20 "$AGENTD_LOG")"
	sleep 0.1
done
r=$(agentd_readyz)
case "$r" in 503\ degraded*"generation $gen"*90-bad.yaml:8*) ;; *) fail "/readyz after the restart: $r" ;; esac
[ "$(agentd_generation)" = "$gen" ] || fail "the generation moved: $gen -> $(agentd_generation)"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443
log "restarted on a bad policy directory: nothing applied, generation $gen (the previous agent's) in force"

rm "$dir/90-bad.yaml"
agentd_wait_ready 50 || fail "not ready after the fix: $(agentd_readyz)"
[ "$(agentd_generation)" -gt "$gen" ] || fail "the fixed directory was not applied"
expect_tcp client 198.18.1.1 9999 - node:9999

agentd_stop
agent_uninstall_check
exit 0
