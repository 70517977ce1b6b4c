#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)): binds a unix datagram socket at
argv[1] and appends each message to argv[2], one line per assignment, each prefixed with the
generation the null backend had recorded (argv[3], JSON) when the message arrived, so a test can
tell whether READY=1 came before or after the first apply. Runs until killed."""
import json
import os
import socket
import sys

sock_path, log_path, record_path = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
os.chmod(sock_path, 0o666)
with open(log_path + ".bound", "w"):
    pass
while True:
    msg = s.recv(4096).decode(errors="replace")
    try:
        with open(record_path) as f:
            gen = json.load(f).get("generation", 0)
    except (OSError, ValueError):
        gen = 0
    with open(log_path, "a") as log:
        for line in msg.splitlines():
            log.write(f"{gen} {line}\n")
