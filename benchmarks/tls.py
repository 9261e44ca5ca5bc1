"""What TLS costs: connect to first frame, and a full-screen update stream, TLS vs plain.

One server listens on both ports (the self-signed set-up made in a temporary state
directory); spice-gtk connects to the plain port, then to the TLS port only (given the CA
and the host subject), in turn. Measured: the median time from connect to the first frame
(all channels linked, so it includes every TLS handshake), and, while the whole screen is
replaced by new noise 60 times a second and sent losslessly (streams off, no JPEG: LZ4
cannot shrink noise, so this is the heaviest byte stream), the display bytes and the
draws spice-gtk received per second and the server process's CPU time per second.

    .venv/bin/python benchmarks/tls.py [--runs 10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
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


NOISE = [
    np.random.default_rng(seed).integers(0, 1 << 24, (HEIGHT, WIDTH), dtype=np.uint32)
    for seed in range(8)
]


def handshake_ms(port: int, ca_file: Path) -> float:
    """One TLS handshake with the TLS port (Python's ssl as the client), in milliseconds."""
    context = ssl.create_default_context(cafile=str(ca_file))
    start = time.perf_counter()
    with (
        socket.create_connection(("127.0.0.1", port)) as sock,
        context.wrap_socket(sock, server_hostname="localhost"),
    ):
        return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        core = SelectorCore()
        server = Server(
            port=0,
            tls_port=0,
            state_dir=Path(tmp),
            streaming_video="off",
            jpeg_compression="never",
        )
        server.init(core)
        display = Display(WIDTH, HEIGHT)
        display.update(NOISE[0])
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
        handshakes = [
            handshake_ms(server.tls_address[1], setup.credentials.ca_file) for _ in range(args.runs)
        ]
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
                    display.update(NOISE[seed % len(NOISE)])
                    seed += 1
                    time.sleep(1 / 60)

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
    print(f"{'one TLS handshake (ms)':34}{'':>12}{statistics.median(handshakes):>12.1f}")
    rows = (
        ("stream: display MB/s received", lambda r: r["stream_bytes"] / args.seconds / 1e6),
        ("stream: draws shown /s", lambda r: r["frames"] / args.seconds),
        ("stream: server process CPU (cores)", lambda r: r["cpu"]),
        ("stream: spice-gtk CPU (cores)", lambda r: r["client_cpu"]),
        (
            "stream: server CPU ms per MB",
            lambda r: r["cpu"] * args.seconds * 1e9 / r["stream_bytes"],
        ),
    )
    for label, value in rows:
        a, b = value(stream["plain"]), value(stream["tls"])
        print(f"{label:34}{a:>12.2f}{b:>12.2f}{b / a if a else 0:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
