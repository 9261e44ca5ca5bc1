"""The fuzzer's monitor, in a process of its own: is the server still answering at once?

Every PERIOD seconds it links a fresh MAIN channel from 127.0.0.1 (the fuzzer speaks
from other loopback addresses), waits for MAIN_INIT and the server's first PING, asks
ATTACH_CHANNELS and waits for CHANNELS_LIST; it prints one JSON line per probe until its
stdin closes. A process of its own, so the fuzzer's own work never delays the probe.

On a shared machine a probe can wait for a CPU, or the server's loop thread can: the
kernel counts that time (the second field of a thread's ``schedstat``), so each probe
also reports ``own``: its time less the longer of those two waits, what the server's
loop itself took. That is the figure the test bounds; ``ms`` is the wall time.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spice_server.protocol.constants import LinkError, MsgcMain, MsgMain
from spice_server.protocol.messages.base import MsgPing

from rawclient import RawClient

PERIOD = 0.2


def waited_ms(path: str) -> float:
    """How long a thread has waited for a CPU, in total (ms)."""
    with open(path) as f:
        return int(f.read().split()[1]) / 1e6


def probe(port: int) -> float:
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as real clients do
    raw = RawClient(sock=sock, timeout=5.0)
    try:
        if raw.link() != LinkError.OK:
            raise RuntimeError("link refused")
        raw.read_until(MsgMain.INIT)
        raw.read_until(MsgPing.TYPE)
        raw.send_message(MsgcMain.ATTACH_CHANNELS)
        raw.read_until(MsgMain.CHANNELS_LIST)
        return (time.monotonic() - started) * 1000
    finally:
        raw.close()


def main() -> int:
    port, server_pid = int(sys.argv[1]), int(sys.argv[2])
    server_loop = f"/proc/{server_pid}/task/{server_pid}/schedstat"  # its main thread
    ours = "/proc/thread-self/schedstat"
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], PERIOD)
        if ready and not sys.stdin.readline():
            return 0
        try:
            at = time.time()
            server_before, ours_before = waited_ms(server_loop), waited_ms(ours)
            ms = probe(port)
            waits = waited_ms(server_loop) - server_before, waited_ms(ours) - ours_before
            own = max(0.0, ms - max(waits))
            line = {"ms": round(ms, 2), "own": round(own, 2), "at": at}
        except Exception as exc:  # a failed probe is a finding, reported as such
            line = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    sys.exit(main())
