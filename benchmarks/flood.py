"""A desktop that never stops drawing: our x11 back end against Xspice (libspice-server).

On each X server (Xspice's Xorg, then an Xvfb exported by ``spice-server x11``), one xterm
floods (``while :; do ls -lR /usr/share; done``) and a second one runs ``cat``. Once the
flood runs, a new spice-gtk client connects and measures (clients/flood_client.py): the
time to link every channel and to show a first frame, the pixels it repaints per second
(sum of display-invalidate areas) and the time from a key to its echo in the second xterm.
/proc gives the CPU of our server and of each X server. One server at a time, so they do
not share the two cores.

    .venv/bin/python benchmarks/flood.py [--seconds 10] [--only ours|xspice]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from servers import cpu_seconds, free_port
from xspice import start_xspice

HERE = Path(__file__).parent
CLIENT = ["/usr/bin/python3", str(HERE / "clients" / "flood_client.py")]
WIDTH, HEIGHT = 1024, 768
OURS = [sys.executable, "-m", "spice_server", "x11", "--no-sound"]
FLOOD = "while :; do ls -lR /usr/share; done"


def free_display() -> int:
    for number in range(400, 600):
        if not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while (value := predicate()) is None or value is False:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def window_rect(display: str, title: str) -> tuple[int, int, int, int] | None:
    """x, y, width, height of the window titled ``title``, None until it is mapped."""
    out = subprocess.run(
        ["xwininfo", "-display", display, "-name", title], capture_output=True, text=True
    ).stdout
    values = dict(re.findall(r"^\s*(Absolute upper-left [XY]|Width|Height):\s+(-?\d+)", out, re.M))
    if len(values) < 4 or "IsViewable" not in out:
        return None
    keys = ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")
    x, y, w, h = (int(values[k]) for k in keys)
    return x, y, w, h


def start_terminals(display: str) -> tuple[list[subprocess.Popen], tuple[int, int, int, int]]:
    """The flooding xterm and the one running cat; the latter's rectangle on the screen."""
    env = dict(os.environ, DISPLAY=display)
    procs = [
        subprocess.Popen(
            ["xterm", "-title", "flood", "-geometry", "80x50+0+0", "-e", "sh", "-c", FLOOD],
            env=env,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            ["xterm", "-title", "echo", "-geometry", "40x10+600+40", "-e", "cat"],
            env=env,
            stderr=subprocess.DEVNULL,
        ),
    ]
    rect = wait_for(lambda: window_rect(display, "echo"), 15, "the echo xterm")
    wait_for(lambda: window_rect(display, "flood"), 15, "the flood xterm")
    return procs, rect


def measure(port: int, seconds: float, echo: tuple[int, int, int, int]) -> dict:
    out = subprocess.run(
        [
            *CLIENT,
            "--port",
            str(port),
            "--seconds",
            str(seconds),
            "--echo-rect",
            ",".join(map(str, echo)),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 90,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_xspice(tmp: Path, seconds: float) -> dict:
    port, number = free_port(), free_display()
    xorg, _ = start_xspice(tmp, port, number, WIDTH, HEIGHT, xterm=False)
    procs: list[subprocess.Popen] = [xorg]
    try:
        terminals, echo = start_terminals(f":{number}")
        procs += terminals
        time.sleep(2)  # the flood is under way before the client comes
        x_before = cpu_seconds(xorg.pid)
        started = time.monotonic()
        result = measure(port, seconds, echo)
        result["x_server_cpu"] = (cpu_seconds(xorg.pid) - x_before) / (time.monotonic() - started)
        return result
    finally:
        stop(procs)


def run_ours(seconds: float) -> dict:
    port, number = free_port(), free_display()
    display = f":{number}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        stderr=subprocess.DEVNULL,
    )
    procs: list[subprocess.Popen] = [xvfb]
    try:
        wait_for(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 15, "Xvfb")
        ours = subprocess.Popen(
            [*OURS, f"--display={display}", f"--port={port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(ours)
        assert ours.stdout is not None
        ours.stdout.readline()  # the address: listening
        terminals, echo = start_terminals(display)
        procs += terminals
        time.sleep(2)
        before, x_before = cpu_seconds(ours.pid), cpu_seconds(xvfb.pid)
        started = time.monotonic()
        result = measure(port, seconds, echo)
        elapsed = time.monotonic() - started
        result["server_cpu"] = (cpu_seconds(ours.pid) - before) / elapsed
        result["x_server_cpu"] = (cpu_seconds(xvfb.pid) - x_before) / elapsed
        return result
    finally:
        stop(procs)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def show(value: object, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("ours", "xspice"))
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        if args.only != "ours":
            results["Xspice"] = run_xspice(Path(tmpdir), args.seconds)
        if args.only != "xspice":
            results["ours"] = run_ours(args.seconds)
    print(f"flooding xterm + echoing xterm, {WIDTH}x{HEIGHT}, spice-gtk, {args.seconds:.0f} s")
    rows = [
        ("link all channels (s)", "link_s", "{:.3f}"),
        ("first frame (s)", "first_frame_s", "{:.3f}"),
        ("repainted pixels per second", "pixels_per_s", "{:,.0f}"),
        ("invalidates per second", "invalidates_per_s", "{:.0f}"),
        ("key echo p50 (ms)", "echo_p50_ms", "{:.1f}"),
        ("key echo p95 (ms)", "echo_p95_ms", "{:.1f}"),
        ("keys without echo in 2 s", "echo_missed", "{}"),
        ("our server CPU (share of a core)", "server_cpu", "{:.2f}"),
        ("X server CPU (share of a core)", "x_server_cpu", "{:.2f}"),
    ]
    names = list(results)
    print(f"{'':36}" + "".join(f"{name:>14}" for name in names))
    for label, key, fmt in rows:
        print(f"{label:36}" + "".join(f"{show(results[n].get(key), fmt):>14}" for n in names))
    for name in names:
        if results[name].get("error"):
            print(f"{name}: {results[name]['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
