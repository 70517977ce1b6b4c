#!/bin/bash
# `make test-kernel`: runs what must hold on the oldest kernel the docs promise (Debian 12's own,
# the kernel package linux-image-amd64 depends on; 6.1) in a VM, since this project's machines run
# newer kernels. Boots that kernel with qemu (KVM where usable, else emulation, much slower), the host's root file system read-only over 9p and this checkout read-write at its own
# path, and runs tests/kernel/guest.sh there: every program loads, the BPF_PROG_TEST_RUN tests
# pass, and the e2e tests named in PAL_KERNEL_E2E pass. Needs root, apt (the kernel package is
# fetched with apt-get download into build/kernel), qemu-system-x86, busybox-static, cpio, kmod.
#   PAL_KERNEL_PACKAGE  kernel package (default: what linux-image-amd64 depends on)
#   PAL_KERNEL_E2E      e2e tests to run in the VM (default: tests/kernel/e2e.list)
#   PAL_KERNEL_BPF_SUITES  bpf-tests suites to run there (default: tests/kernel/bpf-suites.list)
#   PAL_KERNEL_TIMEOUT  seconds the VM may run (default 2400: a hang guard, not a speed target; the whole run takes ~20 min under TCG on an idle 2-core machine, far longer on a busy one)
#   PAL_VERIFIER_LOG    a program whose whole verifier log verifier-stats writes (when it fails)
#                       to build/kernel/<release>/verifier-<program>.log
set -euo pipefail
cd "$(dirname "$0")/../.."
CHECKOUT=$PWD
DIR=$CHECKOUT/build/kernel
fail() { echo "test-kernel: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (qemu's 9p share writes the checkout as root; the guest loads BPF)"
for tool in qemu-system-x86_64 busybox cpio depmod modprobe apt-get dpkg; do
	command -v "$tool" >/dev/null || fail "$tool missing (make deps installs it)"
done
[ -x build/verifier-stats ] && [ -x build/bpf-tests ] && [ -x build/palisaded ] ||
	fail "build/verifier-stats, build/bpf-tests or build/palisaded missing (make test-kernel builds them)"

pkg=${PAL_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
[ -n "$pkg" ] || fail "cannot tell which kernel linux-image-amd64 depends on (apt-get update?)"
mkdir -p "$DIR"
deb=$(ls "$DIR/${pkg}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	(cd "$DIR" && apt-get download "$pkg" >/dev/null 2>&1) || fail "apt-get download $pkg failed"
	deb=$(ls "$DIR/${pkg}"_*.deb | head -1)
fi
rel=${pkg#linux-image-}
if [ ! -e "$DIR/root/lib/modules/$rel/modules.dep" ]; then
	rm -rf "$DIR/root"
	dpkg -x "$deb" "$DIR/root"
	depmod -b "$DIR/root" "$rel"
fi
kernel=$DIR/root/boot/vmlinuz-$rel
[ -e "$kernel" ] || fail "$deb holds no boot/vmlinuz-$rel"

# The initramfs: busybox, the modules that reach the 9p shares, tests/kernel/initrd_init.sh.
rd=$DIR/initrd
rm -rf "$rd" && mkdir -p "$rd"/{bin,mod,proc,sys,dev,newroot}
cp "$(command -v busybox)" "$rd/bin/busybox"
cp tests/kernel/initrd_init.sh "$rd/init"
for m in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -d "$DIR/root" -S "$rel" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
	cp "$ko" "$rd/mod/" && basename "$ko" >> "$rd/modules.order"
done
(cd "$rd" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$DIR/initrd.img"

e2e=${PAL_KERNEL_E2E-$(grep -v '^#' tests/kernel/e2e.list | xargs)}
bpf_suites=${PAL_KERNEL_BPF_SUITES-$(grep -v '^#' tests/kernel/bpf-suites.list | xargs)}
{
	printf 'export PAL_KERNEL_E2E=%q PAL_KERNEL_BPF_SUITES=%q\n' "$e2e" "$bpf_suites"
	[ -z "${PAL_VERIFIER_LOG:-}" ] || printf 'export PAL_VERIFIER_LOG=%q\n' "$PAL_VERIFIER_LOG"
} > "$DIR/guest.env"
rm -f "$DIR/$rel/status"

# no_timer_check: on a busy host an emulated CPU can miss the timer test at boot ("IO-APIC + timer
# doesn't work!", a panic); the timer works.
# KVM only where the CPU offers virtualisation to this machine (a /dev/kvm without vmx/svm, as
# in a nested VM here, boots nothing); else qemu emulates the CPU, about 20x slower.
if [ -w /dev/kvm ] && grep -qw -E 'vmx|svm' /proc/cpuinfo; then
	accel=(-enable-kvm -cpu host,-arch-capabilities)
else
	accel=(-accel tcg,thread=multi -cpu max)
fi
echo "test-kernel: booting $pkg ($deb) with ${accel[*]}"
# One boot. A boot that never reaches guest.sh (no status file: an emulated CPU on a busy host
# has failed the kernel's own timer test here) is tried once more; a guest that started and
# failed is not.
boot() {
	local rc=0
	rm -f "$DIR/$rel/status"
	timeout "${PAL_KERNEL_TIMEOUT:-2400}" qemu-system-x86_64 "${accel[@]}" -m 3072 -smp 2 \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$DIR/initrd.img" \
		-append "console=ttyS0 panic=-1 no_timer_check pal_checkout=$CHECKOUT pal_script=tests/kernel/guest.sh" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
		-virtfs "local,path=$CHECKOUT,mount_tag=checkout,security_model=none" || rc=$?
	[ "$rc" = 0 ] || echo "test-kernel: qemu exited $rc (124: the VM ran past PAL_KERNEL_TIMEOUT)"
}
boot
if [ ! -e "$DIR/$rel/status" ]; then
	echo "test-kernel: the guest never started its tests: booting once more"
	boot
fi
status=$(cat "$DIR/$rel/status" 2>/dev/null || echo "none")
[ "$status" = 0 ] || fail "on $rel: $status step(s) failed (none: the guest never finished)"
echo "test-kernel: PASS on $rel"
