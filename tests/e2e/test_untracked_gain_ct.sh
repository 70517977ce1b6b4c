#!/usr/bin/env bash
# A policy change that gives a host endpoint the node's first untracked ingress rules (so raw
# PREROUTING had no jump to PALISADE-RAW-PRE) while untracked traffic flows: tc ingress marks the
# allowed packets PAL_MARK_UNTRACKED as soon as the lists flip, so the raw PREROUTING jump that
# turns the mark into CT --notrack must be in place before (backend_bpf.c
# want_prerouting_before), or doNotTrack traffic is entered in conntrack until the interface
# sync after the apply (it was: ~1,000 packets and ~900 conntrack entries per change here).
# Observed by a counter rule in mangle PREROUTING (after conntrack) matching packets that carry
# palisade's untracked mark but are not untracked in conntrack. Expected: none, ever.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start
command -v python3 >/dev/null || fail "python3 needed"
dir=$(policy_dir_copy)
mv "$dir/30-memcached-untracked.yaml" "$E2E_TMP/30-memcached-untracked.yaml" || fail "hold back the untracked policy"
agentd_start "$dir"
ns node iptables -t raw -S PREROUTING | grep -q PALISADE-RAW-PRE &&
	fail "raw PREROUTING jumps to PALISADE-RAW-PRE with no untracked policy: $(ns node iptables -t raw -S PREROUTING)"
ns node iptables -t mangle -I PREROUTING 1 -m mark --mark 0x100000/0x100000 -m conntrack ! --ctstate UNTRACKED ||
	fail "cannot add the observer rule"

# a new flow (source port) every millisecond to the node's 11211
cat >"$E2E_TMP/spray.py" <<'EOF'
import os, socket, sys, time
stop = sys.argv[1]
while not os.path.exists(stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("198.18.1.1", 11211))
    s.close()
    time.sleep(0.001)
EOF
ns_bg client "$E2E_TMP/spray.err" python3 "$E2E_TMP/spray.py" "$E2E_TMP/spray.stop"
sleep 0.5
gen=$(agentd_generation)
ct_flush
before_ct=$(ct_count ipv4 -p udp --dport 11211) || fail "conntrack"
echo "MEASURE: conntrack entries for udp 11211 before the change (11211 not allowed yet): $before_ct"
mv "$E2E_TMP/30-memcached-untracked.yaml" "$dir/30-memcached-untracked.yaml" || fail "write the policy"
for i in $(seq 100); do
	[ "$(agentd_generation)" != "$gen" ] && ns node iptables -t raw -S PREROUTING | grep -q PALISADE-RAW-PRE && break
	sleep 0.1
done
t_jump=$(now_ms)
echo "MEASURE: change written to raw PREROUTING jump seen: polled, $i x 100 ms"
sleep 0.5
leaked=$(ns node iptables -t mangle -L PREROUTING 1 -v -x -n | awk '{print $1}')
ns node iptables -t mangle -Z PREROUTING 1
sleep 1
steady=$(ns node iptables -t mangle -L PREROUTING 1 -v -x -n | awk '{print $1}')
echo "MEASURE: the same, in the second after the jump was in place: $steady"
touch "$E2E_TMP/spray.stop"
ct_now=$(ct_count ipv4 -p udp --dport 11211) || fail "conntrack"
echo "MEASURE: conntrack entries for udp 11211 (doNotTrack) after the change: $ct_now"
ns node iptables -t raw -S PREROUTING | grep -q PALISADE-RAW-PRE || fail "no raw PREROUTING jump after the change"
echo "MEASURE: packets marked untracked by palisade but tracked by conntrack around the change: $leaked"
ns node iptables -t mangle -D PREROUTING 1
[ "$steady" -eq 0 ] || fail "$steady untracked-allowed packets tracked in the second after the jump was in place"
[ "$leaked" -eq 0 ] || fail "$leaked untracked-allowed packets were entered in conntrack while the policy change was applied (doNotTrack broken in the window)"
agentd_stop
exit 0
