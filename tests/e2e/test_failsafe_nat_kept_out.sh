#!/usr/bin/env bash
# The outbound twin of test_failsafe_nat_kept.sh: the node's own connection to a failsafe-out
# port through a DNAT in nat OUTPUT that changes the port (198.18.10.99:179 -> 198.18.10.5:1179)
# keeps its failsafe when an unrelated failsafe-out entry is removed. raw OUTPUT matches
# failsafe-out before NAT (port 179); tc egress enters the flow after it (port 1179) and under the
# conntrack tuples (port 179). The host's egress policy here allows ICMP only: judged by its
# post-DNAT tuple the session lost its failsafe and was cut when the server spoke first.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"
PUSH_SESSION="$here/lib/push_session.py" # a session whose server speaks on cue

agentd_test_start --no-services
ipt -t nat -N "${PFX}-OUT" || fail "nat chain"
ipt -t nat -A "${PFX}-OUT" -p tcp -d 198.18.10.99 --dport 179 -j DNAT --to-destination 198.18.10.5:1179 ||
	fail "DNAT rule"
ipt -t nat -A OUTPUT -j "${PFX}-OUT" || fail "nat OUTPUT jump"
cleanup_out() { ipt -t nat -D OUTPUT -j "${PFX}-OUT" 2>/dev/null; ipt -t nat -F "${PFX}-OUT" 2>/dev/null; ipt -t nat -X "${PFX}-OUT" 2>/dev/null; }
trap 'agentd_cleanup_rc=$?; agentd_stop_quiet; cleanup_out; (exit $agentd_cleanup_rc); topo_destroy' EXIT
ns node ip route add 198.18.10.99/32 via 198.18.10.5 dev mgmt0 || fail "route"

ns_bg mgmt "$E2E_TMP/server.log" python3 "$PUSH_SESSION" server "$E2E_TMP/push" 1179
wait_listen mgmt tcp 1179
dir=$(policy_dir_copy)
# the host's egress: ICMP only (tcp 1179 from the node is denied by policy)
python3 - "$dir/20-bare-metal-host.yaml" <<'EOF2'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index("  egress:")
s = s[:i] + "  egress:\n    - action: Allow\n      protocol: ICMP\n"
open(p, "w").write(s)
EOF2
agentd_start "$dir" --failsafe-out tcp:179,tcp:2379,udp:53

ns_bg node "$E2E_TMP/client.log" timeout 60 python3 "$PUSH_SESSION" client 198.18.10.99 179 40
for i in $(seq 50); do grep -q hello "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q hello "$E2E_TMP/client.log" || fail "no failsafe-out session: $(cat "$E2E_TMP/client.log")"
log "failsafe-out session through the DNAT: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp")]' 2>/dev/null | head -c 1500)"
# control: the host's egress denies tcp 1179 (only the failsafe port admits it)
timeout 3 nsenter --net="/var/run/netns/${PFX}node" -- python3 -c '
import socket; socket.create_connection(("198.18.10.5", 1179), timeout=2)' 2>/dev/null &&
	fail "control: tcp 1179 from the node is not denied by the host policy"

# tcp:2379 stops being failsafe-out; tcp:179 stays
agentd_stop
agentd_start "$dir" --failsafe-out tcp:179,udp:53
sleep 0.5
touch "$E2E_TMP/push"
for i in $(seq 100); do grep -q done "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q pushed "$E2E_TMP/client.log" ||
	fail "the failsafe-out session (port 179, still failsafe) was cut after an unrelated failsafe entry went: client: $(tr '\n' ' ' <"$E2E_TMP/client.log") server: $(tr '\n' ' ' <"$E2E_TMP/server.log") flows: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp")]' 2>/dev/null | head -c 2000)"
log "the DNATed failsafe-out session survived the removal of another failsafe entry"
agentd_stop
exit 0
