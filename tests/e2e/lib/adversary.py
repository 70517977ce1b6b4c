#!/usr/bin/python3
"""Packets an attacker crafts, for tests/e2e/test_adversary.sh. Standard library only.

  adversary.py icmp-error DST QSRC QDST QSPORT QDPORT
      send one ICMP "port unreachable" to DST quoting a UDP packet QSRC:QSPORT -> QDST:QDPORT
      (the kernel adds the outer IPv4 header, with this namespace's source address)
  adversary.py icmp-error-echo DST QSRC QDST ID
      the same, quoting an ICMP echo request QSRC -> QDST with identifier ID
  adversary.py icmp-listen FILE SECONDS
      for SECONDS, append one line "SRC TYPE QSRC QDST QSPORT QDPORT QID" to FILE for every ICMP
      error that arrives (a raw socket sees every ICMP packet the host receives); QSPORT QDPORT
      are the quoted header's first four bytes as ports, QID its bytes 4-5 (an echo's
      identifier)
  adversary.py mark-tcp DST PORT MARK
      connect to DST:PORT with SO_MARK = MARK set before connecting (the SYN carries it), send a
      token line, print the answer; exit 0 only on a complete exchange
  adversary.py vlan-udp IFACE DSTMAC SRC DST DPORT SPORT TAGS PAYLOAD [EXT]
      send one Ethernet frame out of IFACE (AF_PACKET) to DSTMAC: TAGS 802.1Q tags of VLAN id 0
      (priority tags, which the receiving kernel strips however many there are), then a UDP
      datagram SRC:SPORT -> DST:DPORT (IPv4 or IPv6) carrying PAYLOAD and a newline; with EXT,
      EXT words of IPv4 options (No Operation) or EXT IPv6 Destination Options headers (PadN)
      before UDP
  adversary.py udp6-chain IFACE DSTMAC SRC DST DPORT SPORT CHAIN PAYLOAD
      send one Ethernet frame out of IFACE to DSTMAC: an IPv6 UDP datagram SRC:SPORT -> DST:DPORT
      carrying PAYLOAD and a newline, after the extension headers CHAIN names, comma-separated, in
      order: hbh (hop-by-hop, PadN), dst (destination options, PadN), rt0 (routing type 0,
      segments left 0), frag (an atomic fragment: offset 0, no more fragments), ah (an
      authentication header of 16 bytes); "-" for none
  adversary.py icmp6-send DST TYPE HOPLIMIT TOKEN
      send one ICMPv6 message of TYPE (code 0) to DST with that hop limit, 4 zero bytes and then
      TOKEN as its body (a raw socket: the kernel fills in the checksum)
  adversary.py icmp6-chain IFACE DSTMAC SRC DST TYPE CODE HOPLIMIT CHAIN TOKEN
      send one Ethernet frame out of IFACE to DSTMAC: an ICMPv6 message SRC -> DST of TYPE and
      CODE with that hop limit, after the extension headers CHAIN names (as udp6-chain), with 4
      zero bytes and then TOKEN as its body
  adversary.py icmp6-listen FILE SECONDS
      for SECONDS, append one line "SRC TYPE HOPLIMIT BODY" to FILE for every ICMPv6 message
      that arrives (a raw ICMPv6 socket sees every one the host takes in, neighbour discovery
      included, before the kernel's own handlers judge it)
  adversary.py tcp-rst SRC SPORT DST DPORT SEQ...
      send one IPv4 TCP RST SRC:SPORT -> DST:DPORT for each sequence number SEQ (a blind
      attacker's guesses; a raw socket: the kernel adds the IP header, SRC must be the address it
      chooses, for the checksum)
  adversary.py tcp-flags FLAGS SRC SPORT DST DPORT SEQ...
      the same with the TCP flags byte FLAGS (e.g. 0x10 an ACK, 0x11 a FIN): a forged packet of
      the flow, no RST
"""
import os
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def quoted_udp(qsrc: str, qdst: str, qsport: int, qdport: int) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + 8, 0x1234, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(qsrc), socket.inet_aton(qdst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + struct.pack("!HHHH", qsport, qdport, 16, 0) + b"adversry"


def quoted_echo(qsrc: str, qdst: str, ident: int) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + 8, 0x1235, 0, 64, socket.IPPROTO_ICMP, 0,
                     socket.inet_aton(qsrc), socket.inet_aton(qdst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    echo = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"adversry"
    return ip + echo[:2] + struct.pack("!H", checksum(echo)) + echo[4:]


def icmp_error(dst, qsrc, qdst, qsport, qdport, body=None):
    if body is None:
        body = quoted_udp(qsrc, qdst, int(qsport), int(qdport))
    hdr = struct.pack("!BBHI", 3, 3, 0, 0)
    pkt = hdr[:2] + struct.pack("!H", checksum(hdr + body)) + hdr[4:] + body
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(pkt, (dst, 0))


def listen(sock, path, seconds, describe):
    """For SECONDS, append describe(sock) to the file at PATH for every message sock receives
    (after a line "listening"); describe returns a line, or None to skip the message."""
    end = time.monotonic() + float(seconds)
    with open(path, "a", buffering=1) as out:
        out.write("listening\n")
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            try:
                line = describe(sock)
            except socket.timeout:
                return
            if line is not None:
                out.write(line + "\n")


def describe_icmp_error(sock):
    pkt, (src, _) = sock.recvfrom(4096)
    ihl = (pkt[0] & 0xF) * 4
    icmp = pkt[ihl:]
    if len(icmp) < 8 + 28 or icmp[0] not in (3, 11, 12):
        return None
    q = icmp[8:]
    qihl = (q[0] & 0xF) * 4
    qsrc, qdst = socket.inet_ntoa(q[12:16]), socket.inet_ntoa(q[16:20])
    qsport, qdport, qid = struct.unpack("!HHH", q[qihl:qihl + 6])
    return f"{src} {icmp[0]} {qsrc} {qdst} {qsport} {qdport} {qid}"


def icmp_listen(path, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    listen(s, path, seconds, describe_icmp_error)


def mark_tcp(dst, port, mark):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, int(mark, 0))
    s.settimeout(2)
    token = f"mark-{mark}-{time.monotonic_ns()}"
    try:
        s.connect((dst, int(port)))
        s.sendall(token.encode() + b"\n")
        answer = s.recv(512).decode(errors="replace").strip()
    except OSError as e:
        print(f"no exchange: {e}")
        sys.exit(1)
    print(answer)
    sys.exit(0 if answer.endswith(token) else 1)


def udp_over_ip(src, dst, sport, dport, payload: bytes, ext=0):
    """(ethertype, IP packet) of one UDP datagram, checksums filled in; ext: words of IPv4
    options or IPv6 Destination Options headers before it."""
    udp_len = 8 + len(payload)
    if ":" in dst:
        s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
        pseudo = s6 + d6 + struct.pack("!IxxxB", udp_len, socket.IPPROTO_UDP)
        udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
        # ADV_UDP_ZERO_CSUM=1: checksum 0, which IPv6 forbids (RFC 8200; the kernel drops it)
        csum = 0 if os.environ.get("ADV_UDP_ZERO_CSUM") == "1" else (checksum(pseudo + udp) or 0xFFFF)
        udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
        hdrs, nh = b"", socket.IPPROTO_UDP
        for _ in range(ext):  # each: next header, length 0 (8 bytes), one PadN option of 4
            hdrs = struct.pack("!BBBB4x", nh, 0, 1, 4) + hdrs
            nh = 60
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(hdrs) + udp_len, nh, 64, s6, d6)
        return 0x86DD, ip + hdrs + udp
    ihl = 5 + ext
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + udp_len, 0x4242, 0, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip += b"\x01" * 4 * ext  # No Operation
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return 0x0800, ip + struct.pack("!HHHH", sport, dport, udp_len, 0) + payload


def vlan_udp(iface, dstmac, src, dst, dport, sport, tags, payload, ext="0"):
    ethertype, ip = udp_over_ip(src, dst, int(sport), int(dport), (payload + "\n").encode(),
                                int(ext))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    srcmac = s.getsockname()[4]
    frame = bytes.fromhex(dstmac.replace(":", "")) + srcmac
    frame += struct.pack("!HH", 0x8100, 0) * int(tags)  # TCI 0: priority 0, VLAN id 0
    s.send(frame + struct.pack("!H", ethertype) + ip)


EXT6 = {"hbh": 0, "dst": 60, "rt0": 43, "frag": 44, "ah": 51}


def ext6_header(kind, nh):
    if kind in ("hbh", "dst"):  # PadN of 4: 8 bytes
        return struct.pack("!BBBB4x", nh, 0, 1, 4)
    if kind == "rt0":  # type 0, segments left 0, no addresses
        return struct.pack("!BBBB4x", nh, 0, 0, 0)
    if kind == "frag":  # offset 0, M = 0
        return struct.pack("!BBHI", nh, 0, 0, 0x4242)
    if kind == "ah":  # payload length 2: (2 + 2) * 4 = 16 bytes
        return struct.pack("!BBHII4x", nh, 2, 0, 0x100, 1)
    sys.exit(f"unknown extension header {kind}")


def send_ip6_chain(iface, dstmac, addrs, proto, l4, chain, hoplimit=64):
    """One Ethernet frame out of IFACE to DSTMAC: IPv6 with the addresses addrs (32 bytes), the
    extension headers CHAIN names, then l4 (an L4 header of protocol proto, checksum filled)."""
    kinds = [] if chain == "-" else chain.split(",")
    hdrs, nh = b"", proto
    for kind in reversed(kinds):
        hdrs = ext6_header(kind, nh) + hdrs
        nh = EXT6[kind]
    ip = struct.pack("!IHBB", 6 << 28, len(hdrs) + len(l4), nh, int(hoplimit)) + addrs + hdrs + l4
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frame = bytes.fromhex(dstmac.replace(":", "")) + s.getsockname()[4]
    s.send(frame + struct.pack("!H", 0x86DD) + ip)


def udp6_chain(iface, dstmac, src, dst, dport, sport, chain, payload):
    _, ip = udp_over_ip(src, dst, int(sport), int(dport), (payload + "\n").encode())
    send_ip6_chain(iface, dstmac, ip[8:40], socket.IPPROTO_UDP, ip[40:], chain)


def icmp6_chain(iface, dstmac, src, dst, typ, code, hoplimit, chain, token):
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    msg = struct.pack("!BBHI", int(typ), int(code), 0, 0) + token.encode()
    pseudo = s6 + d6 + struct.pack("!IxxxB", len(msg), socket.IPPROTO_ICMPV6)
    msg = msg[:2] + struct.pack("!H", checksum(pseudo + msg)) + msg[4:]
    send_ip6_chain(iface, dstmac, s6 + d6, socket.IPPROTO_ICMPV6, msg, chain, hoplimit)


def icmp6_send(dst, typ, hoplimit, token):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(hoplimit))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(hoplimit))
    s.sendto(struct.pack("!BBHI", int(typ), 0, 0, 0) + token.encode(), (dst, 0))


def describe_icmp6(sock):
    msg, anc, _, (src, *_) = sock.recvmsg(4096, socket.CMSG_SPACE(4))
    hops = -1
    for level, kind, data in anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT:
            hops = struct.unpack("i", data[:4])[0]
    body = msg[8:].decode(errors="replace").strip()
    return f"{src} {msg[0]} {hops} {body}"


def icmp6_listen(path, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    listen(s, path, seconds, describe_icmp6)


def tcp_rst(src, sport, dst, dport, *seqs, flags=0x04):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for seq in seqs:
        hdr = struct.pack("!HHIIBBHHH", int(sport), int(dport), int(seq, 0) & 0xFFFFFFFF, 0,
                          5 << 4, flags, 0, 0, 0)
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
            "!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]
        s.sendto(hdr, (dst, 0))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "icmp-error":
        icmp_error(*args)
    elif cmd == "icmp-error-echo":
        icmp_error(args[0], None, None, 0, 0, quoted_echo(args[1], args[2], int(args[3])))
    elif cmd == "icmp-listen":
        icmp_listen(*args)
    elif cmd == "mark-tcp":
        mark_tcp(*args)
    elif cmd == "vlan-udp":
        vlan_udp(*args)
    elif cmd == "udp6-chain":
        udp6_chain(*args)
    elif cmd == "icmp6-chain":
        icmp6_chain(*args)
    elif cmd == "icmp6-send":
        icmp6_send(*args)
    elif cmd == "icmp6-listen":
        icmp6_listen(*args)
    elif cmd == "tcp-rst":
        tcp_rst(*args)
    elif cmd == "tcp-flags":
        tcp_rst(*args[1:], flags=int(args[0], 0))
    else:
        sys.exit(f"unknown command {cmd}")
