#!/usr/bin/env python3
"""A TCP session whose server speaks on cue, for tests that cut or keep a live session.

  push_session.py server PUSH_FILE PORT
      accepts one connection, sends "hello", waits (up to 30 s) for PUSH_FILE to exist, then sends
      "pushed": the server speaking first after a policy or failsafe change.
  push_session.py client HOST PORT TIMEOUT [SRC_ADDR SRC_PORT]
      connects, prints each line it receives, stops at "pushed" or the end of the stream, and
      prints "done" (a recv timeout raises: the session was cut silently).
"""
import os
import socket
import sys
import time


def server(push, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    c, a = s.accept()
    c.sendall(b"hello\n")
    print("accepted", a, flush=True)
    for _ in range(600):
        if os.path.exists(push):
            break
        time.sleep(0.05)
    c.sendall(b"pushed\n")
    print("pushed", flush=True)
    time.sleep(30)


def client(host, port, timeout, src=None):
    s = socket.create_connection((host, port), timeout=5, source_address=src)
    s.settimeout(timeout)
    buf = b""
    while b"pushed" not in buf:
        d = s.recv(100)
        if not d:
            break
        buf += d
        print(d.decode().strip(), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        src = (sys.argv[5], int(sys.argv[6])) if len(sys.argv) > 6 else None
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), src)
