#!/usr/bin/env bash
# Last good versions survive an agent restart (--datastore kubernetes; the state file
# k8s-state/k8s-objects-TAG.json beside the event socket): a Calico GlobalNetworkPolicy denying 9090 to the pod
# shop/web is enforced, the agent stops, the policy becomes undecodable in the API meanwhile, and
# the restarted agent keeps the deny (its version from before the restart), reports it (/readyz
# degraded, polctl status, the log) and still applies every other change:
#   1. stopped with SIGTERM;  2. killed with SIGKILL (from a state file a restarted agent wrote),
#      the policy now one only the compiler rejects (an HTTP match: set aside);
#   3. the policy deleted in the API while no agent runs: not resurrected, the deny is gone;
#   4. deleted and recreated (another uid) broken while no agent runs: the earlier object's
#      version is not used (the new one, rejected without a good version, isolates its pods);
#   4b. a still-rejected policy whose selector changed while no agent ran: the state file's
#      isolation (of the old selector) is not taken for a last good version; the new selector's
#      pods are isolated (on the code before "isolation":true in the state file, they stayed open);
#   5. a corrupt state file: a warning naming file and line, the agent starts as without one.
# On main (last good versions in memory only) the restarted agent drops the deny: 1 fails there.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
k8s_web_pod 8080 9090 7070
STATE=$(k8s_state_file "$E2E_TMP" "$PINDIR") # in $AGENTD_EVENTS's directory ($E2E_TMP)
GNP=GlobalNetworkPolicy.projectcalico.org/default.deny-9090

gnp() { # gnp ACTION [FIELDS [SELECTOR]]: the GlobalNetworkPolicy denying (ACTION) TCP 9090 to app=web
	printf '{"apiVersion":"crd.projectcalico.org/v1","kind":"GlobalNetworkPolicy","metadata":{"name":"default.deny-9090"},"spec":{"order":1,"selector":"%s","types":["Ingress"],"ingress":[{"action":"%s","protocol":"TCP",%s"destination":{"ports":[9090]}}]}}' "${3:-app == 'web'}" "$1" "${2:-}"
}
np() { # np PORT...: the NetworkPolicy web-in of shop admitting these TCP ports to app=web
	local ports="" p
	for p in "$@"; do ports="$ports${ports:+,}{\"protocol\":\"TCP\",\"port\":$p}"; done
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[%s]}]}}' "$ports"
}
# spawn_degraded WHAT: starts the agent, which must come up degraded naming the policy with an
# error matching WHAT, and waits until it has applied its first generation.
spawn_degraded() {
	local applied r i
	applied=$(grep -c 'kubernetes: changes enforced' "$AGENTD_LOG")
	k8s_agent_spawn
	for i in $(seq 100); do
		r=$(agentd_readyz)
		[ "$(grep -c 'kubernetes: changes enforced' "$AGENTD_LOG")" -gt "$applied" ] &&
			case "$r" in 503\ degraded:*"$GNP"*) break ;; esac
		kill -0 "$AGENTD_PID" 2>/dev/null || fail "palisaded exited: $(tail -n 20 "$AGENTD_LOG")"
		sleep 0.1
	done
	case "$r" in 503\ degraded:*"$GNP"*$1*) ;; *) fail "/readyz after the restart: $r
$(grep -E 'state file|rejected' "$AGENTD_LOG" | tail -n 5)" ;; esac
	[ "$(grep -c 'kubernetes: changes enforced' "$AGENTD_LOG")" -gt "$applied" ] ||
		fail "the restarted agent applied nothing: $(tail -n 20 "$AGENTD_LOG")"
}
deny_holds() { # deny_holds STEP: 9090 blocked, 8080 open
	expect_tcp_blocked client 198.19.5.10 9090 - || fail "$1: the deny is not enforced"
	expect_tcp client 198.19.5.10 8080 - kweb:8080
}

k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put ns"
k8s_put "$(k8s_pod_json shop web 198.19.5.10 '{"app":"web"}')" || fail "put pod"
k8s_put "$(np 8080 9090 7070)" || fail "put np"
k8s_put "$(gnp Deny)" || fail "put gnp"
k8s_agent_start
deny_holds "start"
expect_tcp client 198.19.5.10 7070 - kweb:7070
[ -f "$STATE" ] && [ ! -L "$STATE" ] || fail "no state file $STATE: $(ls -la "$E2E_TMP")"
[ "$(stat -c '%a %u' "$STATE")" = "600 0" ] || fail "state file: $(stat -c '%a %u' "$STATE"), want 600 0"
[ "$(stat -c '%a %u' "${STATE%/*}")" = "700 0" ] || fail "state directory: $(stat -c '%a %u' "${STATE%/*}"), want 700 0"
sed -n 1p "$STATE" | jq -e '.palisade == "k8s-objects" and .version == 1' >/dev/null ||
	fail "state file header: $(sed -n 1p "$STATE")"
sed -n '2,$p' "$STATE" | jq -e --arg o "$GNP" 'select(.object == $o) | .uid != "" and (.documents | test("Deny"))' \
	>/dev/null || fail "the state file lacks $GNP: $(cat "$STATE")"
log "enforced: 9090 denied by $GNP, which the state file holds (0600, root)"

# 0. A write that fails is counted and shown (metrics, polctl status); the next good one clears it.
# The state directory given to another user: the agent refuses it (not its own), so the write fails.
applied_count() { grep -c 'kubernetes: changes enforced' "$AGENTD_LOG"; }
apply_np() { # apply_np PORT...: the NetworkPolicy with these ports, waits for its apply
	local n i
	n=$(applied_count)
	k8s_put "$(np "$@")" || fail "np $*"
	for i in $(seq 100); do [ "$(applied_count)" -gt "$n" ] && return 0; sleep 0.1; done
	fail "np $* not applied"
}
polctl_text() { timeout 10 nsenter --net="/var/run/netns/${PFX}node" -- "$POLCTL" --bpffs "$PINDIR" "$@"; }
metric() { ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric palisade_k8s_state_file_write_failures_total)" = 0 ] || fail "write failures before any"
[ "$(metric palisade_k8s_state_file_last_write_timestamp_seconds)" -gt 0 ] || fail "no last write time"
polctl_text status | grep -q "state file $STATE, written 20" || fail "polctl status lacks the state file: $(polctl_text status)"
chown 65534 "${STATE%/*}"
apply_np 8080 9090 7070 6060
[ "$(metric palisade_k8s_state_file_write_failures_total)" = 1 ] ||
	fail "a failed write is not counted: $(metric palisade_k8s_state_file_write_failures_total)"
polctl_text status | grep -q "state file not written: last good versions will not survive a restart (.*not the agent's own" ||
	fail "polctl status lacks the failed write: $(polctl_text status)"
k8s_status | jq -e '.state_file.error | test("not the agent.s own")' >/dev/null || fail "status -o json: $(k8s_status)"
chown 0 "${STATE%/*}"
apply_np 8080 9090 7070
[ -f "$STATE" ] || fail "the state file is not written again"
polctl_text status | grep -q "state file $STATE, written 20" || fail "polctl status still says the write failed: $(polctl_text status)"
log "a failed write: counted in palisade_k8s_state_file_write_failures_total, shown in polctl status; cleared by the next"

# 1. SIGTERM; the policy becomes undecodable (same object, same uid) while no agent runs.
agentd_stop
k8s_put "$(gnp Denny)" || fail "break gnp"
spawn_degraded "before the restart"
deny_holds "after SIGTERM"
k8s_wait_bad_object "$GNP" 'Denny.*before the restart' || fail "polctl status lacks $GNP: $(k8s_status)"
grep -q "object rejected.*default.deny-9090.*in_force=\"last good version from before the restart\"" "$AGENTD_LOG" ||
	fail "the rejection is not logged with the version in force: $(grep 'rejected' "$AGENTD_LOG" | tail -2)"
ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | grep -q '^palisade_k8s_objects_rejected 1$' ||
	fail "metrics: palisade_k8s_objects_rejected is not 1"
k8s_put "$(np 8080 9090)" || fail "np without 7070"
wait_tcp_blocked client 198.19.5.10 7070 >/dev/null || fail "another object's change was not enforced beside the restored policy"
deny_holds "after another change"
log "SIGTERM: the broken policy's version from before the restart is in force, reported; others update"

# 2. SIGKILL: this agent wrote the state file with the restored version. The policy now decodes
# but only the compiler rejects it (an HTTP match allowing 9090): set aside, the version from
# before the restart stays.
agentd_kill9
k8s_put "$(gnp Allow '"http":{"methods":["GET"]},')" || fail "gnp with an HTTP match"
spawn_degraded "before the restart"
deny_holds "after SIGKILL"
k8s_wait_bad_object "$GNP" 'http.*before the restart' || fail "polctl status lacks $GNP: $(k8s_status)"
grep -q "rejected with the other objects.*default.deny-9090.*in_force=\"last good version from before the restart\"" "$AGENTD_LOG" ||
	fail "the set-aside policy is not logged with the version in force"
log "SIGKILL: a policy the compiler sets aside: the version from before the restart stays in force"

# 3. Deleted in the API while no agent runs: the state file's version is not resurrected.
agentd_stop
k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.deny-9090 || fail "delete gnp"
k8s_agent_start
expect_tcp client 198.19.5.10 9090 - kweb:9090 || fail "the deleted policy was resurrected"
sed -n '2,$p' "$STATE" | jq -e --arg o "$GNP" 'select(.object == $o)' >/dev/null &&
	fail "the state file still holds the deleted $GNP"
log "deleted while no agent ran: not resurrected, gone from the state file"

# 4. Deleted and recreated (a new uid) broken while no agent runs: another object, so the state
# file's version of the first one (9090 denied, 8080 open) is not used; the new one, rejected with
# no good version and an unreadable action, is enforced as its isolation: all ingress denied.
k8s_put "$(gnp Deny)" || fail "put gnp again"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "the new deny is not enforced"
agentd_stop
k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.deny-9090 || fail "delete gnp"
k8s_put "$(gnp Denny)" || fail "recreate gnp broken"
spawn_degraded Denny
expect_tcp_blocked client 198.19.5.10 8080 - ||
	fail "8080 passes: the earlier object's version was used for the recreated one, or it was left out"
expect_tcp_blocked client 198.19.5.10 9090 -
k8s_wait_bad_object "$GNP" 'isolation' || fail "the recreated policy is not isolated: $(k8s_status | jq -c .bad_objects)"
grep -q 'state file holds an earlier object of that name.*default.deny-9090' "$AGENTD_LOG" ||
	fail "the uid mismatch is not logged"
log "recreated (another uid): the earlier object's version is not used, the broken one isolates"

# 4b. Still rejected, its isolation now selecting no pod: web is open again, and the state file
# marks the version in force as an isolation. While no agent runs the selector goes back to
# app=web, still rejected: the restarted agent isolates web (the new selector), not keeping the
# file's isolation of no pod as if it were a last good version.
k8s_put "$(gnp Denny '' "app == 'nobody'")" || fail "gnp broken, selecting no pod"
wait_tcp_allowed client 198.19.5.10 8080 kweb:8080 >/dev/null ||
	fail "the isolation of the new selector (no pod) is not in force"
marked_isolation() { # the state file (written just after the apply) marks GNP's isolation of no pod
	sed -n '2,$p' "$STATE" | jq -e --arg o "$GNP" \
		'select(.object == $o) | .isolation == true and (.documents | test("nobody"))' >/dev/null
}
for i in $(seq 50); do marked_isolation && break; sleep 0.1; done
marked_isolation || fail "the state file does not mark $GNP's isolation: $(grep -F "$GNP" "$STATE")"
agentd_stop
k8s_put "$(gnp Denny)" || fail "gnp broken, selecting app=web again"
spawn_degraded Denny
expect_tcp_blocked client 198.19.5.10 8080 - ||
	fail "8080 passes: the state file's isolation (of no pod) was kept as a last good version"
k8s_wait_bad_object "$GNP" 'in force: isolation of its pods, no rules[)]' ||
	fail "the policy is not reported isolated: $(k8s_status | jq -c .bad_objects)"
grep -q "object rejected, the policy's pods are isolated.*default.deny-9090" "$AGENTD_LOG" ||
	fail "the restarted agent did not isolate by the new version: $(grep 'rejected' "$AGENTD_LOG" | tail -2)"
agentd_stop
spawn_degraded 'isolation of its pods, no rules, from before the restart'
expect_tcp_blocked client 198.19.5.10 8080 - || fail "8080 passes after a restart with the policy unchanged"
grep -q 'default.deny-9090.*in_force="isolation (from before the restart)"' "$AGENTD_LOG" ||
	fail "the isolation from before the restart is not named: $(grep 'rejected' "$AGENTD_LOG" | tail -2)"
log "still rejected, selector changed while no agent ran: the new selector's pods are isolated"

# 5. A corrupt state file: a warning naming file and line; the agent starts as without one.
k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.deny-9090 || fail "delete gnp"
agentd_wait_ready 50 || fail "not ready once the broken policy is gone: $(agentd_readyz)"
agentd_stop
printf 'garbage\n' >>"$STATE"
n=$(wc -l <"$STATE")
k8s_agent_start
grep -q "state file not used.*${STATE##*/}:$n" "$AGENTD_LOG" ||
	fail "the corrupt state file is not reported with its line $n: $(grep 'state file' "$AGENTD_LOG" | tail -2)"
sed -n '2,$p' "$STATE" | jq -e . >/dev/null || fail "the state file was not rewritten: $(tail -n 2 "$STATE")"
log "a corrupt state file: warned with file and line, started without it, rewritten"

agentd_stop
# --uninstall removes the state file of the datapath it removes (found beside the event socket).
ns node "$PALISADED" --uninstall --bpffs "$PINDIR" --events-socket "$AGENTD_EVENTS" \
	>"$E2E_TMP/uninstall.log" 2>&1 || fail "--uninstall: $(cat "$E2E_TMP/uninstall.log")"
[ ! -e "$STATE" ] || fail "--uninstall left the state file $STATE"
agent_uninstall_check
exit 0
