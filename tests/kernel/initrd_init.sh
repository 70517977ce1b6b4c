#!/bin/busybox sh
# /init of the tiny initramfs tests/kernel/run.sh builds: loads the virtio and 9p modules of the
# kernel under test, mounts the host's root file system read-only over 9p (under a tmpfs overlay)
# and the checkout read-write at its own path, then hands over to the checkout's guest script. Parameters come on
# the kernel command line as pal_checkout= and pal_script=.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do
	insmod "/mod/$m" || echo "initrd: insmod $m failed"
done
eval "$(tr ' ' '\n' < /proc/cmdline | grep '^pal_[a-z]*=')"
opts=trans=virtio,version=9p2000.L,msize=512000
# The host's root, read-only, under a tmpfs overlay: the guest may write anywhere (/etc, /var,
# /lib/modules) and none of it reaches the host.
mkdir -p /lower /rw
mount -t 9p -o "$opts,ro" hostroot /lower || { echo "initrd: FAIL: cannot mount the host root"; poweroff -f; }
mount -t tmpfs tmpfs /rw && mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	{ echo "initrd: FAIL: cannot mount the overlay"; poweroff -f; }
mount -t 9p -o "$opts" checkout "/newroot$pal_checkout" || { echo "initrd: FAIL: cannot mount the checkout"; poweroff -f; }
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /bin/bash "$pal_checkout/$pal_script"
