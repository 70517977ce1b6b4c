#!/usr/bin/env bash
# Flows end (issue 7, defect 1): a policy change re-judges established flows, with real sockets
# and the kernel's conntrack as the second oracle.
#
#   1. an unrelated policy change: a long-lived TCP connection client -> web:8080 whose client is
#      silent keeps receiving what the server pushes (the server's packets re-judge the flow at
#      their own hook);
#   2. a deny of that connection: from the next packet on nothing passes in either direction (the
#      server's pushes stop, the client's lines are not echoed), the drops are counted, and the
#      connection's conntrack entry is gone;
#   3. a UDP tuple reused after a deny: client:40200 -> node:7781 was allowed and answered; the
#      allow is removed; the same tuple again is dropped.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services

# web:8080 pushes a numbered line every 0.2 s on every connection and echoes what it reads.
cat >"$E2E_TMP/push.sh" <<'EOF'
#!/bin/sh
( i=0; while :; do i=$((i + 1)); echo "tick $i" || exit 0; sleep 0.2; done ) &
while read -r l; do echo "echo $l"; done
kill $! 2>/dev/null
EOF
chmod +x "$E2E_TMP/push.sh"
ns_bg web "$E2E_TMP/web-push.log" socat "TCP-LISTEN:8080,pf=ip6,ipv6only=0,reuseaddr,fork" \
	"EXEC:$E2E_TMP/push.sh"
push_pid=$!
wait_listen web tcp 8080
udp_echo node 7781

dir=$(policy_dir_copy)
cp "$here/fixtures/80-allow-udp-7781.yaml" "$dir/80-allow-7781.yaml" || fail "copy the 7781 policy"
agentd_start "$dir"

# kill_tree PID: PID and its descendants.
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null
	return 0
}


# The long-lived connection: the client writes lines from a FIFO (kept open on fd 7) and appends
# what it receives to conn.out. Fixed source port, so conntrack can be asked about it.
mkfifo "$E2E_TMP/conn.in" || fail "mkfifo"
ns_bg client "$E2E_TMP/conn.err" bash -c "exec socat -T 60 - \
	TCP:198.19.0.10:8080,sourceport=40100,reuseaddr <'$E2E_TMP/conn.in' >>'$E2E_TMP/conn.out'"
exec 7>"$E2E_TMP/conn.in"
ticks() {
	local n
	n=$(grep -c '^tick' "$E2E_TMP/conn.out" 2>/dev/null)
	echo "${n:-0}"
}
for i in $(seq 50); do [ "$(ticks)" -ge 3 ] && break; sleep 0.1; done
[ "$(ticks)" -ge 3 ] || fail "the connection to web:8080 receives nothing: $(cat "$E2E_TMP/conn.err")"
echo "hello" >&7
for i in $(seq 30); do grep -q '^echo hello' "$E2E_TMP/conn.out" && break; sleep 0.1; done
grep -q '^echo hello' "$E2E_TMP/conn.out" || fail "the client's line was not echoed"
expect_ct_entry "the connection" ipv4 -p tcp --sport 40100 --dport 8080

# The UDP tuple, allowed now.
usend() {
	printf '%s\n' "$1" | timeout 3 nsenter --net="/var/run/netns/${PFX}client" -- \
		socat -T 1 - UDP:198.18.1.1:7781,sourceport=40200,reuseaddr >/dev/null 2>&1
	sleep 0.5
	grep -q "^$1\$" "$(udp_rx_file node 7781)"
}
usend udp-before || fail "udp client:40200 -> node:7781 did not arrive before the change"

# 1. An unrelated change (a policy that selects nothing here). The client stays silent.
agentd_unrelated_change "$dir"
gen=$(agentd_generation)
t0=$(ticks)
sleep 2
t1=$(ticks)
[ $((t1 - t0)) -ge 5 ] ||
	fail "after an unrelated change the silent client received $((t1 - t0)) lines in 2 s"
log "unrelated change: $((t1 - t0)) lines in 2 s, the flow kept flowing"

# 2. A deny of the connection: web's namespace denies the client before its http allow.
cat >"$E2E_TMP/82.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: cut-client
  namespace: shop
spec:
  order: 1
  selector: app == "web"
  types: [Ingress]
  ingress:
    - action: Deny
      protocol: TCP
      source:
        nets: ["198.18.1.50/32"]
EOF
mv "$E2E_TMP/82.yaml" "$dir/82-cut-client.yaml"
gen=$((gen + 1))
agentd_wait_generation "$gen"
sleep 0.6 # the next push after the generation meets the re-judge
t0=$(ticks)
echo "after-deny" >&7
sleep 2
t1=$(ticks)
[ "$t1" -eq "$t0" ] || fail "the server's pushes still arrive after the deny ($((t1 - t0)) in 2 s)"
grep -q '^echo after-deny' "$E2E_TMP/conn.out" && fail "the client's line passed after the deny"
expect_ct_none "the cut connection" ipv4 -p tcp --sport 40100 --dport 8080
st=$(polctl_json status) || fail "polctl status"
denied=$(printf '%s' "$st" | jq '.flows.rejudge_denied')
[ "${denied:-0}" -ge 1 ] || fail "polctl status shows no denied re-judge: $(printf '%s' "$st" | jq -c .flows)"
log "deny: pushes stopped at $t0, the client's line dropped, conntrack entry gone, re-judge denies $denied"

# 3. The UDP tuple after its allow is removed (default deny at the host endpoint).
rm -f "$dir/80-allow-7781.yaml"
gen=$((gen + 1))
agentd_wait_generation "$gen"
if usend udp-after; then fail "udp client:40200 -> node:7781 arrived after its allow was removed"; fi

exec 7>&-
agentd_stop
kill_tree "$push_pid" # the push server and its per-connection children, by pid
sleep 0.3
topo_start_services # agent_uninstall_check probes them
agent_uninstall_check
exit 0
