#!/bin/bash
# Runs inside the VM tests/kernel/run.sh boots (the kernel under test, the host's root file system
# read-only, the checkout read-write): gives the guest the mounts a test run needs, then runs what
# must hold on that kernel (docs/testing.md, make test-kernel). Its exit status goes to
# build/kernel/<release>/status, its output to the console.
set -u
cd "$(dirname "$0")/../.."
CHECKOUT=$PWD
rel=$(uname -r)
OUT=$CHECKOUT/build/kernel/$rel
mkdir -p "$OUT"
echo 1 > "$OUT/status"

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
# /tmp stays the overlay's (writable, nothing reaches the host): a tmpfs there would hide a
# checkout under /tmp (a CI clone), whose absolute paths this script and the tests use. /run gets
# its own: the host's sockets, locks and netns files must not show through.
case "$CHECKOUT/" in
/run/*) echo "kernel-test: FAIL: the checkout is under /run, which the guest replaces"; exit 1 ;;
esac
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# The kernel's modules, extracted by run.sh under build/kernel, where modprobe looks for them (the
# root is an overlay: this writes nothing to the host).
mkdir -p /lib/modules
ln -sfn "$CHECKOUT/build/kernel/root/lib/modules/$rel" "/lib/modules/$rel"
ip link set lo up
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
# The CPU is emulated (no usable KVM here): an agent run or a listener's start takes several times
# as long as on a real machine, so the e2e waits scale (tests/e2e/lib/traffic.sh).
export E2E_SLOW=${E2E_SLOW:-4}

[ -r "$CHECKOUT/build/kernel/guest.env" ] && . "$CHECKOUT/build/kernel/guest.env"
failed=0
step() {
	local name=$1
	shift
	echo "kernel-test: ---- $name"
	if "$@"; then
		echo "kernel-test: ok: $name"
	else
		echo "kernel-test: FAIL: $name (exit $?)"
		failed=$((failed + 1))
	fi
}

echo "kernel-test: kernel $(uname -r)"
# As deploy/systemd/palisaded.service does before the agent starts: the conntrack kfuncs live in
# nf_conntrack's module BTF, and a fresh Debian 12 host has not loaded it.
modprobe nf_conntrack || echo "kernel-test: modprobe nf_conntrack failed"
# PAL_VERIFIER_LOG's whole log goes to build/kernel/<release>/verifier-<program>.log
step "every BPF program loads (verifier-stats)" env PAL_VERIFIER_LOG_DIR="$OUT" build/verifier-stats
# One bpf-tests suite; a name that matches no test fails (Criterion's filter passes it silently).
bpf_suite() {
	local out rc=0
	out=$(cd tests/unit && ../../build/bpf-tests --jobs 2 --filter "$1/*" 2>&1) || rc=$?
	printf '%s\n' "$out"
	[ "$rc" = 0 ] || return "$rc"
	printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -q 'Tested: [1-9]' && return 0
	echo "kernel-test: suite $1 ran no test (build/bpf-tests --list names the suites)"
	return 1
}
for suite in ${PAL_KERNEL_BPF_SUITES:-}; do
	step "bpf-tests $suite" bpf_suite "$suite"
done
for t in ${PAL_KERNEL_E2E:-}; do
	step "e2e $t" env PALISADED="$CHECKOUT/build/palisaded" POLCTL="$CHECKOUT/build/polctl" \
		tests/e2e/lib/run.sh "$t"
done

echo "$failed" > "$OUT/status"
echo "kernel-test: $failed step(s) failed on $rel"
sync
echo o > /proc/sysrq-trigger
sleep 30
