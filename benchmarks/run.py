"""Display speed, ours against libspice-server (Xspice), scenario by scenario, same run.

Each scenario runs the same X program on Xspice (libspice-server inside its X server) and
on an Xvfb that ``spice-server x11`` exports, one after the other, at the same size. The
real client (spice-gtk) measures frames per second and display bytes per frame; /proc
gives each server's CPU time per frame (Xspice's includes its X server's drawing, ours
does not include Xvfb's); in the typing scenario the client also measures the time from
a key to the next display update (input-to-pixel latency, p50 and p95).

    .venv/bin/python benchmarks/run.py [--seconds 10] [--size 1920x1080] [--only video]

Ratios are ours / Xspice's: for fps higher is better; for bytes, CPU and latency lower.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from servers import cpu_seconds, free_port, start_ours
from xspice import start_xspice

HERE = Path(__file__).parent
CLIENT = ["/usr/bin/python3", str(HERE / "clients" / "frame_rate_client.py")]
SCROLL = (
    "i=0; while :; do i=$((i+1)); "
    'echo "line $i: the quick brown fox jumps over the lazy dog 0123456789"; '
    "sleep 0.016; done"
)
SCENARIOS = {
    "static": {"program": ["xterm", "-geometry", "100x30+40+40"]},
    "typing": {"program": ["xterm", "-geometry", "100x30+40+40"], "type_every": 0.2},
    "scrolling": {"program": ["xterm", "-geometry", "100x40+40+40", "-e", "sh", "-c", SCROLL]},
    "video": {"program": [sys.executable, str(HERE / "workloads" / "video.py"), "--display"]},
}


def run_scenario(name: str, display: str, port: int, server_pid: int, seconds: float) -> dict:
    scenario = SCENARIOS[name]
    program = list(scenario["program"])
    if program[-1] == "--display":
        program.append(display)
    env = dict(os.environ, DISPLAY=display)
    workload = subprocess.Popen(
        program, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(1.5)
        args = [*CLIENT, "--port", str(port), "--seconds", str(seconds)]
        if scenario.get("type_every"):
            args += ["--type-every", str(scenario["type_every"]), "--pointer", "300,200"]
        cpu_before = cpu_seconds(server_pid)
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        cpu = cpu_seconds(server_pid) - cpu_before
        frames = result["fps"] * seconds
        result["cpu_per_frame_ms"] = cpu / frames * 1000 if frames else None
        result["cpu_share"] = cpu / (seconds + 2)
        return result
    finally:
        workload.terminate()
        workload.wait(10)
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    names = args.only or list(SCENARIOS)
    results: dict[str, dict[str, dict]] = {}
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        try:
            xspice_port, ours_port = free_port(), free_port()
            xorg, _ = start_xspice(Path(tmpdir), xspice_port, 34, width, height, xterm=False)
            procs.append(xorg)
            xvfb, ours = start_ours(35, ours_port, width, height)
            procs += [xvfb, ours]
            for name in names:
                results[name] = {
                    "xspice": run_scenario(name, ":34", xspice_port, xorg.pid, args.seconds),
                    "ours": run_scenario(name, ":35", ours_port, ours.pid, args.seconds),
                }
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    report(results, width, height, args.seconds)
    return 0


def report(results: dict[str, dict[str, dict]], width: int, height: int, seconds: float) -> None:
    print(f"display speed, {width}x{height}, spice-gtk, {seconds:.0f} s per scenario and server")
    print(f"{'scenario':11}{'measure':22}{'ours':>11}{'Xspice':>11}{'ratio':>8}")
    rows = [
        ("fps", "frames per second", "{:.1f}"),
        ("bytes_per_frame", "bytes per frame", "{:.0f}"),
        ("cpu_per_frame_ms", "CPU ms per frame", "{:.2f}"),
        ("cpu_share", "CPU share of a core", "{:.1%}"),
        ("latency_p50_ms", "latency p50 ms", "{:.1f}"),
        ("latency_p95_ms", "latency p95 ms", "{:.1f}"),
    ]
    for name, result in results.items():
        for key, label, fmt in rows:
            ours, ref = result["ours"].get(key), result["xspice"].get(key)
            if ours is None and ref is None:
                continue
            shown = [fmt.format(v) if v is not None else "-" for v in (ours, ref)]
            ratio = f"{ours / ref:.2f}" if ours is not None and ref else "-"
            print(f"{name:11}{label:22}{shown[0]:>11}{shown[1]:>11}{ratio:>8}")


if __name__ == "__main__":
    sys.exit(main())
