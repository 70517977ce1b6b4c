# shellcheck shell=bash
# The agent as a daemon in the topology's node namespace, for the test_agent_*.sh tests. Source
# after topology.sh, traffic.sh and agent.sh, and call agentd_trap right after topo_create.
#
#   agentd_trap                  the EXIT trap stops every agent this run started (SIGKILL when
#                                needed) before topo_destroy runs --uninstall (which a running
#                                agent would refuse: it holds the bpffs lock)
#   agentd_start DIR [EXTRA...]  palisaded DIR in ${PFX}node, health on 127.0.0.1:$AGENTD_PORT,
#                                log in $AGENTD_LOG (appended); waits until /readyz says ready
#   agentd_spawn DIR [EXTRA...]  the same without waiting (an agent that starts degraded)
#   agentd_stop                  SIGTERM, bounded wait; fails unless it exits 0
#   agentd_kill9                 SIGKILL, waits until the process is gone
#   agentd_readyz                "CODE BODY" of GET /readyz
#   agentd_wait_ready [N]        bounded wait (N tenths of a second, default 100) for 200 on /readyz
#   agentd_generation            the generation programmed in the pins (polctl status -o json)
#   agentd_prog_ids              "xdp:ID tc-in:ID tc-out:ID" of ext0 (what is attached now)
#   now_ms                       wall clock in milliseconds (bash's EPOCHREALTIME, no fork)

AGENTD_PID=""
AGENTD_PORT=${AGENTD_PORT:-9477}
AGENTD_LOG=${AGENTD_LOG:-}
AGENTD_EVENTS=${AGENTD_EVENTS:-} # the event socket (polctl monitor --socket), in $E2E_TMP
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../lib" && pwd)/proc.sh"

now_ms() {
	local t=${EPOCHREALTIME/./}
	printf '%s\n' "${t:0:-3}"
}

agentd_trap() {
	# topo_destroy reads $? first: keep the test's exit status through our own cleanup.
	trap 'agentd_cleanup_rc=$?; agentd_stop_quiet; (exit $agentd_cleanup_rc); topo_destroy' EXIT
}

agentd_stop_quiet() { proc_stop_var AGENTD_PID 50; }

agentd_spawn() {
	local dir=$1; shift
	command -v curl >/dev/null 2>&1 || fail "missing command: curl (apt-get install curl)"
	AGENTD_LOG=${AGENTD_LOG:-$E2E_TMP/palisaded.log}
	AGENTD_EVENTS=${AGENTD_EVENTS:-$E2E_TMP/events.sock}
	# shellcheck disable=SC2034 # read by topo_destroy
	TOPO_AGENT_USED=1
	[ -f "$E2E_TMP/nf.before" ] || nf_snapshot >"$E2E_TMP/nf.before"
	echo "--- palisaded start $(date +%T.%N)" >>"$AGENTD_LOG"
	nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --policy-dir "$dir" \
		--node demo-node --bpffs "$PINDIR" --health "127.0.0.1:$AGENTD_PORT" \
		--events-socket "$AGENTD_EVENTS" "$@" \
		</dev/null >>"$AGENTD_LOG" 2>&1 &
	AGENTD_PID=$!
}

agentd_start() {
	agentd_spawn "$@"
	agentd_wait_ready || fail "palisaded did not become ready: $(agentd_readyz)
$(tail -n 30 "$AGENTD_LOG")"
	log "palisaded running (pid $AGENTD_PID) on $*"
}

agentd_stop() {
	[ -n "$AGENTD_PID" ] || return 0
	kill "$AGENTD_PID" 2>/dev/null
	local i rc
	for i in $(seq 50); do
		kill -0 "$AGENTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$AGENTD_PID" 2>/dev/null && fail "palisaded did not stop on SIGTERM within 5 s"
	wait "$AGENTD_PID" 2>/dev/null
	rc=$?
	AGENTD_PID=""
	# 0 on SIGTERM (a sanitizer build also reports leaks through the exit code)
	[ "$rc" -eq 0 ] || fail "palisaded exited $rc on SIGTERM: $(tail -n 20 "$AGENTD_LOG")"
}

agentd_kill9() {
	[ -n "$AGENTD_PID" ] || fail "no agent to kill"
	kill -9 "$AGENTD_PID" || fail "kill -9 $AGENTD_PID"
	wait "$AGENTD_PID" 2>/dev/null
	AGENTD_PID=""
}

# agentd_wait_log ERE TENTHS: waits up to TENTHS tenths of a second for a line of the agent's log
# matching ERE; fails (returns 1) when none came.
agentd_wait_log() {
	local i
	for i in $(seq "$2"); do
		grep -qE "$1" "$AGENTD_LOG" && return 0
		sleep 0.1
	done
	grep -qE "$1" "$AGENTD_LOG"
}

agentd_readyz() {
	local out code
	out=$(ns node curl -s -m 2 -w '\n%{http_code}' "http://127.0.0.1:$AGENTD_PORT/readyz" 2>/dev/null)
	code=${out##*$'\n'}
	printf '%s %s\n' "${code:-000}" "${out%$'\n'*}"
}

agentd_wait_ready() {
	local n=${1:-100} i
	for i in $(seq "$n"); do
		case "$(agentd_readyz)" in 200\ *) return 0 ;; esac
		[ -n "$AGENTD_PID" ] && ! kill -0 "$AGENTD_PID" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

agentd_generation() {
	polctl_json status | jq -r '.generation // .datapath.generation // empty'
}

# agentd_unrelated_change DIR: a policy change that touches no flow here (a GlobalNetworkPolicy
# selecting nothing, DIR/80-unrelated.yaml, moved in whole), applied: every flow admitted before it
# is stale, and its next packet re-judges it to the same verdict.
agentd_unrelated_change() {
	local gen
	gen=$(agentd_generation)
	cat >"$E2E_TMP/80-unrelated.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: unrelated
spec:
  order: 60
  selector: app == "nothing-here"
  types: [Ingress]
  ingress:
    - action: Deny
YAML
	mv "$E2E_TMP/80-unrelated.yaml" "$1/80-unrelated.yaml"
	agentd_wait_generation $((gen + 1))
}

# agentd_wait_generation N: the agent applied generation N (or later) within 5 s, or the test fails.
agentd_wait_generation() {
	local want=$1 i g
	for i in $(seq 50); do
		g=$(agentd_generation)
		[ -n "$g" ] && [ "$g" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "generation $want not applied (at ${g:-none}):
$(tail -n 20 "$AGENTD_LOG")"
}

agentd_prog_ids() {
	local xdp tin tout
	xdp=$(ns node ip -d link show dev ext0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1)
	tin=$(ns node tc filter show dev ext0 ingress | sed -n 's/.* id \([0-9]*\).*/\1/p' | head -n 1)
	tout=$(ns node tc filter show dev ext0 egress | sed -n 's/.* id \([0-9]*\).*/\1/p' | head -n 1)
	printf 'xdp:%s tc-in:%s tc-out:%s\n' "${xdp:-none}" "${tin:-none}" "${tout:-none}"
}
