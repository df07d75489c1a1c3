"""The local engine listens on loopback only: an unauthenticated AWS emulator must not reach the network.

Read from the kernel's own tables (/proc/net/{tcp,tcp6,udp,udp6}) for the
sockets that the engine started by `python3 tasks.py test` and its children
hold, so the check is what the operating system sees, not what the engine
was asked to do.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

# /proc/net/tcp's state column: 0A is LISTEN. A bound UDP socket (07, CLOSE)
# receives from anyone who can reach its address, so it counts as listening.
LISTENING = {"tcp": "0A", "tcp6": "0A", "udp": "07", "udp6": "07"}


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net's host-order hex address (4 bytes, or 4 words of 4 bytes for IPv6)."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ipaddress.IPv6Address(words)


def listening_sockets(table: str, protocol: str) -> dict[str, tuple[str, int]]:
    """socket inode -> (address, port) for the listening sockets of one /proc/net table."""
    found = {}
    for line in table.splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == LISTENING[protocol]:
            hex_address, hex_port = local.split(":")
            found[inode] = (str(_address(hex_address)), int(hex_port, 16))
    return found


def process_tree(pid: int) -> set[int]:
    """`pid` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name is in parentheses and may hold spaces: split after it.
            after_name = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(after_name[1]), []).append(int(status.parent.name))
    tree, pending = set(), [pid]
    while pending:
        current = pending.pop()
        tree.add(current)
        pending += children.get(current, [])
    return tree


def socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def engine_listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every socket the engine's processes listen on."""
    inodes = socket_inodes(process_tree(pid))
    addresses = []
    for protocol in LISTENING:
        table = Path(f"/proc/net/{protocol}")
        if not table.exists():
            continue
        for inode, (address, port) in listening_sockets(
            table.read_text(), protocol
        ).items():
            if inode in inodes:
                addresses.append((protocol, address, port))
    return addresses


def test_the_engine_listens_on_loopback_only():
    pid = os.environ.get("TRADING_ENGINE_PID")
    if not pid:
        pytest.fail(
            "TRADING_ENGINE_PID is not set: run the deployment tests through `python3 tasks.py test`"
        )
    addresses = engine_listening_addresses(int(pid))
    port = int(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    beyond_loopback = [
        entry for entry in addresses if not ipaddress.ip_address(entry[1]).is_loopback
    ]
    assert not beyond_loopback, (
        f"the local engine listens beyond loopback: {beyond_loopback}"
    )
    # And it listens where the tests talk to it, or this would pass on a process that is not the engine.
    assert ("tcp", "127.0.0.1", port) in addresses, addresses


# The parser, on tables as the kernel writes them: a wildcard bind must be seen as one.
TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:11F7 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0
   1: 00000000:1A0B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0
   2: 0100007F:9C40 0100007F:11F7 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0
"""
TCP6_TABLE = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0
"""


def test_the_socket_table_parser_tells_loopback_from_every_interface():
    assert listening_sockets(TCP_TABLE, "tcp") == {
        "1001": ("127.0.0.1", 4599),
        "1002": ("0.0.0.0", 6667),
    }
    assert listening_sockets(TCP6_TABLE, "tcp6") == {
        "2001": ("::1", 53),
        "2002": ("::", 80),
    }


def test_the_process_tree_holds_this_process_and_its_children():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert {os.getpid(), child.pid} <= process_tree(os.getpid())
        assert child.pid not in process_tree(child.pid + 10**7)
    finally:
        child.kill()
        child.wait()
