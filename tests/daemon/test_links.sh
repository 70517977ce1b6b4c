# Interfaces, from netlink, in a private network namespace: host endpoints by name and by
# expected IP, a workload interface created after the start (attached within a second) and
# removed again, --interfaces globs.
. "$(dirname "$0")/lib.sh"

use_netns
n() { ip -n "$NS" "$@"; }
# veth pairs (dummy links need a module this kernel may not have); peers are named pp-*.
mk() { n link add "$1" type veth peer name "pp-${1#pt-}"; }
mk pt-eth0 || fail "cannot create a veth pair"
mk pt-up0
n addr add 198.18.5.1/24 dev pt-up0
mk pt-other
write_policy "$TMP/p"
port=$(free_port)
start_agent --policy-dir "$TMP/p" --interfaces 'pt-fwd*' --health "127.0.0.1:$port"
wait_until 2 test -n "$(ifaces)" || fail "no interfaces recorded"
[ "$(ifaces)" = "pt-eth0,pt-up0" ] || fail "initial interfaces: $(ifaces), want pt-eth0,pt-up0"
http "$port" /readyz
[ "$code" = 200 ] || fail "/readyz: $code $body"
contains "$body" "on 2 interfaces"

ifaces_are() { [ "$(ifaces)" = "$1" ]; }
# A pod veth appears: attached within a second.
t0=$(date +%s%N)
mk pt-pod0
wait_until 1 ifaces_are "pt-eth0,pt-pod0,pt-up0" || fail "new workload interface: $(ifaces)"
echo "link-to-attach latency (ms): $((($(date +%s%N) - t0) / 1000000))"
grep -q "iface=pt-pod0 .*role=workload" "$TMP/agent.log" || fail "workload role not logged"

# Glob match; the peer end and pt-other stay untouched.
mk pt-fwd1
wait_until 1 ifaces_are "pt-eth0,pt-fwd1,pt-pod0,pt-up0" || fail "glob interface: $(ifaces)"

# The expected IP moves away: that host endpoint has no interface any more.
n addr del 198.18.5.1/24 dev pt-up0
n addr add 198.18.5.1/24 dev pt-other
wait_until 1 ifaces_are "pt-eth0,pt-fwd1,pt-other,pt-pod0" || fail "expectedIPs move: $(ifaces)"

# Gone: cleaned up.
n link del pt-pod0
n link del pt-fwd1
wait_until 1 ifaces_are "pt-eth0,pt-other" || fail "after deleting links: $(ifaces)"
grep -q "interface no longer policed iface=pt-pod0" "$TMP/agent.log" || fail "removal not logged"
stop_agent || fail "SIGTERM: exit $?"
exit 0
