"""A process's TCP sockets by state, read from /proc (Linux): how tests see connections left behind."""

from __future__ import annotations

import os
from collections import Counter

# The kernel's codes in /proc/net/tcp
STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN"}


def tcp_states(pid: int, remote_port: int | None = None) -> Counter[str]:
    """How many of `pid`'s TCP sockets are in each state; with `remote_port`, only those connected to that port."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    states: Counter[str] = Counter()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                remote = int(fields[2].rsplit(":", 1)[1], 16)
                if fields[9] in inodes and (remote_port is None or remote == remote_port):
                    states[STATES.get(fields[3], fields[3])] += 1
    return states
