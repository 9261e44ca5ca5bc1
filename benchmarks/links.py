"""The network links a benchmark runs over, and a self-test of their emulation.

``loopback`` is the client talking to the server directly. The others put linkproxy.py
between them (netem is not available in this kernel): a bandwidth cap per direction, a
one-way delay each way and a bounded bottleneck queue, shared by all of a session's
connections. ``check`` measures what a link really does: a bulk transfer each way must
come within 5 % of the cap and a ping-pong within 2 ms of twice the delay.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROXY = Path(__file__).with_name("linkproxy.py")


@dataclass(frozen=True)
class Link:
    name: str
    rate_mbit: float | None  # None: no proxy at all
    delay_ms: float

    @property
    def emulated(self) -> bool:
        return self.rate_mbit is not None


LINKS = {
    link.name: link
    for link in (
        Link("loopback", None, 0.0),
        Link("100mbit-2ms", 100.0, 2.0),
        Link("20mbit-10ms", 20.0, 10.0),
        Link("5mbit-40ms", 5.0, 40.0),
        Link("3mbit-60ms", 3.0, 60.0),  # a poor mobile link: only when asked for
    )
}
DEFAULT_LINKS = ("loopback", "100mbit-2ms", "20mbit-10ms", "5mbit-40ms")


class LinkProcess:
    """The link to one server while it runs: ``port`` is where a client connects."""

    def __init__(self, link: Link, target_port: int) -> None:
        self.link = link
        self.proc: subprocess.Popen | None = None
        self.port = target_port
        if link.emulated:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(PROXY),
                    f"--target-port={target_port}",
                    f"--rate-mbit={link.rate_mbit}",
                    f"--delay-ms={link.delay_ms}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self.proc.stdout is not None
            self.port = int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> LinkProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(listen: socket.socket, mode: str, seconds: float) -> None:
    """The far end of a check: sink, source or echo."""
    conn, _ = listen.accept()
    with conn:
        if mode == "source":
            block = b"x" * 65536
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                conn.sendall(block)
        elif mode == "sink":
            while conn.recv(65536):
                pass
        else:
            while data := conn.recv(64):
                conn.sendall(data)


def _through(link: Link, mode: str, seconds: float = 0.0) -> tuple[socket.socket, LinkProcess]:
    listen = socket.socket()
    listen.bind(("127.0.0.1", 0))
    listen.listen(1)
    threading.Thread(target=_serve, args=(listen, mode, seconds), daemon=True).start()
    proxy = LinkProcess(link, listen.getsockname()[1])
    sock = socket.create_connection(("127.0.0.1", proxy.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock, proxy


def bulk_down(link: Link, seconds: float = 4.0, skip: float = 1.0) -> float:
    """Megabits per second from server to client, after ``skip`` seconds of ramp-up."""
    sock, proxy = _through(link, "source", seconds)
    with sock, proxy:
        start = time.monotonic()
        counted, mark = 0, None
        while data := sock.recv(65536):
            now = time.monotonic()
            if mark is None and now - start >= skip:
                mark = now
            elif mark is not None:
                counted += len(data)
                last = now
        return counted * 8 / (last - mark) / 1e6 if mark else 0.0


def bulk_up(link: Link, seconds: float = 4.0, skip: float = 1.0) -> float:
    """Megabits per second from client to server: what the sender manages to write, which
    back-pressure limits to the cap (the queue's worth aside, skipped with the ramp)."""
    sock, proxy = _through(link, "sink")
    with sock, proxy:
        block = b"y" * 16384
        start = time.monotonic()
        sent, mark = 0, None
        while (now := time.monotonic()) - start < seconds:
            if mark is None and now - start >= skip:
                mark, sent = now, 0
            sent += sock.send(block)
        return sent * 8 / (time.monotonic() - mark) / 1e6 if mark else 0.0


def ping_ms(link: Link, count: int = 30) -> list[float]:
    """Round-trip times of one-byte messages."""
    sock, proxy = _through(link, "echo")
    with sock, proxy:
        times = []
        for _ in range(count + 1):
            start = time.monotonic()
            sock.sendall(b"p")
            sock.recv(1)
            times.append((time.monotonic() - start) * 1000)
        return times[1:]  # the first pays for the emulated handshake


def check(link: Link) -> dict[str, object]:
    """Measure a link and say whether it does what it claims."""
    down, up = bulk_down(link), bulk_up(link)
    pings = ping_ms(link)
    rtt = statistics.median(pings)
    result: dict[str, object] = {
        "link": link.name,
        "down_mbit": down,
        "up_mbit": up,
        "rtt_ms_median": rtt,
        "rtt_ms_max": max(pings),
        "rtt_ms_expected": 2 * link.delay_ms,
    }
    if link.emulated:
        assert link.rate_mbit is not None
        result["ok"] = (
            abs(down / link.rate_mbit - 1) <= 0.05
            and abs(up / link.rate_mbit - 1) <= 0.05
            and abs(rtt - 2 * link.delay_ms) <= 2.0
        )
    return result
