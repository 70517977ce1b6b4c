#!/usr/bin/env bash
# A deny means now for ICMP echo flows (s16 adversary round): the client pings the node (IPv4 and
# IPv6, host policy allows echo requests in) and the node pings the client (host egress open);
# then the host policy loses its echo allow and its egress allow of ICMP. From the next packet on
# no request and no reply passes in either flow (an echo flow is keyed by its identifier, re-judged
# on its original tuple: the request's). Real pings; conntrack is the second oracle (the client's
# pings stop refreshing their entry; the kfuncs cannot remove an ICMP entry).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
dir=$(policy_dir_copy)
# forward-http-to-pods allows all ICMP on ext0 (to the host too): without it, echo to the host is
# the bare-metal host policy's alone
head -n 23 "$dir/50-forward-to-pods.yaml" >"$E2E_TMP/50.yaml" && mv "$E2E_TMP/50.yaml" "$dir/50-forward-to-pods.yaml"
grep -q ICMP "$dir/50-forward-to-pods.yaml" && fail "the test's edit of 50-forward-to-pods.yaml left ICMP"
agentd_start "$dir"

# pings every 0.1 s for 30 s, each line flushed
pingbg() { # NS LOG ADDR
	ns_bg "$1" "$2" stdbuf -oL ping -n -i 0.1 -w 30 "$3"
}
replies() { grep -c 'bytes from' "$1" 2>/dev/null || true; }
pingbg client "$E2E_TMP/c4.log" 198.18.1.1
pingbg client "$E2E_TMP/c6.log" 2001:db8:1::1
pingbg node "$E2E_TMP/n4.log" 198.18.1.50
pingbg node "$E2E_TMP/n6.log" 2001:db8:1::50
sleep 1
for l in c4 c6 n4 n6; do
	[ "$(replies "$E2E_TMP/$l.log")" -ge 5 ] || fail "ping $l gets no replies before the change: $(head -c 500 "$E2E_TMP/$l.log")"
done
[ "$(ct_count ipv4 -p icmp)" -ge 2 ] || fail "conntrack has no IPv4 echo entries: $(ct_list ipv4 -p icmp)"

# the host policy without its ICMP rules: echo requests in and ICMP out are default-denied
gen=$(agentd_generation)
cat >"$E2E_TMP/20.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: host-ssh-and-api
spec:
  order: 100
  selector: has(host-endpoint)
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [8443]
  egress:
    - action: Allow
      protocol: TCP
YAML
mv "$E2E_TMP/20.yaml" "$dir/20-bare-metal-host.yaml"
agentd_wait_generation $((gen + 1))
sleep 0.3 # a reply in flight at the flip
# control: a new ping (another identifier) is denied by the new policy
ns client ping -n -c 2 -W 1 -i 0.2 198.18.1.1 >"$E2E_TMP/fresh4.log" 2>&1 &&
	fail "control: a new IPv4 ping to the node is answered under the new policy"
ns client ping -n -c 2 -W 1 -i 0.2 2001:db8:1::1 >"$E2E_TMP/fresh6.log" 2>&1 &&
	fail "control: a new IPv6 ping to the node is answered under the new policy"
declare -A before
for l in c4 c6 n4 n6; do before[$l]=$(replies "$E2E_TMP/$l.log"); done
sleep 2
for l in c4 c6 n4 n6; do
	now=$(replies "$E2E_TMP/$l.log")
	[ "$now" -eq "${before[$l]}" ] ||
		fail "ping $l still gets replies after the deny ($((now - before[$l])) in 2 s): flows: $(polctl_json flows | jq -c '[.[] | select(.proto | test("icmp"))]' 2>/dev/null | head -c 1500)"
done
st=$(polctl_json status) || fail "polctl status"
denied=$(printf '%s' "$st" | jq '.flows.rejudge_denied')
[ "${denied:-0}" -ge 4 ] || fail "polctl status shows $denied denied re-judges, want the 4 pings: $(printf '%s' "$st" | jq -c .flows)"
# conntrack: the cut pings' entries go (zero timeout at the tc hook), and the pings that keep
# trying start new ones each time, which the policy drops again: none is ever answered
log "after the deny: re-judge denies $denied; conntrack echo entries: $(ct_list ipv4 -p icmp | tr '\n' ' ') $(ct_list ipv6 -p icmpv6 | tr '\n' ' ')"
# The conntrack kfuncs look up TCP and UDP only: a cut echo flow's conntrack entry stays (its
# timeout; docs/datapath.md "A deny means now"). What conntrack does show: the client's pings,
# dropped at tc ingress before conntrack, no longer refresh their entry.
t=$(ct_list ipv4 -p icmp | awk '/src=198.18.1.50 dst=198.18.1.1 type=8/ {print $3; exit}')
[ -z "$t" ] || [ "$t" -le 28 ] ||
	fail "the client's cut IPv4 ping still refreshes its conntrack entry (timeout $t)"
agentd_stop
exit 0
