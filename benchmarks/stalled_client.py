"""A stalled client: server memory while it sleeps, and what it shows when it wakes.

Full-screen video-like motion runs on the X display of each server; a real spice-gtk
client connects and is then frozen (SIGSTOP) for --stall seconds, so its socket fills
and stays full. The server's resident memory is sampled all along. Then the motion
stops, the client is woken (SIGCONT), and after a few seconds its framebuffer is compared
with the X server's screen: a server that queued old frames would still be replaying
them. Xspice (libspice-server) runs the same workload as the reference.

    .venv/bin/python benchmarks/stalled_client.py [--stall 60] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scenarios import environment, screen_of
from servers import free_display, free_port, start_ours
from xspice import start_xspice

HERE = Path(__file__).parent
CLIENT = ["/usr/bin/python3", str(HERE / "clients" / "stall_client.py")]
RECOVERY_S = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def shown_by(client: subprocess.Popen, path: Path) -> np.ndarray:
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write(f"dump {path}\n")
    client.stdin.flush()
    _, width, height, stride = client.stdout.readline().split()
    rows = np.fromfile(path, dtype=np.uint32).reshape(int(height), int(stride) // 4)
    return rows[:, : int(width)] & 0xFFFFFF


def run(display: str, port: int, server_pid: int, stall_s: float, tmp: Path) -> dict:
    program = [sys.executable, str(HERE / "workloads" / "video.py"), f"--display={display}"]
    workload = subprocess.Popen(
        program,
        env=environment(display),
        stdin=subprocess.PIPE,  # it paints until told to stop, or killed
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = subprocess.Popen(
        [*CLIENT, "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert client.stdout is not None
        if client.stdout.readline().strip() != "ready":
            raise RuntimeError("the client did not get a first frame")
        time.sleep(2)
        before = rss_mb(server_pid)
        client.send_signal(signal.SIGSTOP)
        peak = before
        deadline = time.monotonic() + stall_s
        while time.monotonic() < deadline:
            time.sleep(0.5)
            peak = max(peak, rss_mb(server_pid))
        workload.terminate()
        workload.wait(10)
        time.sleep(0.5)
        client.send_signal(signal.SIGCONT)
        time.sleep(RECOVERY_S)
        shown = shown_by(client, tmp / f"shown-{port}.raw")
        expected = screen_of(display)
        differing = float((shown != expected).mean()) if shown.shape == expected.shape else 1.0
        return {
            "rss_before_mb": before,
            "rss_peak_mb": peak,
            "growth_mb": peak - before,
            "differing_pixels": differing,
        }
    finally:
        workload.kill()
        client.send_signal(signal.SIGCONT)
        client.kill()
        client.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stall", type=float, default=60.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    procs: list[subprocess.Popen] = []
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        try:
            xspice_port, ours_port = free_port(), free_port()
            xspice_display = free_display()
            xorg, _ = start_xspice(tmp, xspice_port, xspice_display, width, height, xterm=False)
            procs.append(xorg)
            ours_display = free_display([xspice_display])
            xvfb, ours = start_ours(ours_display, ours_port, width, height)
            procs += [xvfb, ours]
            results["xspice"] = run(f":{xspice_display}", xspice_port, xorg.pid, args.stall, tmp)
            results["ours"] = run(f":{ours_display}", ours_port, ours.pid, args.stall, tmp)
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    print(f"stalled client, {width}x{height} full-screen motion, {args.stall:.0f} s stall")
    print(f"{'measure':34} {'ours':>10} {'Xspice':>10}")
    rows = [
        ("server RSS before the stall, MB", "rss_before_mb", "{:.1f}"),
        ("server RSS peak during it, MB", "rss_peak_mb", "{:.1f}"),
        ("growth, MB", "growth_mb", "{:.1f}"),
        ("pixels off the screen after waking", "differing_pixels", "{:.2%}"),
    ]
    for label, key, fmt in rows:
        ours_v, ref_v = results["ours"][key], results["xspice"][key]
        print(f"{label:34} {fmt.format(ours_v):>10} {fmt.format(ref_v):>10}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
