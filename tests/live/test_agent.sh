# The live commands on a datapath programmed by the agent itself: `palisaded --once` on the
# example policies (bpf backend, generic XDP) in a namespace with their interfaces; polctl sees
# the generation and metadata the agent wrote, the attachments, and answers traces as the offline
# trace does; after `palisaded --uninstall` polctl reports that nothing is pinned (exit 2).
. "$(dirname "$0")/lib.sh"
: "${PALISADED:?PALISADED must point at the palisaded binary}"
P="$ROOT/policies"
setup_ns ext0 mgmt0 pod-web0
log=$(in_ns "$PALISADED" --once --node demo-node --policy-dir "$P" --bpffs "$PIN" \
	--xdp-mode generic --log-level warn 2>&1) || fail "palisaded --once: $log"

expect_rc 0 pc -o json status
gen=$(printf '%s' "$out" | jq .generation)
[ "$gen" -ge 1 ] || fail "generation $gen"
json_is .metadata.generation "$gen"
json_is '[.interfaces[] | select(.tc.ingress and .tc.egress and .endpoint) | .name] | sort | join(",")' "ext0,mgmt0,pod-web0"
# The example policies have forward ingress policy (forward-http-to-pods, the quarantine), so the
# other Ethernet links (here the veth peers) carry tc too, without endpoint (the forward watch).
json_is '[.interfaces[] | select(.endpoint == null) | "\(.name):\(.kind):\(.tc.egress)"] | sort | join(",")' \
	"ext0p:forward-only:true,mgmt0p:forward-only:true,pod-web0p:forward-only:true"
json_is '[.interfaces[] | select(.xdp.palisade) | .xdp.mode] | unique | join(",")' generic
json_is '.interfaces[] | select(.name == "pod-web0") | .endpoint' demo--node-k8s-web-eth0
[ -z "$err" ] || fail "status warned: $err"

expect_rc 0 pc -o json endpoints
json_is '[.[] | .interface] | sort | join(",")' "ext0,mgmt0,pod-web0"
expect_rc 0 pc -o json rules --endpoint ext0 --dir ingress
json_is '[.[] | .stage] | join(",")' "untracked,prednat,forward,normal"

FILTER='{verdict, stage, tier, policy, rule, action, untracked, logged_rule_ids,
	 stages: [.stages[] | {stage, endpoint, direction, outcome, tier, policy, rule}]}'
same() {
	expect_rc 0 "$POLCTL" --node demo-node -o json trace --policy-dir "$P" "$@"
	local off; off=$(printf '%s' "$out" | jq -S "$FILTER")
	expect_rc 0 pc -o json trace "$@"
	local live; live=$(printf '%s' "$out" | jq -S "$FILTER")
	[ "$off" = "$live" ] || fail "live and offline differ for: trace $*
$(diff <(echo "$off") <(echo "$live"))"
}
same --iface mgmt0 --dir ingress --proto tcp --src 198.18.10.5 --sport 40000 --dst 198.18.10.1 --dport 22
same --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --sport 40000 --dst 198.18.1.1 --dport 8443
same --iface ext0 --dir ingress --proto tcp --src 198.18.200.7 --sport 40000 --dst 198.18.1.1 --dport 8443
json_is .verdict deny
json_is .policy security.quarantine
same --iface ext0 --dir ingress --proto udp --src 198.18.1.50 --sport 40000 --dst 198.18.1.1 --dport 11211
json_is .untracked true
same --iface ext0 --dir egress --proto udp --src 2001:db8:1::1 --sport 11211 --dst 2001:db8:1::50 --dport 40000
same --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.200 --sport 40000 --dst 198.18.1.1 --dport 30080 --dnat 198.19.0.10:8080
same --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.20 --sport 40000 --dst 198.18.1.1 --dport 30080 --dnat 198.19.0.10:8080
json_is .stage workload
same --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.20 --sport 40000 --dst 198.19.0.10 --dport 9090
same --iface pod-web0 --dir ingress --proto tcp --src 198.19.0.10 --sport 40000 --dst 198.18.1.1 --dport 80
json_is .verdict deny

# Versions: the pinned layout is the one this polctl reads; a running agent (the daemon adopting
# the pins) is named with its version in `status` and `version`.
VERSION=$(sed -n 's/^#define PALISADE_VERSION "\(.*\)"$/\1/p' "$ROOT/include/palisade/version.h")
LAYOUT=$(sed -n 's/^#define PAL_LAYOUT_VERSION \([0-9]*\)u$/\1/p' "$ROOT/include/palisade/abi.h")
expect_rc 0 pc -o json version
json_is '"\(.client.version) \(.datapath.pinned) \(.datapath.layout_version) \(.datapath.compatible)"' \
	"$VERSION true $LAYOUT true"
dlog=$(mktemp)
# nsenter execs palisaded (no fork): $! is the agent's pid.
nsenter --net="/var/run/netns/$NS" "$PALISADED" --node demo-node --policy-dir "$P" --bpffs "$PIN" \
	--xdp-mode generic --log-level warn 2>"$dlog" &
daemon=$!
trap 'kill -KILL "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -f "$dlog"; cleanup' EXIT
# Until it applied its first generation (it adopted $gen from the pins): signals are handled by then.
for _ in $(seq 50); do
	expect_rc 0 pc -o json status
	[ "$(printf '%s' "$out" | jq -r ".agent.running and .generation > $gen")" = true ] && break
	sleep 0.1
done
json_is '"\(.version) \(.agent.pid) \(.agent.version)"' "$VERSION $daemon $VERSION"
expect_rc 0 pc status
contains "$out" "running (pid $daemon, version $VERSION)"
kill -TERM "$daemon"; wait "$daemon" || fail "palisaded exited $?: $(cat "$dlog")"

log=$(in_ns "$PALISADED" --uninstall --node demo-node --policy-dir "$P" --bpffs "$PIN" 2>&1) ||
	fail "palisaded --uninstall: $log"
expect_rc 2 pc status
contains "$err" "$PIN"
expect_rc 0 pc -o json version
json_is .datapath.pinned false
