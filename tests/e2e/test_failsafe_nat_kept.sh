#!/usr/bin/env bash
# A failsafe connection whose port the node redirects (nat PREROUTING REDIRECT tcp 22 -> 2222: an
# sshd on another port, a port-mapping DNAT) stays failsafe when an unrelated failsafe entry is
# removed. The failsafe check runs before NAT (tc ingress, raw OUTPUT), on the pre-DNAT port 22;
# the flow's entry is written at INPUT, after DNAT (port 2222). The apply that removes a failsafe
# entry (s15/adv15 b01db4d) must judge a flow by what admitted it, not by the post-DNAT tuple:
# else the SSH session loses its failsafe, is re-judged against the host policy (which allows
# tcp 2222 from nowhere) and is cut when the server speaks first. Real sockets; conntrack is the
# oracle (the connection stays ESTABLISHED there). Then tcp:22 itself goes: a redirected session
# through it is cut (its pre-DNAT tuple is what the set no longer admits), the server speaking
# first.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"
PUSH_SESSION="$here/lib/push_session.py" # a session whose server speaks on cue

agentd_test_start --no-services
ipt -t nat -I "${PFX}-NODEPORTS" -p tcp -d 198.18.1.1 --dport 22 --sport 40001 -j REDIRECT --to-ports 2222 ||
	fail "REDIRECT rule"
ipt -t nat -I "${PFX}-NODEPORTS" -p tcp -d 198.18.1.1 --dport 22 --sport 40002 -j REDIRECT --to-ports 2223 ||
	fail "REDIRECT rule (2)"

ns_bg node "$E2E_TMP/server.log" python3 "$PUSH_SESSION" server "$E2E_TMP/push" 2222
ns_bg node "$E2E_TMP/server2.log" python3 "$PUSH_SESSION" server "$E2E_TMP/push2" 2223
wait_listen node tcp 2222
wait_listen node tcp 2223
dir=$(policy_dir_copy)
agentd_start "$dir" --failsafe-in tcp:22,tcp:2379

ns_bg client "$E2E_TMP/client.log" timeout 60 python3 "$PUSH_SESSION" client 198.18.1.1 22 40 198.18.1.50 40001
for i in $(seq 50); do grep -q hello "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q hello "$E2E_TMP/client.log" || fail "no failsafe session: $(cat "$E2E_TMP/client.log")"
log "failsafe session through the redirect: $(polctl_json flows | jq -c '[.[] | select(.dport == 2222 or .sport == 2222)]' 2>/dev/null)"

# control: the host policy denies tcp 2222 from the client (only the failsafe port admits it)
timeout 3 nsenter --net="/var/run/netns/${PFX}client" -- python3 -c '
import socket; socket.create_connection(("198.18.1.1", 2222), timeout=2)' 2>/dev/null &&
	fail "control: tcp 2222 is not denied by the host policy"

# tcp:2379 stops being failsafe (a restart with the narrower list); tcp:22 stays
agentd_stop
agentd_start "$dir" --failsafe-in tcp:22
sleep 0.5
touch "$E2E_TMP/push"
for i in $(seq 100); do grep -q done "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q pushed "$E2E_TMP/client.log" ||
	fail "the failsafe session (port 22, still failsafe) was cut after an unrelated failsafe entry went: client: $(tr '\n' ' ' <"$E2E_TMP/client.log") server: $(tr '\n' ' ' <"$E2E_TMP/server.log") flows: $(polctl_json flows | jq -c . 2>/dev/null | head -c 2000)"
[ "$(ct_list ipv4 -p tcp --dport 22 | grep -c ESTABLISHED)" -ge 1 ] ||
	log "conntrack: $(ct_list ipv4 -p tcp --dport 22)"
log "the redirected failsafe session survived the removal of another failsafe entry"

# a second redirected session through 22, then 22 itself stops being failsafe: cut
ns_bg client "$E2E_TMP/client2.log" timeout 60 python3 "$PUSH_SESSION" client 198.18.1.1 22 6 198.18.1.50 40002
for i in $(seq 50); do grep -q hello "$E2E_TMP/client2.log" 2>/dev/null && break; sleep 0.1; done
grep -q hello "$E2E_TMP/client2.log" || fail "no second failsafe session: $(cat "$E2E_TMP/client2.log")"
agentd_stop
agentd_start "$dir" --failsafe-in tcp:2379
sleep 0.5
touch "$E2E_TMP/push2"
for i in $(seq 100); do grep -q done "$E2E_TMP/client2.log" 2>/dev/null && break; sleep 0.1; done
grep -q pushed "$E2E_TMP/client2.log" &&
	fail "a redirected session through a removed failsafe port still reaches its client: flows: $(polctl_json flows | jq -c . 2>/dev/null | head -c 2000)"
log "the redirected session through the removed port 22 is cut"
agentd_stop
exit 0
