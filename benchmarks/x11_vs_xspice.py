"""Our x11 back end against libspice-server (Xspice), same X program, same run.

Xspice is an X server whose screen libspice-server serves; we serve an Xvfb of the same
size through ``spice-server x11``. The same workload runs on both (benchmarks/workloads):
first nothing but an idle xterm, then a bouncing square at 60 frames a second. spice-gtk
measures frames per second and display bytes; /proc gives our server's CPU time. Ratios
are ours / Xspice's (for fps higher is better, for bytes lower).

    .venv/bin/python benchmarks/x11_vs_xspice.py [--seconds 10]
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
WIDTH, HEIGHT = 1024, 768


def measure(port: int, seconds: float) -> dict:
    out = subprocess.run(
        [*CLIENT, "--port", str(port), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        try:
            xspice_port, ours_port = free_port(), free_port()
            xorg, xterm = start_xspice(tmp, xspice_port, 32, WIDTH, HEIGHT)
            procs += [p for p in (xorg, xterm) if p is not None]
            xvfb, ours = start_ours(33, ours_port, WIDTH, HEIGHT)
            procs += [xvfb, ours]
            env33 = dict(os.environ, DISPLAY=":33")
            procs.append(
                subprocess.Popen(
                    ["xterm", "-geometry", "80x24+40+40"], env=env33, stderr=subprocess.DEVNULL
                )
            )
            time.sleep(1.5)

            results: dict[str, dict[str, dict]] = {}
            for phase in ("idle", "bouncing square"):
                if phase != "idle":
                    for display in (":32", ":33"):
                        procs.append(
                            subprocess.Popen(
                                [
                                    sys.executable,
                                    str(HERE / "workloads" / "bouncing.py"),
                                    "--display",
                                    display,
                                ]
                            )
                        )
                    time.sleep(1)
                cpu_before = cpu_seconds(ours.pid)
                results[phase] = {"ours": measure(ours_port, args.seconds)}
                results[phase]["ours"]["cpu"] = (cpu_seconds(ours.pid) - cpu_before) / (
                    args.seconds + 2
                )  # the client's warm-up included
                results[phase]["xspice"] = measure(xspice_port, args.seconds)
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(10)

    print(f"x11 back end vs Xspice, {WIDTH}x{HEIGHT}, spice-gtk, {args.seconds:.0f} s each")
    print(f"{'':38}{'ours':>12}{'Xspice':>12}{'ratio':>8}")
    for phase, result in results.items():
        ours, ref = result["ours"], result["xspice"]
        rows = [
            ("frames per second", "fps", "{:.1f}"),
            ("display bytes per second", "bytes_per_s", "{:.0f}"),
            ("display bytes per frame", "bytes_per_frame", "{:.0f}"),
        ]
        for label, key, fmt in rows:
            a, b = ours[key], ref[key]
            ratio = f"{a / b:.2f}" if a is not None and b else "-"
            shown = [fmt.format(v) if v is not None else "-" for v in (a, b)]
            print(f"{phase + ': ' + label:38}{shown[0]:>12}{shown[1]:>12}{ratio:>8}")
        print(f"{phase + ': our server CPU (share of a core)':38}{ours['cpu'] * 100:>11.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
