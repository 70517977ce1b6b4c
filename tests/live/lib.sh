# Helpers for the live polctl tests (tests/live/test_*.sh). Each test gets its own network
# namespace and its own pin directory under /sys/fs/bpf, both removed on exit (trap), pass or fail.
# The datapath is programmed by tests/live/pal_program (the agent's library: compile, pal_dp_apply,
# attach, metadata) inside the namespace; polctl runs there with nsenter --net, which keeps
# /sys/fs/bpf visible (ip netns exec would remount /sys).
set -u
: "${POLCTL:?POLCTL must point at the polctl binary}"
: "${PAL_PROGRAM:?PAL_PROGRAM must point at tests/live/pal_program}"
NS="pl-live-$$"
PIN="/sys/fs/bpf/pl-live-$$"

# fail, expect_rc, json_is, contains: the command-line tests' helpers.
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

cleanup() {
	"$PAL_PROGRAM" --bpffs "$PIN" --unpin >/dev/null 2>&1
	[ -e "$PIN" ] && rm -rf "$PIN"
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS-peer" 2>/dev/null
	return 0
}
trap cleanup EXIT INT TERM

# in_ns CMD...: runs CMD in the test namespace.
in_ns() { nsenter --net="/var/run/netns/$NS" -- "$@"; }
# pc ARGS...: polctl on the test datapath, in the test namespace.
pc() { in_ns "$POLCTL" --bpffs "$PIN" "$@"; }

# setup_ns IFNAME...: the namespace with an interface of each name, up: a veth whose peer
# (IFNAME + "p") stays in the namespace (no dummy module on every kernel).
setup_ns() {
	ip netns add "$NS" || fail "ip netns add"
	in_ns ip link set lo up
	for i in "$@"; do
		in_ns ip link add "$i" type veth peer name "${i}p" || fail "veth $i"
		in_ns ip link set "$i" up
		in_ns ip link set "${i}p" up
	done
}
# program ARGS...: pal_program on the test pin directory, in the namespace.
# (libbpf's notes while it creates clsact qdiscs go to stderr: shown only on failure)
program() {
	local log
	log=$(in_ns "$PAL_PROGRAM" --bpffs "$PIN" "$@" 2>&1) || fail "pal_program $*: $log"
}
