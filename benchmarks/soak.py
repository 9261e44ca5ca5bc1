"""Soak: many real spice-gtk clients connecting, working and leaving, some killed outright.

Runs `spice-server demo`, or with ``--backend x11`` `spice-server x11` on an Xvfb of its
own showing a terminal and a window whose picture moves like video (tests/xmover.py), and
keeps ``--clients`` spice-gtk clients (the test suite's driver, tests/clients/gtk_client.py)
busy for ``--minutes``: each connects, waits for its first frame, types, moves the pointer
and asks for the framebuffer for a few seconds, then quits, or is killed with SIGKILL
(``--kill-share`` of them), and another takes its place. The server's memory and open file
descriptors are read before, during and after. While clients come and go, memory must
level off: the second half's peak no more than 10 MB above the first half's (a leak climbs
all along). After the last client has gone every session must be over, the descriptors
back where they started, and memory within 25 MB of where it started: the server hands
the allocator's free pages back once no session is left, but not the pages that the
fragments still in use keep (a few MB after the demo, more after H.264 streams).

    .venv/bin/python benchmarks/soak.py --clients 6 --minutes 5
    .venv/bin/python benchmarks/soak.py --clients 6 --minutes 5 --backend x11
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# The test suite's harness and the pictures it imports, as pytest's pythonpath has them.
sys.path.insert(0, str(Path(__file__).resolve().parent / "workloads"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import GtkClient, check_real_client
from xserver import XServer

MOVER = Path(__file__).resolve().parents[1] / "tests" / "xmover.py"
MOVING_WINDOW = ("--kind", "video", "--geometry", "560x360+460+400")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Soak:
    def __init__(self, port: int, kill_share: float, seed: int) -> None:
        self.port = port
        self.kill_share = kill_share
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="soak-"))

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def one_client(self, rng: random.Random) -> None:
        client = GtkClient(self.port, None, self.tmp)
        try:
            client.wait_ready(30)
            self.count("connected")
            until = time.monotonic() + rng.uniform(2, 8)
            while time.monotonic() < until:
                code = rng.choice((0x1E, 0x1F, 0x20, 0x39))
                client.send(cmd="key_press_and_release", scancode=code)
                x, y = rng.randrange(1024), rng.randrange(768)
                client.send(cmd="position", x=x, y=y, display=0, buttons=0)
                if rng.random() < 0.1:
                    client.framebuffer()
                time.sleep(0.05)
            if rng.random() < self.kill_share:
                client.proc.kill()
                client.proc.wait(5)
                self.count("killed")
            else:
                client.close()
                self.count("quit")
        except Exception as exc:  # a client that failed to get in is a finding
            self.count(f"failed: {type(exc).__name__}")
            print(f"a client failed: {str(exc)[:300]}", file=sys.stderr)
            client.proc.kill()
            client.proc.wait(5)

    def worker(self, deadline: float, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            self.one_client(rng)


@contextlib.contextmanager
def backend(name: str, tmp: Path) -> Iterator[list[str]]:
    """The server's command line for the back end, and what that back end shows."""
    if name == "demo":
        yield ["demo"]
        return
    x = XServer(tmp, "xvfb", 1024, 768)
    try:
        # Clients type into a terminal (echoed by the tty: no shell runs what they type)
        # while a window beside it plays video (a picture changing all over every frame,
        # which becomes a stream): text, video and pointer at once.
        x.run("xterm", "-geometry", "80x24+0+0", "-e", "cat")
        mover = subprocess.Popen(
            [sys.executable, str(MOVER), "--display", x.name, *MOVING_WINDOW],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        x.children.append(mover)  # killed with the X server
        assert mover.stdout is not None
        assert json.loads(mover.stdout.readline()).get("ready"), "the moving window"
        yield ["x11", "--display", x.name, "--no-sound"]
    finally:
        x.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=6, help="clients at a time")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--kill-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("demo", "x11"), default="demo")
    parser.add_argument(
        "--video-codecs",
        default="mjpeg,h264,vp8",
        help="the server's stream codecs, best first (h264 first: PyAV encoders come and go)",
    )
    args = parser.parse_args()
    check_real_client()
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    log_path = tmp / "server.log"
    print(f"server log: {log_path}")
    with backend(args.backend, tmp) as command:
        return soak(args, command, log_path)


def soak(args: argparse.Namespace, command: list[str], log_path: Path) -> int:
    with open(log_path, "w") as log_file:  # the server keeps its own copy of the fd
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "spice_server", *command, "--port", "0"),
                *("--video-codecs", args.video_codecs),
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        assert server.stdout is not None
        match = re.search(r"spice://[^:/]+:(\d+)", server.stdout.readline())
        assert match
        port = int(match.group(1))
        clients = Soak(port, args.kill_share, args.seed)
        clients.one_client(random.Random(0))  # warm up: what one client leaves allocated
        time.sleep(2)
        before_rss, before_fds = rss_mb(server.pid), fds(server.pid)
        deadline = time.monotonic() + args.minutes * 60
        workers = [
            threading.Thread(target=clients.worker, args=(deadline, args.seed + i), daemon=True)
            for i in range(args.clients)
        ]
        for worker in workers:
            worker.start()
        peak_rss, peak_fds = before_rss, before_fds
        timeline, next_mark = [], time.monotonic() + 30
        while any(worker.is_alive() for worker in workers):
            peak_rss, peak_fds = max(peak_rss, rss_mb(server.pid)), max(peak_fds, fds(server.pid))
            if time.monotonic() > next_mark:  # a leak climbs; a high-water mark levels off
                timeline.append(round(rss_mb(server.pid)))
                next_mark += 30
            time.sleep(0.5)
        time.sleep(3)  # the server notices the last ones have gone
        after_rss, after_fds = rss_mb(server.pid), fds(server.pid)
        print(
            f"soak ({args.backend}, {args.video_codecs}): "
            f"{args.clients} clients at a time for {args.minutes:g} min: "
            f"{dict(sorted(clients.counts.items()))}"
        )
        print(f"  memory  {before_rss:.1f} MB -> peak {peak_rss:.1f} -> after {after_rss:.1f}")
        print(f"  memory every 30 s: {timeline} MB")
        print(f"  fds     {before_fds} -> peak {peak_fds} -> after {after_fds}")
        alive = server.poll() is None
        failed = sum(n for what, n in clients.counts.items() if what.startswith("failed"))
        log = log_path.read_text()
        sessions = log.count(" connected (session "), log.count(" disconnected (session ")
        print(f"  sessions opened {sessions[0]}, ended {sessions[1]}")
        half = max(1, len(timeline) // 2)
        levelled = max(timeline[half:], default=0) - max(timeline[:half], default=0) <= 10
        back = after_rss - before_rss <= 25
        ok = alive and failed == 0 and after_fds <= before_fds and levelled and back
        ok = ok and sessions[0] == sessions[1]
        print("  " + ("ok" if ok else "NOT OK") + f" (server alive: {alive})")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
