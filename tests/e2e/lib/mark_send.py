#!/usr/bin/env python3
"""A host process that puts palisade's mark bits on its own packets (SO_MARK, CAP_NET_ADMIN).

  mark_send.py tcp MARK DST PORT TOKEN       connect, send TOKEN, print the first reply line;
                                             exit 0 when a reply came, 1 when none
  mark_send.py udp MARK SPORT DST PORT TOKEN WAIT
                                             send TOKEN from SPORT (one datagram), then wait
                                             WAIT seconds for a datagram to SPORT and print it;
                                             exit 0 when one came, 1 when none
  mark_send.py packet MARK IFACE DSTMAC SRC SPORT DST PORT TOKEN
                                             an AF_PACKET socket: one Ethernet/IPv4/UDP frame
                                             built here, out of IFACE, bypassing netfilter

MARK is a number (0x.. allowed). Used by tests/e2e/test_marks.sh (issue 7, defect 3).
"""
import errno
import socket
import struct
import sys

TIMEOUT = 2.0


def marked(family, kind, mark):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    return s


def tcp(mark, dst, port, token):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = marked(family, socket.SOCK_STREAM, mark)
    s.settimeout(TIMEOUT)
    try:
        s.connect((dst, port))
        s.sendall(token.encode() + b"\n")
        data = s.recv(4096)
    except OSError:
        return 1
    print(data.decode(errors="replace").strip())
    return 0 if token in data.decode(errors="replace") else 1


def udp(mark, sport, dst, port, token, wait):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = marked(family, socket.SOCK_DGRAM, mark)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
    s.sendto(token.encode() + b"\n", (dst, port))
    print("sent", flush=True)
    s.settimeout(wait)
    try:
        data = s.recv(4096)
    except OSError:
        return 1
    print(data.decode(errors="replace").strip(), flush=True)
    return 0


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def packet(mark, iface, dstmac, src, sport, dst, port, token):
    payload = token.encode() + b"\n"
    udp_len = 8 + len(payload)
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = saddr + daddr + struct.pack("!BBH", 0, 17, udp_len)
    uh = struct.pack("!HHHH", sport, port, udp_len, 0)
    uh = struct.pack("!HHHH", sport, port, udp_len, csum(pseudo + uh + payload) or 0xFFFF)
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0x4000, 64, 17, 0,
                     saddr, daddr)
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    s = marked(socket.AF_PACKET, socket.SOCK_RAW, mark)
    s.bind((iface, 0))
    srcmac = s.getsockname()[4]
    frame = bytes.fromhex(dstmac.replace(":", "")) + srcmac + b"\x08\x00" + ih + uh + payload
    try:
        s.send(frame)
    except OSError as e:
        if e.errno != errno.ENOBUFS:
            raise
        # dev_queue_xmit said NET_XMIT_DROP: a tc egress program dropped it
        print("dropped on transmit", flush=True)
        return 0
    print("sent", flush=True)
    return 0


def main(argv):
    mode, mark = argv[1], int(argv[2], 0)
    if mode == "tcp":
        return tcp(mark, argv[3], int(argv[4]), argv[5])
    if mode == "udp":
        return udp(mark, int(argv[3]), argv[4], int(argv[5]), argv[6], float(argv[7]))
    if mode == "packet":
        return packet(mark, argv[3], argv[4], argv[5], int(argv[6]), argv[7], int(argv[8]),
                      argv[9])
    print("unknown mode " + mode, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
