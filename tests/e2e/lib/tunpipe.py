#!/usr/bin/python3
"""A point-to-point L3 link between two network namespaces made of two tun devices, for
tests/e2e/test_l3_hostendpoint.sh (this kernel may have no ipip, gre or wireguard). Standard library
only.

  tunpipe.py NETNS_A TUN_A NETNS_B TUN_B

attaches to the existing tun device TUN_A in NETNS_A and TUN_B in NETNS_B (paths such as
/var/run/netns/NAME; the devices come from `ip tuntap add mode tun`) and copies every packet read
from one to the other until killed. The devices carry bare IP packets (IFF_NO_PI): the link type
is ARPHRD_NONE, as a VPN's tun device or WireGuard's.
"""
import ctypes
import fcntl
import os
import select
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(netns_path):
    fd = os.open(netns_path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit(f"setns {netns_path}: {os.strerror(ctypes.get_errno())}")
    os.close(fd)


def attach(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main(ns_a, tun_a, ns_b, tun_b):
    enter(ns_a)
    a = attach(tun_a)
    enter(ns_b)
    b = attach(tun_b)
    peer = {a: b, b: a}
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([a, b], [], [])
        for fd in ready:
            pkt = os.read(fd, 65536)
            try:
                os.write(peer[fd], pkt)
            except OSError:
                pass  # the other side is down: the packet is lost, as on a wire


if __name__ == "__main__":
    main(*sys.argv[1:5])
