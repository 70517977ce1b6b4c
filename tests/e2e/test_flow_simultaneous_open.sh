#!/usr/bin/env bash
# TCP simultaneous open (both ends connect() to each other at once) under a policy that allows
# only one direction: the side the policy denies must get no flow of its own. Its SYN is dropped;
# the allowed side's SYN reaches it in SYN_SENT, it answers with a SYN-ACK (RFC 793's crossed
# SYNs), and both sockets end up connected: the allowed side's connection, which the policy
# admits. palisade's entry must name the allowed side as the opener (its tuple is what a re-judge
# classifies), and the kernel's conntrack is the second oracle: it has the connection
# established, but its original direction is the denied side's (that SYN was tracked, at
# PREROUTING forwarded and at OUTPUT from the node, before palisade dropped it at tc egress), a
# record, not an admission: palisade's own table decides. Then the policy that admitted the flow
# goes: the connection is cut in both directions, the denied side's included, by a re-judge of
# the flow (a tombstone), which needs the re-judge's tail-call tables to outlive the one-shot
# agent that loaded them (docs/datapath.md "Pinning, versions, adoption").
#
#   F. forwarded: web (no egress allowed) 198.19.0.10:8080 <-> client, which may reach web's 8080
#      (IPv4 and IPv6)
#   N. to the node: the node's own egress only ICMP (fixtures/20-host-egress-icmp-only.yaml),
#      the client may reach the node's 8443
. "$(dirname "$0")/lib/agent_test.sh"

command -v python3 >/dev/null || fail "python3 not installed (scripts/install-deps.sh)"
agent_require
topo_create

# simopen.py SRC SPORT DST DPORT DELAY TAG [HOLD]: after DELAY s, connect from SRC:SPORT (6 s),
# send TAG, print "connected <the peer's tag>"; with HOLD, then keep the connection HOLD s,
# printing every line the peer sends and sending "again-TAG" when it reads "push".
cat >"$E2E_TMP/simopen.py" <<'EOF'
import socket, sys, time, select
src, sport, dst, dport, delay, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
hold = float(sys.argv[7]) if len(sys.argv) > 7 else 0
fam = socket.AF_INET6 if ":" in src else socket.AF_INET
time.sleep(delay)
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, sport))
s.settimeout(6)
try:
    s.connect((dst, dport))
except OSError as e:
    print("failed", e, flush=True)
    sys.exit(1)
s.sendall(tag.encode() + b"\n")
f = s.makefile("rb")
print("connected", f.readline().decode().strip(), flush=True)
end = time.monotonic() + hold
while time.monotonic() < end:
    r, _, _ = select.select([s], [], [], 0.1)
    if r:
        line = f.readline()
        if not line:
            break
        print("got", line.decode().strip(), flush=True)
        if line.strip() == b"push":
            s.sendall(b"again-" + tag.encode() + b"\n")
    try:
        with open(sys.argv[8], "rb") as c:
            s.sendall(c.read())
        import os
        os.unlink(sys.argv[8])
    except (IndexError, FileNotFoundError):
        pass
s.close()
EOF

# flow_row SPORT: palisade's entry with port SPORT on either side, as polctl shows it (the
# direction the flow opened)
flow_row() {
	polctl_json flows | jq -c --argjson p "$1" \
		'[.[] | select(.proto == "tcp" and (.sport == $p or .dport == $p) and (.nat | not))][0]'
}

# simopen WHAT DENIED_NS DENIED_ADDR DENIED_PORT ALLOWED_NS ALLOWED_ADDR ALLOWED_PORT: the denied
# side connects first (its SYN dropped), the allowed side 0.4 s later; both must be connected to
# each other, and palisade's entry opened by the allowed side. Both sockets are held 15 s; the
# scratch files $E2E_TMP/say-{denied,allowed}-PORT make a side send their content.
simopen() {
	local what=$1 dn=$2 da=$3 dp=$4 an=$5 aa=$6 ap=$7 row
	ns_bg "$dn" "$E2E_TMP/denied-$ap.out" python3 "$E2E_TMP/simopen.py" "$da" "$dp" "$aa" "$ap" 0 \
		"denied-side" 15 "$E2E_TMP/say-denied-$ap"
	ns_bg "$an" "$E2E_TMP/allowed-$ap.out" python3 "$E2E_TMP/simopen.py" "$aa" "$ap" "$da" "$dp" \
		0.4 "allowed-side" 15 "$E2E_TMP/say-allowed-$ap"
	for _ in $(seq 40); do
		grep -q connected "$E2E_TMP/denied-$ap.out" && grep -q connected "$E2E_TMP/allowed-$ap.out" &&
			break
		sleep 0.1
	done
	grep -q '^connected allowed-side$' "$E2E_TMP/denied-$ap.out" ||
		fail "$what: the denied side: $(cat "$E2E_TMP/denied-$ap.out")"
	grep -q '^connected denied-side$' "$E2E_TMP/allowed-$ap.out" ||
		fail "$what: the allowed side: $(cat "$E2E_TMP/allowed-$ap.out")"
	row=$(flow_row "$ap")
	log "$what: both connected (crossed SYNs); palisade: $row"
	[ "$(jq -r '"\(.src) \(.sport) \(.dst) \(.dport)"' <<<"$row")" = "$aa $ap $da $dp" ] ||
		fail "$what: palisade's entry is not the allowed side's connection: $row"
}

dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
cp "$here/fixtures/20-host-egress-icmp-only.yaml" "$dir/20-bare-metal-host.yaml" ||
	fail "copy the host variant"
agent_program "$dir"
ct_flush

simopen "F (forwarded, IPv4)" web 198.19.0.10 8080 client 198.18.1.50 40300
# conntrack_est WHAT FAMILY A APORT B BPORT: the kernel's conntrack has the connection
# ESTABLISHED in either original direction; prints the original source
conntrack_est() {
	local ct
	ct="$(ct_list "$2" -p tcp -s "$3" --sport "$4" -d "$5" --dport "$6")$(ct_list "$2" -p tcp -s "$5" --sport "$6" -d "$3" --dport "$4")"
	grep -q ESTABLISHED <<<"$ct" || fail "$1: conntrack has no established connection: $ct"
	awk '{sub("src=", "", $5); print $5; exit}' <<<"$ct"
}
o=$(conntrack_est F ipv4 198.18.1.50 40300 198.19.0.10 8080) || exit 1
log "F: conntrack's original source: $o"
simopen "F (forwarded, IPv6)" web 2001:db8:19::10 8080 client 2001:db8:1::50 40301
o=$(conntrack_est F6 ipv6 2001:db8:1::50 40301 2001:db8:19::10 8080) || exit 1
log "F6: conntrack's original source: $o"
simopen "N (to the node)" node 198.18.1.1 8443 client 198.18.1.50 40310
o=$(conntrack_est N ipv4 198.18.1.50 40310 198.18.1.1 8443) || exit 1
log "N: conntrack's original source: $o"

# The sockets talk: the allowed side's "push" reaches the denied side, whose answer comes back.
echo push >"$E2E_TMP/say-allowed-40300"
for _ in $(seq 20); do
	grep -q 'got again-denied-side' "$E2E_TMP/allowed-40300.out" && break
	sleep 0.1
done
grep -q 'got again-denied-side' "$E2E_TMP/allowed-40300.out" ||
	fail "F: no exchange on the connection: $(cat "$E2E_TMP/allowed-40300.out" "$E2E_TMP/denied-40300.out")"

# The policy that admitted F goes (web's ingress: only 9090, no 8080): the next packet of either
# side is dropped, the denied side's included (it has no flow of its own to keep).
sed -i 's/port: http/port: 9090/' "$dir/70-shop-web.yaml"
agent_program "$dir"
echo push2 >"$E2E_TMP/say-denied-40300"
echo push2 >"$E2E_TMP/say-allowed-40300"
sleep 1.5
! grep -q 'got push2' "$E2E_TMP/allowed-40300.out" ||
	fail "F: after web's allow went the denied side still reaches the client: $(cat "$E2E_TMP/allowed-40300.out")"
! grep -q 'got push2' "$E2E_TMP/denied-40300.out" ||
	fail "F: after web's allow went the client still reaches web: $(cat "$E2E_TMP/denied-40300.out")"
row=$(flow_row 40300)
[ "$(jq -r .verdict <<<"$row")" = deny ] ||
	fail "F: the flow was not re-judged (no tombstone; the packets met policy as new ones): $row"
log "F: both directions cut after the allow went, the flow a tombstone: $row"

wait # the sockets' holds end
topo_start_services
agent_uninstall_check
exit 0
