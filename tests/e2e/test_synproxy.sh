#!/usr/bin/env bash
# An iptables SYNPROXY in front of host ports palisade polices (s16 adversary round): raw
# PREROUTING untracks the SYNs to 8443 (the host policy allows it) and 9999 (it denies it), filter
# INPUT hands them to SYNPROXY, which answers with a cookie SYN-ACK of its own, opens the real
# connection to the server only on the client's valid ACK, and from then on shifts the server's
# sequence numbers (seqadj). palisade's INPUT jump is first, so it judges the SYN before SYNPROXY:
# the denied client gets no SYN-ACK and no connection; the allowed one gets its connection, which
# outlives an unrelated policy change with the server speaking first (the server's packets, seen
# after seqadj, carry the cookie SYN-ACK's numbers palisade learnt). Real sockets; conntrack is
# the second oracle (the allowed connection ESTABLISHED, the denied one absent).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"
PUSH_SESSION="$here/lib/push_session.py"

agentd_test_start --no-services
ns node sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 net.ipv4.tcp_syncookies=1 \
	net.ipv4.tcp_timestamps=1 || fail "sysctl"
ipt -t raw -I PREROUTING -i ext0 -p tcp -m multiport --dports 8443,9999 --syn -j CT --notrack ||
	fail "raw notrack rule"
ipt -A INPUT -i ext0 -p tcp -m multiport --dports 8443,9999 -m conntrack --ctstate INVALID,UNTRACKED \
	-j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460 || fail "SYNPROXY rule"
ipt -A INPUT -i ext0 -m conntrack --ctstate INVALID -j DROP || fail "INVALID drop rule"
ns_bg node "$E2E_TMP/server.log" python3 "$PUSH_SESSION" server "$E2E_TMP/push" 8443
wait_listen node tcp 8443
tcp_server node 9999
dir=$(policy_dir_copy)
agentd_start "$dir"
log "INPUT: $(ipt -S INPUT | tr '\n' ';')"

# the denied port: no connection (palisade drops the SYN before SYNPROXY answers it)
out=$(timeout 6 nsenter --net="/var/run/netns/${PFX}client" -- python3 -c '
import socket
s = socket.socket(); s.bind(("198.18.1.50", 40401)); s.settimeout(3)
try:
    s.connect(("198.18.1.1", 9999)); s.sendall(b"hi\n"); print("connected", s.recv(100))
except OSError as e:
    print("refused", e)' 2>&1)
log "9999: $out"
case $out in connected*) fail "a client the host policy denies got a connection through SYNPROXY: $out" ;; esac
[ "$(ct_list ipv4 -p tcp --sport 40401 --dport 9999 | grep -c ESTABLISHED)" -eq 0 ] ||
	fail "conntrack has the denied connection established: $(ct_list ipv4 -p tcp --sport 40401)"

# the allowed port through SYNPROXY
ns_bg client "$E2E_TMP/client.log" timeout 30 python3 "$PUSH_SESSION" client 198.18.1.1 8443 20 198.18.1.50 40402
for i in $(seq 50); do grep -q hello "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q hello "$E2E_TMP/client.log" || fail "no session through SYNPROXY: $(cat "$E2E_TMP/client.log")"
ct=$(ct_list ipv4 -p tcp --sport 40402 --dport 8443)
log "8443 conntrack: $ct"
grep -q ESTABLISHED <<<"$ct" || fail "conntrack has no established connection through SYNPROXY: $ct"
[ "$(ipt -L INPUT -v -x -n | awk '/SYNPROXY/ {print $1; exit}')" -ge 1 ] ||
	fail "SYNPROXY answered no SYN (the test's setup): $(ipt -L INPUT -v -n)"

# an unrelated change, then the server speaks first
agentd_unrelated_change "$dir"
touch "$E2E_TMP/push"
for i in $(seq 50); do grep -q done "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q pushed "$E2E_TMP/client.log" ||
	fail "the session through SYNPROXY was cut by an unrelated change: $(cat "$E2E_TMP/client.log") flows: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp")]')"
log "palisade: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp" and (.sport == 40402 or .dport == 40402))]')"
agentd_stop
exit 0
