# shellcheck shell=bash
# Traffic probes: real TCP, UDP and ICMP between the topology's namespaces, every one bounded by a
# short timeout. Source after topology.sh.
#
# A probe sends a unique token and succeeds only when the server's answer carries it back: that is
# a full exchange (request delivered, reply delivered), not just a connect.
#
#   tcp_probe FROM DST PORT [SRC]   prints the reply line; exit 0 on a complete exchange
#   udp_probe FROM DST PORT [SRC]   prints the echoed datagram; exit 0 when the echo came back
#   icmp_probe FROM DST [SRC]       one echo request, exit 0 when the reply came back
#
# FROM is a namespace short name (client, mgmt, web, node); DST and SRC are literal IPv4 or IPv6
# addresses; SRC binds the probe's source address (the client owns several).
#
# Assertions (fail the test with a message):
#   expect_tcp FROM DST PORT SRC SERVER    a complete exchange answered by SERVER ("web:8080", ...)
#   expect_tcp_blocked FROM DST PORT SRC   no answer
#   expect_udp / expect_udp_blocked FROM DST PORT SRC
#   expect_icmp / expect_icmp_blocked FROM DST SRC
# SRC may be "-" for the namespace's default source.
#   expect_table <<EOF ... EOF             a table of probes, one a line: PROTO FROM DST PORT SRC
#                                          WANT (PROTO tcp, udp or icmp; PORT "-" for icmp; WANT
#                                          "blocked", "pass", or for tcp the SERVER); blank lines
#                                          and "#" comments are skipped; run in order

PROBE_TIMEOUT=${PROBE_TIMEOUT:-2}
# How much slower than a real machine this one is, a whole number: the waits for a whole agent run
# and for background listeners scale with it (1 here; tests/kernel/guest.sh sets more: an emulated
# CPU). Never a reason to pass: only waits for something that must happen grow.
E2E_SLOW=${E2E_SLOW:-1}

_is_v6() { case "$1" in *:*) return 0 ;; *) return 1 ;; esac; }

# _sock TCP|UDP DST PORT SRC: the socat address for a client socket.
_sock() {
	local p=$1 dst=$2 port=$3 src=${4:--} a opt=""
	if _is_v6 "$dst"; then
		a="${p}6:[$dst]:$port"
		[ "$src" != - ] && opt=",bind=[$src]"
	else
		a="${p}4:$dst:$port"
		[ "$src" != - ] && opt=",bind=$src"
	fi
	[ "$p" = TCP ] && opt="$opt,connect-timeout=$PROBE_TIMEOUT"
	printf '%s%s' "$a" "$opt"
}

_token() { printf 'probe-%s-%s' "$$" "$RANDOM$RANDOM"; }

tcp_probe() {
	local from=$1 dst=$2 port=$3 src=${4:--} tok out
	tok=$(_token)
	out=$(printf '%s\n' "$tok" | timeout $((PROBE_TIMEOUT + 1)) \
		nsenter --net="/var/run/netns/${PFX}$from" -- \
		socat -t 1 -T "$PROBE_TIMEOUT" - "$(_sock TCP "$dst" "$port" "$src")" 2>/dev/null)
	printf '%s\n' "$out"
	case "$out" in *" $tok") return 0 ;; *) return 1 ;; esac
}

udp_probe() {
	local from=$1 dst=$2 port=$3 src=${4:--} tok out
	tok=$(_token)
	# The shell side sends the token and prints the first line that comes back on stderr (the
	# only thing captured; socat's own messages go to /dev/null), so the probe ends as soon as
	# the echo arrives instead of waiting out socat's -t.
	out=$(timeout $((PROBE_TIMEOUT + 1)) nsenter --net="/var/run/netns/${PFX}$from" -- \
		socat -lf /dev/null -t 0.2 -T $((PROBE_TIMEOUT + 1)) "$(_sock UDP "$dst" "$port" "$src")" \
		"SYSTEM:echo $tok; timeout $PROBE_TIMEOUT head -n 1 >&2" 2>&1 >/dev/null)
	printf '%s\n' "$out"
	[ "$out" = "$tok" ]
}

icmp_probe() {
	local from=$1 dst=$2 src=${3:--} fam=-4
	_is_v6 "$dst" && fam=-6
	local args=("$fam" -n -q -c 1 -W "$PROBE_TIMEOUT")
	[ "$src" != - ] && args+=(-I "$src")
	timeout $((PROBE_TIMEOUT + 1)) nsenter --net="/var/run/netns/${PFX}$from" -- \
		ping "${args[@]}" "$dst" >/dev/null 2>&1
}

expect_tcp() {
	local from=$1 dst=$2 port=$3 src=$4 server=$5 out
	out=$(tcp_probe "$from" "$dst" "$port" "$src") ||
		fail "tcp $from(${src}) -> $dst:$port: no complete exchange (got '$out')"
	case "$out" in
	"$server "*) ;;
	*) fail "tcp $from(${src}) -> $dst:$port answered by '$out', want $server" ;;
	esac
}

expect_tcp_blocked() {
	local out
	if out=$(tcp_probe "$@"); then fail "tcp $1(${4:--}) -> $2:$3 passed, want blocked (got '$out')"; fi
	return 0
}

expect_udp() {
	local out
	out=$(udp_probe "$@") || fail "udp $1(${4:--}) -> $2:$3: no echo (got '$out')"
}

expect_udp_blocked() {
	local out
	if out=$(udp_probe "$@"); then fail "udp $1(${4:--}) -> $2:$3 echoed, want blocked"; fi
	return 0
}

expect_icmp() { icmp_probe "$@" || fail "icmp $1(${3:--}) -> $2: no echo reply"; }

expect_icmp_blocked() {
	if icmp_probe "$@"; then fail "icmp $1(${3:--}) -> $2 answered, want blocked"; fi
	return 0
}

# The table comes in on fd 3, so that no probe reads it as its own input.
expect_table() {
	local proto from dst port src want
	while read -r proto from dst port src want <&3; do
		case "$proto" in '' | '#'*) continue ;; esac
		case "$proto $want" in
		"tcp blocked") expect_tcp_blocked "$from" "$dst" "$port" "$src" ;;
		"tcp pass" | "tcp ") fail "expect_table: tcp $from -> $dst:$port wants a SERVER" ;;
		tcp\ *) expect_tcp "$from" "$dst" "$port" "$src" "$want" ;;
		"udp blocked") expect_udp_blocked "$from" "$dst" "$port" "$src" ;;
		"udp pass") expect_udp "$from" "$dst" "$port" "$src" ;;
		"icmp blocked") expect_icmp_blocked "$from" "$dst" "$src" ;;
		"icmp pass") expect_icmp "$from" "$dst" "$src" ;;
		*) fail "expect_table: bad line: $proto $from $dst $port $src $want" ;;
		esac
	done 3<&0 </dev/null
}

traffic_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# For the tests that send crafted frames (lib/adversary.py as $ADV): the agent and python3
# required, then the topology with its services up (agent_uninstall_check probes them).
adversary_topology() {
	agent_require
	[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
	ADV="/usr/bin/python3 $traffic_lib/adversary.py"
	topo_create
	topo_start_services
}

# adv_udp_target PORT: the node's udp PORT echoes and logs what it receives (udp_rx_file), for
# adv_udp_send / adv_udp_arrived (crafted frames from the client to ext0; adversary_topology
# first). Sets ADV_UDP_PORT and ADV_EXT0_MAC.
adv_udp_target() {
	ADV_UDP_PORT=$1
	udp_echo node "$ADV_UDP_PORT"
	ADV_EXT0_MAC=$(ns node ip -j link show dev ext0 | jq -r '.[0].address') || fail "link ext0"
	[ -n "$ADV_EXT0_MAC" ] && [ "$ADV_EXT0_MAC" != null ] || fail "no MAC address for ext0"
}

# adv_udp_send SRC DST TOKEN: one datagram from the client SRC:40000 to DST:ADV_UDP_PORT (an
# Ethernet frame onto ext0).
adv_udp_send() {
	ns client $ADV vlan-udp eth0 "$ADV_EXT0_MAC" "$1" "$2" "$ADV_UDP_PORT" 40000 0 "$3" ||
		fail "sending $3 failed"
}

# adv_udp_arrived TOKEN: TOKEN (a whole datagram) reached the node's udp ADV_UDP_PORT within a
# second.
adv_udp_arrived() {
	local i rx
	rx=$(udp_rx_file node "$ADV_UDP_PORT")
	for i in $(seq 10); do
		grep -qxF -- "$1" "$rx" && return 0
		sleep 0.1
	done
	return 1
}
