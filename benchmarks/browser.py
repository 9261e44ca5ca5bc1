"""A web page scrolled in Chromium: bytes and exactness, ours against Xspice.

Real work rather than a synthetic workload: Chromium (software rendering, as on a desktop
without GL) shows a long page of text in a column with wide margins, photographs between
paragraphs, a fixed animation over it all and its own scroll bar, and scrolls it down
for --seconds, then stops; with --back it then glides back to the top as a wheel scroll
does (Chromium's smooth scrolling, whose last steps move the page by a few pixels and
uncover only its margin: moves with nothing new beside them). Chromium redraws the page
in parts, so a capture often comes between two of them; the animation and the scroll bar
make whole rows differ. Each server in turn exports a 1024x768 X display to an
unmodified spice-gtk client (through the same emulated link); the figures are the
display channel's bytes from Chromium's start to a second after the scroll stops, the
server's CPU over that time, and how long after the stop the client's screen equals the
X screen (read every 0.1 s for up to 4 s).

    .venv/bin/python benchmarks/browser.py [--seconds 12] [--back] [--link 20mbit-10ms]
        [--servers both] [--image-compression auto_glz ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gtkclient import GtkClient
from links import LINKS, LinkProcess
from scenarios import environment, screen_of
from servers import ServerUnderTest, cpu_seconds, start

WIDTH, HEIGHT = 1024, 768
PAGE = """<!doctype html><html><head><style>
body {{ font-family: sans-serif; margin: 0; background: #fafafa }}
#spin {{ position: fixed; top: 40px; left: 40px; width: 200px; height: 120px;
  background: linear-gradient(45deg, #c33, #33c); animation: spin 3s linear infinite }}
@keyframes spin {{ from {{ transform: rotate(0) }} to {{ transform: rotate(360deg) }} }}
p {{ margin: 8px 300px; font-size: 15px; line-height: 1.4 }}
canvas {{ display: block; margin: 10px 300px }}
</style></head><body><div id="spin"></div><div id="page"></div><script>
const page = document.getElementById("page");
let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
for (let i = 0; i < 400; i++) {{
  const p = document.createElement("p");
  p.textContent = i + " Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
    + "eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam.";
  page.appendChild(p);
  if (i % 20 == 0) {{
    const c = document.createElement("canvas");
    c.width = 400; c.height = 200;
    const g = c.getContext("2d");
    for (let k = 0; k < 3000; k++) {{
      g.fillStyle = `hsl(${{(k * 37 + i) % 360}}, 70%, ${{30 + k % 40}}%)`;
      g.fillRect(random() * 400, random() * 200, 6, 6);
    }}
    page.appendChild(c);
  }}
}}
let t0 = null;
function step(now) {{
  t0 = t0 ?? now;
  const t = now - t0;
  if (t < {ms}) {{ window.scrollTo(0, t / {ms} * {distance}); requestAnimationFrame(step); }}
  else {{
    document.getElementById("spin").style.animation = "none";
    if ({back}) window.scrollTo({{ top: 0, behavior: "smooth" }});
  }}
}}
setTimeout(() => requestAnimationFrame(step), {wait_ms});
</script></body></html>
"""
LOAD_S = 3.0  # Chromium starts and lays the page out before the scroll begins
SETTLE_S = 1.0  # after the scroll, before the bytes are counted
EXACT_WITHIN_S = 4.0


def still(display: str) -> float:
    """When the X screen stopped changing (Chromium took some seconds to start, so the
    scroll ends later than planned): the first of two reads 0.1 s apart that agree."""
    last, at = screen_of(display), time.monotonic()
    for _ in range(100):
        time.sleep(0.1)
        now = screen_of(display)
        if np.array_equal(now, last):
            return at
        last, at = now, time.monotonic()
    raise RuntimeError("the page never stopped moving")


def run(
    name: str, tmp: Path, link_name: str, seconds: float, back: bool, compression: str | None
) -> dict[str, float | str | None]:
    ours_args = ("--image-compression", compression) if compression else ()
    server: ServerUnderTest = start(name, tmp, WIDTH, HEIGHT, ours_args)
    browser = None
    try:
        with LinkProcess(LINKS[link_name], server.port) as path:
            client = GtkClient(path.port)
            try:
                client.ready()
                page = tmp / f"page-{name}.html"
                page.write_text(
                    PAGE.format(
                        ms=int(seconds * 1000),
                        distance=9000,
                        wait_ms=int(LOAD_S * 1000),
                        back=str(back).lower(),
                    )
                )
                before = client.ask({"cmd": "mark"})["display_bytes"]
                cpu = cpu_seconds(server.server_pid)
                began = time.monotonic()
                browser = subprocess.Popen(
                    [
                        shutil.which("chromium") or "chromium",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--no-first-run",
                        f"--user-data-dir={tmp / f'chromium-{name}'}",
                        "--window-position=0,0",
                        f"--window-size={WIDTH},{HEIGHT}",
                        f"--app=file://{page}",
                    ],
                    env=environment(server.display),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(max(0.0, began + LOAD_S + seconds - time.monotonic()))
                stop = still(server.display)
                exact_after = None
                while (waited := time.monotonic() - stop) < EXACT_WITHIN_S:
                    _, shown = client.screen(tmp / "shown.raw")
                    if np.array_equal(shown[:HEIGHT, :WIDTH], screen_of(server.display)):
                        exact_after = waited
                        break
                    time.sleep(0.1)
                time.sleep(max(0.0, stop + SETTLE_S - time.monotonic()))
                sent = client.ask({"cmd": "mark"})["display_bytes"] - before
                cpu = cpu_seconds(server.server_pid) - cpu
                elapsed = time.monotonic() - began
            finally:
                client.quit()
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(10)
        server.stop()
    return {
        "server": f"{name} ({compression})" if compression else name,
        "display_mb": sent / 1e6,
        "display_mb_per_s": sent / 1e6 / elapsed,
        "cpu_s": cpu,
        "exact_after_s": exact_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="how long it scrolls")
    parser.add_argument(
        "--back", action="store_true", help="then glide back to the top, as a wheel does"
    )
    parser.add_argument("--link", choices=sorted(LINKS), default="loopback")
    parser.add_argument("--servers", choices=("ours", "xspice", "both"), default="both")
    parser.add_argument(
        "--image-compression",
        action="append",
        metavar="SETTING",
        help="ours with this --image-compression (again: one run each), not its default",
    )
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        sys.exit("Chromium is missing: apt-get install chromium")
    runs: list[tuple[str, str | None]] = []
    if args.servers != "xspice":
        runs += [("ours", setting) for setting in args.image_compression or [None]]
    if args.servers != "ours":
        runs.append(("xspice", None))
    with tempfile.TemporaryDirectory() as workdir:
        rows = [
            run(name, Path(workdir), args.link, args.seconds, args.back, setting)
            for name, setting in runs
        ]
    back = ", then back to the top" if args.back else ""
    print(f"Chromium scrolling a page for {args.seconds:g} s{back}, {args.link}, spice-gtk 0.42\n")
    print("| server | display MB | MB/s | server CPU s | exact after the stop |")
    print("|---|---|---|---|---|")
    for row in rows:
        exact = row["exact_after_s"]
        shown = f"not within {EXACT_WITHIN_S:g} s" if exact is None else f"{exact:.2f} s"
        print(
            f"| {row['server']} | {row['display_mb']:.1f} | {row['display_mb_per_s']:.2f}"
            f" | {row['cpu_s']:.1f} | {shown} |"
        )


if __name__ == "__main__":
    main()
