"""Connect-to-first-frame, ours against libspice-server (Xspice), same screen, same run.

Starts Xspice (Debian xserver-xspice) with an xterm, grabs the screen it serves, and serves
exactly those pixels from our server too. Then connects spice-gtk to each in turn, N times,
and reports the median time from connect to the first frame and the bytes the display
channel carried for it, with our figure as a ratio to Xspice's (lower is better for both).

    .venv/bin/python benchmarks/first_frame.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from spice_server import Display, SelectorCore, Server

from xspice import start_xspice

HERE = Path(__file__).parent
CLIENT = [("/usr/bin/python3"), str(HERE / "clients" / "first_frame_client.py")]


def connect(port: int, dump: Path | None = None) -> dict:
    args = [*CLIENT, "--port", str(port)] + (["--dump", str(dump)] if dump else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result.get("error"):
        raise RuntimeError(f"client failed on port {port}: {result}")
    return result


def serve(pixels: np.ndarray) -> tuple[Server, SelectorCore, threading.Thread]:
    core = SelectorCore()
    server = Server(port=0)
    server.init(core)
    display = Display(pixels.shape[1], pixels.shape[0])
    display.update(pixels)
    server.add_interface(display)
    thread = threading.Thread(target=core.run, daemon=True)
    thread.start()
    return server, core, thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--xspice-port", type=int, default=5931)
    parser.add_argument("--x-display", type=int, default=31)
    args = parser.parse_args()
    width, height = 1024, 768

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        xorg, xterm = start_xspice(tmp, args.xspice_port, args.x_display, width, height)
        try:
            grab = connect(args.xspice_port, tmp / "screen.raw")
            w, h, stride = grab["size"]
            raw = np.fromfile(tmp / "screen.raw", dtype=np.uint8).reshape(h, stride)
            screen = np.ascontiguousarray(raw[:, : w * 4]).view(np.uint32) & 0xFFFFFF
            server, core, thread = serve(screen)
            ours_port = server.address[1]
            results: dict[str, list[dict]] = {"ours": [], "xspice": []}
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                results["xspice"].append(connect(args.xspice_port))
                results["ours"].append(connect(ours_port))
            core.call_soon_threadsafe(server.destroy)
            core.stop()
            thread.join(5)
        finally:
            if xterm is not None:
                xterm.terminate()
            xorg.terminate()
            xorg.wait(10)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"connect to first frame, {width}x{height} xterm screen, spice-gtk, {args.runs} runs")
    print(f"{'':24}{'ours':>12}{'Xspice':>12}{'ratio':>8}")
    for label, key, scale, unit in (
        ("first frame (median)", "first_frame_s", 1000, "ms"),
        ("display bytes (median)", "display_bytes", 1, "B"),
    ):
        ours, ref = median("ours", key) * scale, median("xspice", key) * scale
        print(f"{label:24}{ours:>10.1f}{unit:>2}{ref:>10.1f}{unit:>2}{ours / ref:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
