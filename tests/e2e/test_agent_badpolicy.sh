#!/usr/bin/env bash
# A bad policy file (issue 4):
#   - `palisaded --once` exits 1 naming FILE:LINE and changes nothing: same generation, programs
#     and verdicts (the same directory also holds a valid policy that would open tcp 9999: the
#     whole reload is refused, not just the bad file);
#   - the running agent logs the same FILE:LINE when the file appears, keeps enforcing the last
#     good policy, and /readyz answers 503 "degraded" naming it; /livez stays 200; removing the file
#     makes it apply the rest and become ready again;
#   - an agent restarted on the bad directory applies nothing: the previous agent's policy stays
#     in force from the pins (same generation, verdicts), /readyz 503 degraded naming the file;
#   - a policy file truncated to nothing keeps its policies in force (an error, not an empty set).
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start

write_open_9999() { cp "$here/fixtures/80-open-9999.yaml" "$1/"; }
# The error is on line 9: the action.
write_bad() {
	printf '%s\n' '# tests/e2e/test_agent_badpolicy.sh: a broken policy (line 9).' \
		'apiVersion: projectcalico.org/v3' 'kind: GlobalNetworkPolicy' 'metadata:' \
		'  name: broken' 'spec:' '  selector: has(host-endpoint)' '  ingress:' \
		'    - action: Allo' >"$1"
}

# --- palisaded --once ---------------------------------------------------------------------------
agent_program "$E2E_ROOT/policies"
gen1=$(agentd_generation)
ids1=$(agentd_prog_ids)
expect_tcp_blocked client 198.18.1.1 9999 -

bad=$(policy_dir_copy)
write_open_9999 "$bad"
write_bad "$bad/90-bad.yaml"
timeout 30 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --once --policy-dir "$bad" \
	--node demo-node --bpffs "$PINDIR" >"$E2E_TMP/once.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "palisaded --once on a bad policy exited $rc, want 1: $(cat "$E2E_TMP/once.log")"
grep -q "90-bad.yaml:9:" "$E2E_TMP/once.log" ||
	fail "palisaded --once did not name 90-bad.yaml:9: $(cat "$E2E_TMP/once.log")"
echo "--once: exit 1: $(grep -m 1 '90-bad.yaml:9:' "$E2E_TMP/once.log")"
[ "$(agentd_generation)" = "$gen1" ] || fail "generation changed: $gen1 -> $(agentd_generation)"
[ "$(agentd_prog_ids)" = "$ids1" ] || fail "programs changed: $ids1 -> $(agentd_prog_ids)"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443

# --- the running agent -------------------------------------------------------------------------
dir=$(policy_dir_copy)
agentd_start "$dir"
gen2=$(agentd_generation)
write_bad "$E2E_TMP/90-bad.yaml"
mv "$E2E_TMP/90-bad.yaml" "$dir/90-bad.yaml"
agentd_wait_log "90-bad.yaml:9:" 50 || fail "the agent did not log 90-bad.yaml:9:
$(tail -n 20 "$AGENTD_LOG")"
echo "agent log: $(grep -m 1 '90-bad.yaml:9:' "$AGENTD_LOG")"
ready=$(agentd_readyz)
echo "/readyz: $ready"
case "$ready" in 503\ *degraded*90-bad.yaml:9*) ;;
*) fail "/readyz does not report the degraded state naming the file: $ready" ;;
esac
live=$(ns node curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AGENTD_PORT/livez")
[ "$live" = 200 ] || fail "/livez answered $live while degraded"
# A valid change next to the broken file is not applied either: the last good policy stays.
write_open_9999 "$E2E_TMP"
mv "$E2E_TMP/80-open-9999.yaml" "$dir/80-open-9999.yaml"
sleep 0.5
[ "$(agentd_generation)" = "$gen2" ] || fail "generation changed while degraded: $gen2 -> $(agentd_generation)"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp_blocked client 198.18.1.1 8443 198.18.200.7
kill -0 "$AGENTD_PID" 2>/dev/null || fail "the agent exited on a bad policy"

# A restart on the bad directory applies nothing: the pinned datapath keeps the previous agent's
# last good policy (same generation, 9999 still blocked), /readyz degraded naming the file.
agentd_stop
agentd_spawn "$dir"
for i in $(seq 100); do
	case "$(agentd_readyz)" in 503\ *90-bad.yaml:9*) break ;; esac
	kill -0 "$AGENTD_PID" 2>/dev/null || fail "palisaded exited: $(tail -n 20 "$AGENTD_LOG")"
	sleep 0.1
done
ready=$(agentd_readyz)
case "$ready" in 503\ degraded*"generation $gen2"*90-bad.yaml:9*) ;;
*) fail "/readyz after a restart on the bad directory: $ready" ;;
esac
[ "$(agentd_generation)" = "$gen2" ] || fail "the restart applied something: $gen2 -> $(agentd_generation)"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443
echo "restart on the bad directory: generation $gen2 (the previous agent's) stays: $ready"

# The fix: the rest is applied, ready again.
rm "$dir/90-bad.yaml"
agentd_wait_ready 50 || fail "not ready after the fix: $(agentd_readyz)"
[ "$(agentd_generation)" -gt "$gen2" ] || fail "the fixed policy was not applied"
expect_tcp client 198.18.1.1 9999 - node:9999

# A policy file truncated to nothing (a `kubectl get ... > file` that failed) is an error, not an
# empty file: the policies it held stay in force (8443 still open, the same generation), /readyz
# names it (docs/operations.md "Policy files"). Before, its policies silently went.
gen3=$(agentd_generation)
cp "$dir/20-bare-metal-host.yaml" "$E2E_TMP/20-saved.yaml"
: >"$dir/20-bare-metal-host.yaml"
agentd_wait_log "20-bare-metal-host.yaml: error: the file holds no resources" 50 ||
	fail "the agent did not report the emptied file: $(tail -n 20 "$AGENTD_LOG")"
sleep 0.3
[ "$(agentd_generation)" = "$gen3" ] || fail "an emptied file changed the generation: $gen3 -> $(agentd_generation)"
expect_tcp client 198.18.1.1 8443 - node:8443
case "$(agentd_readyz)" in 503\ *degraded*20-bare-metal-host.yaml*) ;;
*) fail "/readyz does not name the emptied file: $(agentd_readyz)" ;;
esac
echo "emptied policy file: generation $gen3 stays, 8443 still open"
mv "$E2E_TMP/20-saved.yaml" "$dir/20-bare-metal-host.yaml"
agentd_wait_ready 50 || fail "not ready after restoring the file: $(agentd_readyz)"

agentd_stop
agent_uninstall_check
exit 0
