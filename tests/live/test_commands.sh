# The live commands on a datapath with real traffic: a namespace "node" whose ext0 (a host
# endpoint, XDP + tc) is a veth to a "peer" namespace. The node pings the peer (normal egress
# allows: flow entries, rule and interface counters); the peer sends TCP to port 9999 (untracked
# deny at XDP: a drop with its reason and a deny event). Then status, endpoints, rules, sets, flows
# (and --flush) and counters are checked in JSON and table form, and the errors: no datapath at
# DIR, unknown endpoint, bad options, missing metadata, monitor without an agent.
. "$(dirname "$0")/lib.sh"
PEER="$NS-peer"
ip netns add "$NS" || fail "netns"
ip netns add "$PEER" || fail "netns peer"
in_ns ip link set lo up
in_ns ip link add ext0 type veth peer name eth0 netns "$PEER" || fail "veth"
in_ns ip addr add 198.19.99.1/24 dev ext0
in_ns ip link set ext0 up
nsenter --net="/var/run/netns/$PEER" -- ip addr add 198.19.99.2/24 dev eth0
nsenter --net="/var/run/netns/$PEER" -- ip link set eth0 up
nsenter --net="/var/run/netns/$PEER" -- ip link set lo up
program --node live-node --policy-dir "$ROOT/tests/live/policy" --generation 5

# ---- errors ----
expect_rc 2 "$POLCTL" --bpffs "/sys/fs/bpf/pl-none-$$" status
contains "$err" "/sys/fs/bpf/pl-none-$$"
expect_rc 2 "$POLCTL" --bpffs "/sys/fs/bpf/pl-none-$$" -o json rules
json_is '.error | test("no palisade datapath")' true
expect_rc 2 "$POLCTL" --bpffs "/sys/fs/bpf/pl-none-$$" trace --iface ext0 --dir ingress --proto tcp --src 198.19.99.2 --dst 198.19.99.1 --dport 80
contains "$err" "/sys/fs/bpf/pl-none-$$"
expect_rc 2 pc trace --iface nosuch0 --dir ingress --proto tcp --src 198.19.99.2 --dst 198.19.99.1 --dport 80
contains "$err" "nosuch0"
expect_rc 2 pc rules --endpoint nosuch0
contains "$err" nosuch0
expect_rc 2 pc rules --dir sideways
expect_rc 2 pc flows --bogus
expect_rc 2 pc monitor --count 0
expect_rc 2 pc status extra

# ---- status ----
expect_rc 0 pc -o json status
json_is .generation 5
json_is .metadata.generation 5
json_is .agent.running false
json_is '.interfaces[] | select(.name == "ext0") | .xdp.mode' generic
json_is '.interfaces[] | select(.name == "ext0") | .xdp.palisade' true
json_is '.interfaces[] | select(.name == "ext0") | .tc.ingress and .tc.egress' true
json_is '.interfaces[] | select(.name == "ext0") | .endpoint' live-node-ext0
json_is '.maps[] | select(.name == "pal_ifaces") | .used' 1
json_is '.maps[] | select(.name == "pal_flows") | .max' 262144
json_is '.maps[] | select(.name == "pal_flows4") | .max' 262144 # --max-flows sizes both tables
expect_rc 0 pc status
contains "$out" "generation   5"
contains "$out" "live-node-ext0"
# the agent holds an exclusive flock on the pin directory: status reports it (read from
# /proc/locks, never by trying the lock)
flock "$PIN" sleep 5 &
lockpid=$!
sleep 0.3
expect_rc 0 pc -o json status
json_is .agent.running true
json_is '.agent.pid > 0' true
json_is .agent.version null # the lock holder is not palisaded: no embedded version
kill "$lockpid" 2>/dev/null; wait "$lockpid" 2>/dev/null

# ---- traffic ----
in_ns ping -c 3 -i 0.2 -W 1 198.19.99.2 >/dev/null || fail "ping from the node to its peer (egress allowed) failed"
nsenter --net="/var/run/netns/$PEER" -- timeout 2 socat -u /dev/null TCP:198.19.99.1:9999,connect-timeout=1 2>/dev/null &&
	fail "TCP to 9999 connected: the untracked deny did not drop it"
# monitor reads the agent's event socket (no agent runs here: pal_program programmed the
# datapath); it says so instead of reading the ring buffer itself. Its events are tested with the
# agent in tests/e2e/test_agent_events.sh.
expect_rc 2 pc monitor --socket "/tmp/pl-live-$$-none.sock" --timeout 1
contains "$err" "no palisaded is running"

# ---- counters ----
expect_rc 0 pc -o json counters
json_is '.ext0.hooks.xdp.drops["policy-deny"] >= 1' true
# every dropped SYN frame is at least Ethernet + IPv4 + TCP headers (54 bytes)
json_is '.ext0.hooks.xdp | .drop_bytes["policy-deny"] >= 54 * .drops["policy-deny"]' true
json_is '.ext0.hooks["tc-egress"].verdicts.allow >= 3' true
json_is '.ext0.ifindex > 0' true
expect_rc 0 pc counters
printf '%s\n' "$out" | grep -Eq 'policy-deny=[0-9]+/[0-9]+B' || fail "no policy-deny=PACKETS/BYTESB in:
$out"

# ---- rules ----
expect_rc 0 pc -o json rules --endpoint ext0 --dir ingress
json_is '[.[].dir] | unique | join(",")' ingress
json_is '.[] | select(.stage == "untracked") | .rules[0] | [.policy, .index, .action, .packets >= 1] | join(" ")' "block-9999 0 Deny true"
json_is '.[] | select(.stage == "normal") | [.rules[] | .policy // .kind] | join(",")' "edge-allow,edge-allow,end-of-tier,default-deny"
expect_rc 0 pc -o json rules --dir egress
json_is '.[] | select(.stage == "normal") | .rules[0] | [.tier, .policy, .action, .packets >= 3, .bytes > 0] | join(" ")' "default edge-allow Allow true true"
expect_rc 0 pc rules --endpoint live-node-ext0
contains "$out" block-9999
contains "$out" "(end of tier)"

# ---- endpoints, sets ----
expect_rc 0 pc -o json endpoints
json_is '.[0] | [.name, .kind, .interface, .labels.role] | join(" ")' "live-node-ext0 host ext0 edge"
json_is '.[0].stages.untracked.ingress[0].policies | join(",")' block-9999
json_is '.[0].lists["normal-in"] > 0' true
expect_rc 0 pc endpoints
contains "$out" "role=edge"
expect_rc 0 pc -o json sets
json_is '[.sets[] | select(.cidrs | index("192.0.2.0/24"))] | length >= 1' true
json_is '.generation' 5

# ---- flows ----
expect_rc 0 pc -o json flows
json_is '[.[] | select(.proto == "icmp" and .src == "198.19.99.1" and .dst == "198.19.99.2")] | length >= 1' true
json_is '[.[] | select(.proto == "icmp")][0] | (has("sport") and has("dport") and .verdict == "allow")' true
json_is '[.[] | select(.proto == "icmp" and .direction == "original")][0].policy' edge-allow
expect_rc 0 pc flows
contains "$out" "198.19.99.2"
expect_rc 0 pc -o json flows --flush
json_is '.flushed >= 1' true
expect_rc 0 pc -o json flows
json_is 'length' 0

# ---- a new generation without its metadata (a stale document), then with; then none ----
program --node live-node --policy-dir "$ROOT/tests/live/policy" --generation 6 --no-meta
expect_rc 0 pc rules
contains "$err" "describes generation 5"
program --node live-node --policy-dir "$ROOT/tests/live/policy" --generation 6
expect_rc 0 pc rules
[ -z "$err" ] || fail "unexpected warning: $err"
expect_rc 0 pc -o json status
json_is .generation 6
json_is .metadata.generation 6
rm -f "$PIN/maps/pal_meta" || fail "rm pal_meta"
expect_rc 0 pc -o json status
json_is .metadata null
expect_rc 0 pc rules
contains "$err" "no metadata"
expect_rc 2 pc sets
contains "$err" "no metadata"
expect_rc 0 pc -o json trace --iface ext0 --dir ingress --proto tcp --src 198.19.99.2 --sport 40000 --dst 198.19.99.1 --dport 9999
json_is .verdict deny
json_is .stage untracked
json_is '.rule_id != null' true
json_is .policy "(no metadata)"
