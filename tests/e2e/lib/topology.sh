# shellcheck shell=bash
# End-to-end topology in network namespaces: create, helpers to run commands inside, destroy.
#
# Source this file (bash), then call `topo_create`. It installs an EXIT/INT/TERM trap that always
# runs `topo_destroy`, so a test that fails midway (or is killed by the runner's timeout) still
# leaves no namespace, process, pin directory or netfilter rule behind.
#
#   ${PFX}client  eth0  198.18.1.50/24 (+ .20, .200, 198.18.200.7/32)     2001:db8:1::50/64
#        |              (+ 2001:db8:bad::7/128: a "blocked" source, see policies/60-security-tier.yaml)
#   ${PFX}node    ext0  198.18.1.1/24   2001:db8:1::1/64     the node: forwarding, conntrack,
#                 mgmt0 198.18.10.1/24  2001:db8:10::1/64    a kube-proxy-like DNAT NodePort
#                 pod-web0 198.19.0.1/24 2001:db8:19::1/64   (tcp 30080 -> 198.19.0.10:8080)
#        |
#   ${PFX}mgmt    eth0  198.18.10.5/24  2001:db8:10::5/64
#   ${PFX}web     eth0  198.19.0.10/24  2001:db8:19::10/64   the pod shop/web
#
# Interface names inside the node namespace are fixed (policies/10-endpoints.yaml names them);
# namespace names, iptables chains, the bpffs pin directory and the scratch directory carry the
# per-run prefix ${PFX}, so two runs never collide. Addresses come only from 198.18.0.0/15 and
# 2001:db8::/32.
#
# Services (started by topo_start_services, killed with their namespace):
#   node: tcp 8443, 9999, 22 (reply "node:PORT <request line>"), udp 11211 echo that appends every
#         datagram it receives to $(udp_rx_file node 11211) (so a test can prove nothing arrived)
#   web:  tcp 8080 and 9090 (reply "web:PORT <request line>")

set -u

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_LIB/../../.." && pwd)
# shellcheck source=SCRIPTDIR/../../lib/proc.sh
. "$E2E_ROOT/tests/lib/proc.sh"
# The binaries the palisade scenario tests drive; override with the environment.
PALISADED=${PALISADED:-$E2E_ROOT/build/palisaded}
POLCTL=${POLCTL:-$E2E_ROOT/build/polctl}

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

# A fresh prefix: "p" + pid (7 digits, zero-padded) + 4 random hex digits, always 12 characters,
# so no other run's prefix can start with ours (the runner finds leftovers by prefix). The runner
# passes one in E2E_PFX; a test run by hand makes its own. Sub-tests append to their parent's.
e2e_new_prefix() {
	printf 'p%07d%s' "$$" "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
}

# Hard requirements: fail loudly, never skip.
e2e_require() {
	[ "$(id -u)" -eq 0 ] || fail "e2e tests need root"
	local c
	for c in ip nsenter socat conntrack iptables ip6tables ping jq timeout ss od; do
		command -v "$c" >/dev/null 2>&1 || fail "missing command: $c (apt-get install iproute2 util-linux socat conntrack iptables iputils-ping jq)"
	done
	# Conntrack must exist in the kernel (built in or loadable).
	if [ ! -e /proc/sys/net/netfilter/nf_conntrack_max ]; then
		modprobe nf_conntrack 2>/dev/null || true
		[ -e /proc/sys/net/netfilter/nf_conntrack_max ] || fail "kernel has no nf_conntrack"
	fi
	# bpffs at /sys/fs/bpf: the agent pins there. Mounted once and left mounted (shared by runs).
	if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs at /sys/fs/bpf"
	fi
}

# ns NAME CMD...: run CMD in namespace ${PFX}NAME (NAME: node, client, mgmt, web). nsenter --net
# only switches the network namespace, so /sys/fs/bpf stays the host's (ip netns exec would remount
# /sys and hide the pins).
ns() {
	local n=$1; shift
	nsenter --net="/var/run/netns/${PFX}$n" -- "$@"
}

# ns_bg NAME LOGFILE CMD...: start CMD in the background in namespace NAME, output to LOGFILE.
# Its process is found again through `ip netns pids` at cleanup.
ns_bg() {
	local n=$1 logf=$2; shift 2
	nsenter --net="/var/run/netns/${PFX}$n" -- "$@" </dev/null >"$logf" 2>&1 &
}

ipt() { ns node iptables -w 5 "$@"; }
ip6t() { ns node ip6tables -w 5 "$@"; }

# topo_create: build the whole topology; sets PFX, PINDIR, E2E_TMP and the cleanup trap first, so
# anything created before a failure is still removed.
topo_create() {
	e2e_require
	PFX=${E2E_PFX:-$(e2e_new_prefix)}
	# iptables chain names are limited to 28 characters: "${PFX}-NODEPORTS" must fit.
	[ ${#PFX} -le 16 ] || fail "prefix too long: $PFX"
	PINDIR=/sys/fs/bpf/$PFX
	# Refuse a prefix that is in use: cleanup must only ever remove what this run created.
	if ip netns list | awk '{print $1}' | grep -q "^$PFX" || [ -e "$PINDIR" ]; then
		fail "prefix $PFX is in use by another run"
	fi
	E2E_TMP=$(mktemp -d "/tmp/${PFX}.XXXXXX") || fail "mktemp"
	export PFX PINDIR E2E_TMP
	TOPO_NAMESPACES=""
	trap topo_destroy EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local n
	for n in node client mgmt web; do
		ip netns add "${PFX}$n" || fail "ip netns add ${PFX}$n"
		# Only namespaces recorded here are deleted by topo_destroy.
		TOPO_NAMESPACES="$TOPO_NAMESPACES $n"
		# No duplicate address detection: addresses are usable at once.
		ns "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 || fail "sysctl in $n"
		ns "$n" ip link set lo up
	done

	# Veth pairs, both ends created directly inside their namespaces: nothing in the host's.
	ip link add ext0 netns "${PFX}node" type veth peer name eth0 netns "${PFX}client" || fail "veth ext0"
	ip link add mgmt0 netns "${PFX}node" type veth peer name eth0 netns "${PFX}mgmt" || fail "veth mgmt0"
	ip link add pod-web0 netns "${PFX}node" type veth peer name eth0 netns "${PFX}web" || fail "veth pod-web0"

	topo_node || fail "node setup"
	topo_client || fail "client setup"
	topo_mgmt || fail "mgmt setup"
	topo_web || fail "web setup"
	topo_netfilter || fail "netfilter setup"
}

# topo_add_wan: an extra namespace ${PFX}wan behind the node's wan0 (198.18.20.0/24,
# 2001:db8:20::/64; the far end is .5 / ::5), an uplink that no endpoint of policies/ names.
# Recorded in TOPO_NAMESPACES first, so topo_destroy removes it on every path out of the test.
topo_add_wan() {
	ip netns add "${PFX}wan" || fail "ip netns add ${PFX}wan"
	TOPO_NAMESPACES="$TOPO_NAMESPACES wan"
	ns wan sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 ||
		fail "sysctl in wan"
	ns wan ip link set lo up || fail "lo in wan"
	ip link add wan0 netns "${PFX}node" type veth peer name eth0 netns "${PFX}wan" || fail "veth wan0"
	ns node ip addr add 198.18.20.1/24 dev wan0 || fail "node wan0 v4"
	ns node ip addr add 2001:db8:20::1/64 dev wan0 nodad || fail "node wan0 v6"
	ns node ip link set wan0 up || fail "wan0 up"
	ns wan ip addr add 198.18.20.5/24 dev eth0 || fail "wan v4"
	ns wan ip addr add 2001:db8:20::5/64 dev eth0 nodad || fail "wan v6"
	ns wan ip link set eth0 up || fail "wan eth0 up"
	ns wan ip route add 198.18.0.0/15 via 198.18.20.1 || fail "wan v4 route"
	ns wan ip -6 route add 2001:db8::/32 via 2001:db8:20::1 || fail "wan v6 route"
}

topo_node() {
	ns node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
	ns node ip addr add 198.18.1.1/24 dev ext0 || return 1
	ns node ip addr add 2001:db8:1::1/64 dev ext0 nodad || return 1
	ns node ip addr add 198.18.10.1/24 dev mgmt0 || return 1
	ns node ip addr add 2001:db8:10::1/64 dev mgmt0 nodad || return 1
	ns node ip addr add 198.19.0.1/24 dev pod-web0 || return 1
	ns node ip addr add 2001:db8:19::1/64 dev pod-web0 nodad || return 1
	local i
	for i in ext0 mgmt0 pod-web0; do ns node ip link set "$i" up || return 1; done
	# The "blocked" sources live on the client; the node routes their replies back to it.
	ns node ip route add 198.18.200.0/24 via 198.18.1.50 dev ext0 || return 1
	ns node ip -6 route add 2001:db8:bad::/48 via 2001:db8:1::50 dev ext0 || return 1
}

# topo_leaf NS ADDR4/LEN ADDR6/LEN GW4 GW6 ROUTES: eth0 of NS up with the two addresses; ROUTES
# "default" routes everything via the gateways, "test" only 198.18.0.0/15 and 2001:db8::/32, with
# these addresses as the sources.
topo_leaf() {
	local n=$1 a4=$2 a6=$3 gw4=$4 gw6=$5
	ns "$n" ip link set eth0 up || return 1
	ns "$n" ip addr add "$a4" dev eth0 || return 1
	ns "$n" ip addr add "$a6" dev eth0 nodad || return 1
	if [ "$6" = default ]; then
		ns "$n" ip route add default via "$gw4" || return 1
		ns "$n" ip -6 route add default via "$gw6" || return 1
	else
		ns "$n" ip route add 198.18.0.0/15 via "$gw4" src "${a4%/*}" || return 1
		ns "$n" ip -6 route add 2001:db8::/32 via "$gw6" src "${a6%/*}" || return 1
	fi
}

topo_client() {
	ns client sysctl -qw net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.default.arp_announce=2 || return 1
	topo_leaf client 198.18.1.50/24 2001:db8:1::50/64 198.18.1.1 2001:db8:1::1 test || return 1
	# Extra sources: .20 is inside 198.18.1.0/25 (NodePort allowed by policies/40), .200 outside.
	ns client ip addr add 198.18.1.20/24 dev eth0 || return 1
	ns client ip addr add 198.18.1.200/24 dev eth0 || return 1
	ns client ip addr add 198.18.200.7/32 dev eth0 || return 1
	# Deprecated (preferred_lft 0): usable when bound explicitly, never picked as a default source.
	ns client ip addr add 2001:db8:bad::7/128 dev eth0 nodad preferred_lft 0 || return 1
}

topo_mgmt() {
	topo_leaf mgmt 198.18.10.5/24 2001:db8:10::5/64 198.18.10.1 2001:db8:10::1 test
}

topo_web() {
	topo_leaf web 198.19.0.10/24 2001:db8:19::10/64 198.19.0.1 2001:db8:19::1 default
}

# The node's netfilter: a kube-proxy-like NodePort (DNAT in nat PREROUTING, through our own chain)
# for IPv4 and IPv6, and a stateful filter rule so conntrack tracks every flow in both families
# (conntrack hooks only run in a namespace once some rule needs them). The filter rule only
# ACCEPTs what the default policy (ACCEPT) lets through anyway.
topo_netfilter() {
	local c=${PFX}-NODEPORTS t=${PFX}-CT
	ipt -t nat -N "$c" || return 1
	ipt -t nat -A "$c" -p tcp -d 198.18.1.1 --dport 30080 -j DNAT --to-destination 198.19.0.10:8080 || return 1
	ipt -t nat -A PREROUTING -j "$c" || return 1
	ip6t -t nat -N "$c" || return 1
	ip6t -t nat -A "$c" -p tcp -d 2001:db8:1::1 --dport 30080 -j DNAT --to-destination '[2001:db8:19::10]:8080' || return 1
	ip6t -t nat -A PREROUTING -j "$c" || return 1
	local f
	for f in ipt ip6t; do
		$f -N "$t" || return 1
		$f -A "$t" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT || return 1
		$f -A INPUT -j "$t" || return 1
		$f -A FORWARD -j "$t" || return 1
	done
}

# wait_listen NAME PROTO PORT: bounded wait (5 s) until something listens on PORT in NAME.
wait_listen() {
	local n=$1 proto=$2 port=$3 i flag=-ltn
	[ "$proto" = udp ] && flag=-lun
	for i in $(seq 50); do
		ns "$n" ss -H "$flag" "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on $proto/$port in ${PFX}$n"
}

# tcp_server NAME PORT: dual-stack TCP server answering "NAME:PORT <first request line>".
tcp_server() {
	local n=$1 port=$2 sh=$E2E_TMP/reply-$1-$2.sh
	# A script file, so socat's address syntax never sees the quotes and colons of the reply.
	printf '#!/bin/sh\nread -r l\necho "%s:%s $l"\n' "$n" "$port" >"$sh"
	chmod +x "$sh"
	ns_bg "$n" "$E2E_TMP/$n-tcp$port.log" socat -T 3 \
		"TCP-LISTEN:$port,pf=ip6,ipv6only=0,reuseaddr,fork" "EXEC:$sh"
	wait_listen "$n" tcp "$port"
}

# udp_rx_file NAME PORT: where udp_echo NAME PORT appends every datagram it receives.
udp_rx_file() { printf '%s/%s-udp%s.rx' "$E2E_TMP" "$1" "$2"; }

# udp_echo NAME PORT: dual-stack UDP echo; every datagram received is appended to
# $(udp_rx_file NAME PORT) (the file exists and is empty until something arrives).
udp_echo() {
	local n=$1 port=$2 rx
	rx=$(udp_rx_file "$1" "$2")
	: >"$rx"
	ns_bg "$n" "$E2E_TMP/$n-udp$port.log" socat -T 1 \
		"UDP-RECVFROM:$port,pf=ip6,ipv6only=0,reuseaddr,fork" "SYSTEM:tee -a $rx"
	wait_listen "$n" udp "$port"
}

topo_start_services() {
	tcp_server node 8443
	tcp_server node 9999
	tcp_server node 22
	udp_echo node 11211
	tcp_server web 8080
	tcp_server web 9090
}

# topo_destroy: idempotent; runs from the trap. Order: the agent's datapath (it lives in the node
# namespace), our netfilter chains, the processes, the namespaces, the pins, the scratch directory.
topo_destroy() {
	local rc=$? n
	trap - EXIT INT TERM
	[ -n "${PFX:-}" ] || return $rc
	# Nothing of this prefix is removed unless this run created it (topo_create refuses a prefix
	# in use, and TOPO_NAMESPACES lists what it made).
	if [ -z "${TOPO_NAMESPACES:-}" ]; then
		[ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ] && rm -rf "$E2E_TMP"
		return $rc
	fi
	if [ -e "/var/run/netns/${PFX}node" ]; then
		# The agent ran (or left pins): let it remove what it attached and installed.
		if { [ -n "${TOPO_AGENT_USED:-}" ] || [ -d "/sys/fs/bpf/$PFX" ]; } && [ -x "$PALISADED" ]; then
			timeout 20 nsenter --net="/var/run/netns/${PFX}node" -- \
				"$PALISADED" --uninstall --bpffs "/sys/fs/bpf/$PFX" >/dev/null 2>&1 ||
				echo "cleanup: palisaded --uninstall failed (pins removed below)" >&2
		fi
		topo_netfilter_remove
	fi
	# shellcheck disable=SC2086 # a list of names: split on purpose
	netns_stop_procs "$PFX" ${TOPO_NAMESPACES:-}
	for n in ${TOPO_NAMESPACES:-}; do
		[ -e "/var/run/netns/${PFX}$n" ] || continue
		# Deleting the namespace deletes its veth ends, which takes the peers with them.
		ip netns del "${PFX}$n" 2>/dev/null || echo "cleanup: cannot delete ${PFX}$n" >&2
	done
	# Everything palisade pinned for this run (the agent's uninstall should have done it already).
	[ -d "/sys/fs/bpf/$PFX" ] && rm -rf "/sys/fs/bpf/$PFX"
	[ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ] && rm -rf "$E2E_TMP"
	return $rc
}

# Remove our chains and the jumps to them explicitly (the namespace deletion would drop them too).
topo_netfilter_remove() {
	local c=${PFX}-NODEPORTS t=${PFX}-CT f
	for f in ipt ip6t; do
		$f -t nat -D PREROUTING -j "$c" 2>/dev/null
		$f -t nat -F "$c" 2>/dev/null
		$f -t nat -X "$c" 2>/dev/null
		$f -D INPUT -j "$t" 2>/dev/null
		$f -D FORWARD -j "$t" 2>/dev/null
		$f -F "$t" 2>/dev/null
		$f -X "$t" 2>/dev/null
	done
	return 0
}
