"""What TLS costs: connect to first frame, and a full-screen update stream, TLS vs plain.

One server listens on both ports (the self-signed set-up made in a temporary state
directory); spice-gtk connects to the plain port, then to the TLS port only (given the CA
and the host subject), in turn. Measured: the median time from connect to the first frame
(all channels linked, so it includes every TLS handshake), and, while the screen changes
completely 30 times a second with lossless updates (streams off), the display bytes and
frames spice-gtk received per second and the server's CPU time per second.

    .venv/bin/python benchmarks/tls.py [--runs 10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from spice_server import Display, SelectorCore, Server

HERE = Path(__file__).parent
CLIENT = ["/usr/bin/python3", str(HERE / "clients" / "first_frame_client.py")]
WIDTH, HEIGHT = 1024, 768


def connect(target: list[str], *extra: str) -> dict:
    out = subprocess.run([*CLIENT, *target, *extra], capture_output=True, text=True, timeout=60)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result.get("error"):
        raise RuntimeError(f"client failed: {result}")
    return result


def screen(seed: int) -> np.ndarray:
    """A desktop-like screen (flat areas, text-like lines) that differs everywhere per seed."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.uint32)
    image = ((x // 64 + y // 48 + seed) % 7) * 0x203040
    image[(y % 12 < 2) & ((x + seed * 5) % 9 < 5)] = 0xF0F0F0
    return image.astype(np.uint32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        core = SelectorCore()
        server = Server(port=0, tls_port=0, state_dir=Path(tmp), streaming_video="off")
        server.init(core)
        display = Display(WIDTH, HEIGHT)
        display.update(screen(0))
        server.add_interface(display)
        thread = threading.Thread(target=core.run, daemon=True)
        thread.start()
        setup = server.tls_setup
        assert setup is not None and setup.credentials.ca_file is not None
        targets = {
            "plain": ["--port", str(server.address[1])],
            "tls": [
                "--tls-port", str(server.tls_address[1]),
                "--ca-file", str(setup.credentials.ca_file),
                "--host-subject", setup.host_subject,
            ],
        }  # fmt: skip
        first: dict[str, list[float]] = {"plain": [], "tls": []}
        for _ in range(args.runs):  # interleaved: both see the same load
            for name, target in targets.items():
                first[name].append(connect(target)["first_frame_s"])

        stream: dict[str, dict] = {}
        for name, target in targets.items():
            stop = threading.Event()

            def feed(stop: threading.Event = stop) -> None:
                seed = 1
                while not stop.is_set():
                    display.update(screen(seed))
                    seed += 1
                    time.sleep(1 / 30)

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            cpu0 = time.process_time()
            wall0 = time.monotonic()
            result = connect(target, "--duration", str(args.seconds))
            cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
            stop.set()
            feeder.join()
            stream[name] = {**result, "cpu": cpu}
        core.call_soon_threadsafe(server.destroy)
        core.stop()
        thread.join(5)

    print(f"{WIDTH}x{HEIGHT}, spice-gtk, loopback; first frame: median of {args.runs}")
    print(f"{'':34}{'plain':>12}{'TLS':>12}{'ratio':>8}")
    plain, tls = (statistics.median(first[n]) * 1000 for n in ("plain", "tls"))
    print(f"{'connect to first frame (ms)':34}{plain:>12.1f}{tls:>12.1f}{tls / plain:>8.2f}")
    rows = (
        ("stream: display MB/s received", lambda r: r["stream_bytes"] / args.seconds / 1e6),
        ("stream: frames shown /s", lambda r: r["frames"] / args.seconds),
        ("stream: server process CPU (cores)", lambda r: r["cpu"]),
    )
    for label, value in rows:
        a, b = value(stream["plain"]), value(stream["tls"])
        print(f"{label:34}{a:>12.2f}{b:>12.2f}{b / a if a else 0:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
