#!/usr/bin/env bash
# Connections a conntrack helper expects are not admitted by that alone (docs/semantics.md,
# "Normal and forward policy are stateful").
#
# A conntrack helper (here the kernel's FTP helper, attached with a raw `CT --helper ftp` rule as
# an administrator would) reads the payload of a control connection and creates an expectation:
# the next connection that fits it is RELATED in the kernel's conntrack. The payload is the
# peer's to write (a passive-mode reply names any port of the server), so palisade does not treat
# RELATED as allowed: only flows palisade itself admitted, and ICMP errors about them, pass by
# state; a connection a helper expects meets policy as a new one.
#
# The kernel is the oracle: a counting rule in mangle INPUT (before palisade's filter INPUT) sees
# the data connection's SYN with ctstate RELATED, on the bare kernel (where the connection
# completes) and with palisade (where it is dropped: the host policy allows the control port,
# not the data port).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/conntrack.sh"
. "$here/lib/agent.sh"

adversary_topology

# Random ports per run: the control port in 31000-39999, the data port in 40000-59999.
CTRL=$((31000 + $(od -An -N2 -tu2 /dev/urandom) % 9000))
DATA=$((40000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
NODE=198.18.1.1

# The FTP helper on the control connection (raw PREROUTING, before conntrack).
ns node iptables -w 5 -t raw -A PREROUTING -i ext0 -p tcp --dport "$CTRL" -j CT --helper ftp ||
	fail "raw CT --helper ftp rule (kernel without nf_conntrack_ftp?)"
# The oracle: SYNs to the data port that conntrack calls RELATED.
ns node iptables -w 5 -t mangle -A INPUT -p tcp --dport "$DATA" --syn -m conntrack --ctstate RELATED ||
	fail "mangle INPUT counting rule"

# related_syns: how many RELATED SYNs to the data port the kernel has seen.
related_syns() {
	ns node iptables -w 5 -t mangle -L INPUT -v -x -n |
		awk -v p="dpt:$DATA" '$0 ~ p && /RELATED/ { print $1; exit }'
}

# The control server: a greeting, then (in a segment of its own: the helper reads only segments
# that start right after a newline it saw) a passive-mode reply naming the data port, then it
# waits for a line.
printf '#!/bin/sh\nprintf "220 ready\\r\\n"\nsleep 0.3\nprintf "227 Entering Passive Mode (198,18,1,1,%d,%d).\\r\\n"\nread -r l\n' \
	$((DATA / 256)) $((DATA % 256)) >"$E2E_TMP/ftp-ctrl.sh"
chmod +x "$E2E_TMP/ftp-ctrl.sh"
ns_bg node "$E2E_TMP/ftp-ctrl.log" socat -T 3 "TCP-LISTEN:$CTRL,reuseaddr,fork" \
	"EXEC:$E2E_TMP/ftp-ctrl.sh"
wait_listen node tcp "$CTRL"
tcp_server node "$DATA"

# control_exchange: the client reads the passive-mode reply on the control connection (the
# helper sees it and expects the data connection), then closes the connection after a moment.
control_exchange() {
	local out
	out=$( (sleep 1; echo QUIT) | timeout 4 nsenter --net="/var/run/netns/${PFX}client" -- \
		socat -T 2 - "TCP4:$NODE:$CTRL") || true
	case "$out" in
	*"227 Entering Passive Mode"*) ;;
	*) fail "control connection to $NODE:$CTRL: no passive-mode reply (got '$out')" ;;
	esac
}

# expect_expectation: the kernel holds an expectation for the data port.
expect_expectation() {
	ns node conntrack -L expect 2>/dev/null | grep -q "dport=$DATA" ||
		fail "no conntrack expectation for port $DATA after the control exchange: $(ns node conntrack -L expect 2>&1)"
}

# --- bare kernel: the data connection is RELATED and completes --------------------------------
control_exchange
expect_expectation
before=$(related_syns)
expect_tcp client "$NODE" "$DATA" - "node:$DATA"
after=$(related_syns)
[ "${after:-0}" -gt "${before:-0}" ] ||
	fail "bare kernel: the data connection's SYN was not RELATED (test cannot tell): $before -> $after"

# --- palisade: the host allows the control port only ----------------------------------------
pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$pol"/
cat >"$pol/20-ftp-control.yaml" <<EOF
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ftp-control-only
spec:
  order: 100
  selector: has(host-endpoint)
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [$CTRL]
  egress:
    - action: Allow
EOF
agent_program "$pol"

control_exchange
expect_expectation
before=$(related_syns)
out=$(polctl_json counters) || exit 1
drops_before=$(printf '%s' "$out" | jq '[(.ext0.drops // {})[]] | add // 0')
expect_tcp_blocked client "$NODE" "$DATA" -
after=$(related_syns)
[ "${after:-0}" -gt "${before:-0}" ] ||
	fail "the data connection's SYN was not RELATED to the kernel this time (test cannot tell): $before -> $after"
out=$(polctl_json counters) || exit 1
drops_after=$(printf '%s' "$out" | jq '[(.ext0.drops // {})[]] | add // 0')
[ "$drops_after" -gt "$drops_before" ] ||
	fail "no drop counted on ext0 for the RELATED data connection: $drops_before -> $drops_after"
log "a helper's RELATED data connection met policy and was dropped"

agent_uninstall_check
exit 0
