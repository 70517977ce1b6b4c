# Trace mode changes nothing and only a test run can enter it.
#   1. `polctl trace` runs the pinned programs on allowed, denied and logged packets in every
#      direction: the rule and interface counters (which also hold the event rate limiter's state,
#      so an event admitted would show there), the flow and fragment tables are byte for byte the
#      same afterwards, and every CPU's pal_trace entry is disarmed.
#   2. Real packets (from a peer namespace over a veth into ext0) while pal_trace is armed with a
#      nonce are counted as usual and never enter trace mode: the nonce is not in their cb[].
. "$(dirname "$0")/lib.sh"
PEER="$NS-peer"
in_peer() { nsenter --net="/var/run/netns/$PEER" -- "$@"; }
setup_ns mgmt0 pod-web0
ip netns add "$PEER" || fail "netns peer"
# no IPv6 background traffic (router/neighbour solicitations, MLD) to move the counters
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_peer sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add ext0 type veth peer name eth0 netns "$PEER" || fail "veth"
in_ns ip addr add 198.18.1.1/24 dev ext0
in_ns ip link set ext0 up
in_peer ip addr add 198.18.1.50/24 dev eth0
in_peer ip link set eth0 up
program --node demo-node --policy-dir "$ROOT/policies" --generation 3
TMPD=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$TMPD"; cleanup' EXIT INT TERM

# The tables a packet may change, as bpftool dumps them (per-CPU values included).
snapshot() {
	local m
	for m in pal_rule_ctrs pal_if_ctrs pal_flows4 pal_flows pal_frags; do
		echo "== $m"
		in_ns bpftool -j map dump pinned "$PIN/maps/$m" | jq -S -c 'sort_by(.key)' ||
			fail "dump $m"
	done
}
# Over all CPUs, how many bytes of pal_trace's `entered` (set by a program that entered trace mode)
# and of its `nonce` are not zero (bpftool prints the raw bytes of the struct pal_trace).
trace_state() {
	in_ns bpftool -j map dump pinned "$PIN/maps/pal_trace" | jq -r '[.[0].values[].value] |
		def nz(a; b): map(.[a:b][] | select(. != "0x00")) | length;
		"\(nz(12; 16)) \(nz(0; 8))"'
}

# ---- 1. traces change nothing ----
snapshot >"$TMPD/before" || fail "snapshot"
traces=(
	"--iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --sport 40000 --dport 22"
	"--iface ext0 --dir ingress --proto tcp --src 198.18.200.7 --dst 198.18.1.1 --sport 40000 --dport 80"
	"--iface ext0 --dir ingress --proto udp --src 198.18.1.50 --dst 198.18.1.1 --sport 40000 --dport 11211"
	"--iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --sport 40000 --dport 30080 --dnat 198.19.0.10:8080"
	"--iface ext0 --dir egress --proto tcp --src 198.18.1.1 --dst 198.18.1.50 --sport 40000 --dport 443"
	"--iface ext0 --dir egress --proto udp --src 198.18.1.1 --dst 198.18.1.50 --sport 40000 --dport 9999"
	"--iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.50 --dst 198.19.0.10 --sport 40000 --dport 8080"
	"--iface pod-web0 --dir forward --out-iface ext0 --proto tcp --src 198.19.0.10 --dst 198.18.1.50 --sport 40000 --dport 443"
	"--iface pod-web0 --dir ingress --proto tcp --src 198.19.0.10 --dst 198.18.1.1 --sport 40000 --dport 80"
	"--iface ext0 --dir ingress --proto icmp --src 198.18.1.50 --dst 198.18.1.1 --icmp-type 8 --icmp-code 0"
)
allowed=0 denied=0 logged=0
for t in "${traces[@]}"; do
	# shellcheck disable=SC2086 # word splitting intended
	expect_rc 0 pc -o json trace $t
	case $(printf '%s' "$out" | jq -r .verdict) in allow) allowed=$((allowed + 1)) ;; deny) denied=$((denied + 1)) ;; esac
	[ "$(printf '%s' "$out" | jq '.logged_rule_ids | length')" -gt 0 ] && logged=$((logged + 1))
done
[ "$allowed" -gt 0 ] && [ "$denied" -gt 0 ] && [ "$logged" -gt 0 ] ||
	fail "the traces must cover allow, deny and Log ($allowed allowed, $denied denied, $logged logged)"
snapshot >"$TMPD/after" || fail "snapshot"
if ! cmp -s "$TMPD/before" "$TMPD/after"; then
	fail "a trace changed the datapath's counters, flows or fragments:
$(diff "$TMPD/before" "$TMPD/after" | cut -c1-300 | head -20)"
fi
read -r entered nonce <<<"$(trace_state)"
[ "$nonce" = 0 ] || fail "pal_trace left armed after the traces (nonce sum $nonce)"

# ---- 2. real packets never enter trace mode, even with pal_trace armed ----
size=$(in_ns bpftool -j map show pinned "$PIN/maps/pal_trace" | jq .bytes_value)
zeros() { printf ' 0%.0s' $(seq 1 "$1"); }
armed="0x2a 0x2a 0x2a 0x2a 0x2a 0x2a 0x2a 0x2a$(zeros $((size - 8)))" # nonce 0x2a2a2a2a2a2a2a2a
# shellcheck disable=SC2086
in_ns bpftool map update pinned "$PIN/maps/pal_trace" key 0 0 0 0 value $armed || fail "arm pal_trace"
read -r entered nonce <<<"$(trace_state)"
[ "$nonce" != 0 ] && [ "$entered" = 0 ] || fail "arming pal_trace did not take (nonce $nonce, entered $entered)"
in_peer ping -c 3 -i 0.2 -W 1 198.18.1.1 >/dev/null 2>&1 # allowed or not: counted either way
read -r entered nonce <<<"$(trace_state)"
# shellcheck disable=SC2046
in_ns bpftool map update pinned "$PIN/maps/pal_trace" key 0 0 0 0 value $(zeros "$size") || fail "disarm"
[ "$entered" = 0 ] || fail "a real packet entered trace mode"
snapshot >"$TMPD/real" || fail "snapshot"
cmp -s "$TMPD/after" "$TMPD/real" && fail "the real packets changed no counter: this test would not see a trace that counts"
exit 0
