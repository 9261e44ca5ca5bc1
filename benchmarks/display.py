"""What a user sees, ours against libspice-server (Xspice), per workload and network link.

For each workload and link the same X programs run on Xspice (libspice-server inside its
X server) and on an Xvfb that ``spice-server x11`` exports, one after the other, and an
unmodified spice-gtk 0.42 client measures through the same emulated link:

- frames shown per second: the workload paints its frame number into every frame (see
  framecode.py), the client reads it back from its framebuffer at every update and keeps
  the first time each number showed; paint→pixels latency p50/p95 from the workload's
  paint time (after an X round trip) to that time, and the share of frames ever shown;
- display bytes per second and per shown frame (spice-gtk's display channel counter);
- the server's CPU (/proc) per second and per shown frame: for Xspice that is its X
  server's process, X drawing included; for ours the SPICE server alone (Xvfb apart);
- for the pan, the client's picture while it moves: after the measured window, its
  window read 16 times and each read compared (PSNR) with the very frame whose number it
  shows (the workload's frames are rebuilt), so a picture that mixes frames scores low;
- once the workload stops moving, the client's framebuffer against the X screen
  (GetImage): wrong pixels and PSNR 1 s later, and how long until it is exact;
- key→echo (the typed glyph, or the cursor moved on: see clients/display_client.py)
  and pointer→window latencies where the workload has inputs; for the flood,
  connect→first update and →whole screen, and pixels refreshed per second: counted
  once per 60 Hz frame (what a monitor can show), and as invalidated (overdraw too: a
  server that sends every X drawing operation redraws a pixel several times a frame),
  and how many 60 Hz frames a second brought any change; and changed pixels per second:
  the client's framebuffer sampled once per 60 Hz frame, the pixels that differ from the
  sample before counted (a redraw of unchanged pixels is no change a user sees);
  and the bytes of output the terminal takes in per second (workloads/throughput.py):
  how fast the flooding program gets on, which a busy X server holds back.

    .venv/bin/python benchmarks/display.py                       # everything, ~10 min
    .venv/bin/python benchmarks/display.py --workload pan --link 20mbit-10ms
    .venv/bin/python benchmarks/display.py --servers ours --ours-args "--video-codecs vp8"
    .venv/bin/python benchmarks/display.py --check-link          # verify the links
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import links
import measures
import report
from framecode import read_pixels
from gtkclient import GtkClient
from links import DEFAULT_LINKS, LINKS, Link, LinkProcess
from scenarios import DRAG_COLOURS, DRAG_QUAD, WORKLOADS, Setup, Workload, screen_of
from servers import ServerUnderTest, cpu_seconds, start

SERVERS = ("ours", "xspice")
MOTION_SAMPLES = 16  # reads of the moving picture after the measured window...
MOTION_EVERY_S = 0.15  # ...this far apart
MOTION_RECOVER_S = 2.0  # then undisturbed motion before it stops


class Options(argparse.Namespace):
    size: tuple[int, int]
    seconds: float
    warmup: float
    settle_timeout: float
    workdir: Path


def settle(client: GtkClient, display: str, still: float, options: Options) -> dict:
    """After the last change on the X screen: how wrong the client's picture is 1 s
    later, and when (if ever, within the timeout) it becomes exact."""
    at_1s: tuple[float, float] | None = None
    exact_after = None
    while True:
        shown_at, shown = client.screen(options.workdir / "shown.raw")
        # The X screen is read anew each time: a key's echo that lands after the workload
        # said "still" is part of the picture the client must reach.
        truth = screen_of(display)
        exact = shown.shape == truth.shape and np.array_equal(shown, truth)
        if exact:
            exact_after = max(0.0, shown_at - still)
            at_1s = at_1s or (0.0, math.inf)
            break
        if at_1s is None and shown_at >= still + 1.0:
            at_1s = measures.difference(shown, truth) if shown.shape == truth.shape else (1, 0)
        if shown_at > still + options.settle_timeout and at_1s is not None:
            break
        pause = 0.1
        if at_1s is None:  # take the 1 s sample on time
            pause = min(pause, max(0.0, still + 1.0 - time.monotonic()))
        time.sleep(pause)
    return {"differing_at_1s": at_1s[0], "psnr_at_1s": at_1s[1], "exact_after_s": exact_after}


def run_client(setup: Setup, server: ServerUnderTest, port: int, options: Options) -> dict:
    client = GtkClient(port, setup.strip, count_changes=bool(setup.prelude_s))
    try:
        client.ready(60)
        time.sleep(options.warmup)
        begin = client.ask({"cmd": "mark"})
        cpu = cpu_seconds(server.server_pid), cpu_seconds(server.xserver_pid)
        until = begin["t"] + options.seconds
        if setup.typing is not None:
            t = setup.typing
            client.ask(
                {
                    "cmd": "type",
                    "area": t.area,
                    "click": t.click,
                    "interval": t.interval,
                    "until": until,
                }
            )
        if setup.drag is not None:
            d = setup.drag
            client.ask(
                {
                    "cmd": "drag",
                    "path": d.path,
                    "interval": d.interval,
                    "until": until,
                    "offset": d.offset,
                    "quad": DRAG_QUAD,
                    "colours": DRAG_COLOURS,
                    "tolerance": 60,
                }
            )
        time.sleep(max(0.0, until - time.monotonic()))
        end = client.ask({"cmd": "mark"})
        cpu_end = cpu_seconds(server.server_pid), cpu_seconds(server.xserver_pid)
        # After the measured window (a read stalls the client for a moment), still moving;
        # then moving undisturbed a while, so that the stalls do not weigh on the settling.
        motion: list[tuple[int, float]] = []
        if setup.rebuild is not None:
            motion = motion_samples(client, setup, options)
            time.sleep(MOTION_RECOVER_S)
        if setup.drag is not None:
            time.sleep(0.1)  # the client lets go of the button
        still = setup.still()
        settled = settle(client, server.display, still, options) if still is not None else {}
        results = client.ask({"cmd": "results"})
    finally:
        client.quit()
    return {
        "begin": begin,
        "end": end,
        "cpu": [b - a for a, b in zip(cpu, cpu_end, strict=True)],
        "settled": settled,
        "client": results,
        "motion_psnr": [psnr for _, psnr in motion],
    }


def motion_samples(client: GtkClient, setup: Setup, options: Options) -> list[tuple[int, float]]:
    """The client's window read MOTION_SAMPLES times while the workload moves: for each
    whose frame number reads, that number and the PSNR against the very frame it shows.
    A picture that mixes frames (a copy applied before the strips it uncovers arrive, a
    band still waiting for the link) scores low, whatever its number says."""
    assert setup.rebuild is not None and setup.strip is not None
    (x, y, width, height), (sx, sy, cell) = setup.rebuild.window, setup.strip
    found = []
    for _ in range(MOTION_SAMPLES):
        _, shown = client.screen(options.workdir / "moving.raw")
        number = read_pixels(shown, sx, sy, cell)
        if number is not None:
            window = shown[y : y + height, x : x + width]
            found.append((number, measures.difference(window, setup.rebuild.frame(number))[1]))
        time.sleep(MOTION_EVERY_S)
    return found


def measure(workload: Workload, server: ServerUnderTest, link: Link, options: Options) -> dict:
    started = time.monotonic()
    setup = workload.start(server.display, options.size, options.workdir, options.seconds)
    try:
        with LinkProcess(link, server.port) as path:
            time.sleep(setup.prelude_s)
            raw = run_client(setup, server, path.port, options)
        log = setup.finish()
    finally:
        setup.stop()
    figure = figures(raw, log, setup)
    figure["wall_s"] = time.monotonic() - started
    return figure


def figures(raw: dict, log: dict, setup: Setup) -> dict:
    begin, end, client = raw["begin"], raw["end"], raw["client"]
    seconds = end["t"] - begin["t"]
    display_bytes = end["display_bytes"] - begin["display_bytes"]
    out: dict = {
        "seconds": seconds,
        "display_bytes_per_s": display_bytes / seconds,
        "cpu_share": raw["cpu"][0] / seconds,
        "xserver_cpu_share": raw["cpu"][1] / seconds,
        "mouse_mode": client["mouse_mode"],
        "strip_reads": client["reads"],
        "strip_rejected": client["rejected"],
        **raw["settled"],
    }
    shown = None
    if setup.strip is not None:
        seen = {int(n): t for n, t in client["frames"].items()}
        out.update(measures.frames(log["frames"], seen, begin["t"], end["t"]))
        shown = out["shown_fps"] * seconds
    events = client["keys"] if setup.typing is not None else client["drag"]
    if setup.typing is not None or setup.drag is not None:
        found = measures.inputs(events, begin["t"], end["t"])
        out.update(found)
        out["inputs_missed"] = found["inputs"] - found["inputs_shown"]
    if setup.drag is not None:
        out["positions_fps"] = out["inputs_shown"] / seconds
        out["moves_by_x_program"] = len(log["moves"])
        shown = out["inputs_shown"]
    if shown:
        out["bytes_per_shown"] = display_bytes / shown
        out["cpu_per_shown_ms"] = raw["cpu"][0] / shown * 1000
    if setup.prelude_s:
        out["first_update_s"] = client["first_invalidate_s"]
        out["full_screen_s"] = client["full_frame_s"]
        pixels = end["invalidated_pixels"] - begin["invalidated_pixels"]
        out["invalidated_mpix_per_s"] = pixels / seconds / 1e6
        pixels = end["refreshed_pixels"] - begin["refreshed_pixels"]
        out["refreshed_mpix_per_s"] = pixels / seconds / 1e6
        frames = end["refreshed_frames"] - begin["refreshed_frames"]
        out["refreshed_frames_per_s"] = frames / seconds
        pixels = end["changed_pixels"] - begin["changed_pixels"]
        out["changed_mpix_per_s"] = pixels / seconds / 1e6
    if setup.output_log is not None:
        out["terminal_bytes_per_s"] = measures.throughput(setup.output_log, begin["t"], end["t"])
    if setup.rebuild is not None:
        psnr = raw["motion_psnr"]
        out["motion_psnr_median"] = measures.percentile(psnr, 0.5)
        out["motion_psnr_min"] = min(psnr, default=None)
        out["motion_below_35db"] = sum(p < 35 for p in psnr) / len(psnr) if psnr else None
    return out


def jsonable(value: object) -> object:
    """``value`` with infinities (the PSNR of identical pictures) as the string "inf":
    JSON has no infinity."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return value


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=list(WORKLOADS),
        help="(several allowed; default all but idle)",
    )
    parser.add_argument(
        "--link",
        action="append",
        choices=list(LINKS),
        help=f"(several allowed; default {', '.join(DEFAULT_LINKS)})",
    )
    parser.add_argument("--servers", choices=["ours", "xspice", "both"], default="both")
    parser.add_argument("--ours-args", default="", help='e.g. "--video-codecs vp8"')
    parser.add_argument(
        "--xspice-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='an Xspice driver option, e.g. "SpiceStreamingVideo=off"',
    )
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured, per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="before measuring")
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=8.0,
        help="how long to wait for the screen to become exact",
    )
    parser.add_argument("--json", type=Path, help="write all figures here")
    parser.add_argument(
        "--check-link",
        action="store_true",
        help="measure the emulated links (cap, round trip) and exit",
    )
    args = parser.parse_args(argv)
    options = Options()
    width, height = (int(v) for v in args.size.split("x"))
    options.size = (width, height)
    options.seconds, options.warmup = args.seconds, args.warmup
    options.settle_timeout = args.settle_timeout
    return args, options


def check_links(names: list[str]) -> int:
    failed = 0
    for name in names:
        link = LINKS[name]
        if not link.emulated:
            continue
        result = links.check(link)
        failed += not result["ok"]
        print(
            f"{name}: down {result['down_mbit']:.2f} Mbit/s, up {result['up_mbit']:.2f} Mbit/s"
            f" (cap {link.rate_mbit}); round trip median {result['rtt_ms_median']:.2f} ms,"
            f" max {result['rtt_ms_max']:.2f} (expected {result['rtt_ms_expected']:.0f})"
            f" -> {'ok' if result['ok'] else 'NOT OK'}"
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args, options = parse_args(argv)
    link_names = args.link or list(DEFAULT_LINKS)
    if args.check_link:
        return check_links(link_names)
    chosen = args.workload or [name for name, w in WORKLOADS.items() if w.default]
    workloads = [WORKLOADS[name] for name in chosen]
    names = SERVERS if args.servers == "both" else (args.servers,)
    xspice_options = dict(option.split("=", 1) for option in args.xspice_option)
    results: dict[str, dict[str, dict[str, dict]]] = {}
    servers: dict[str, ServerUnderTest] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        options.workdir = Path(tmpdir)
        try:
            for name in names:
                taken = [int(s.display[1:]) for s in servers.values()]
                servers[name] = start(
                    name,
                    Path(tmpdir),
                    *options.size,
                    shlex.split(args.ours_args),
                    xspice_options,
                    taken,
                )
            for workload in workloads:
                for link_name in link_names:
                    for name in names:
                        print(f"{workload.name} / {link_name} / {name} ...", file=sys.stderr)
                        try:
                            figure = measure(workload, servers[name], LINKS[link_name], options)
                        except Exception as error:  # one failed run must not end the others
                            figure = {"error": f"{type(error).__name__}: {error}"}
                        by_link = results.setdefault(workload.name, {})
                        by_link.setdefault(link_name, {})[name] = figure
        finally:
            for server in servers.values():
                server.stop()
    width, height = options.size
    print(
        f"\nspice-gtk 0.42, {width}x{height}, {options.seconds:.0f} s measured per run;"
        f" ours: spice-server x11 {args.ours_args}".rstrip()
    )
    for workload in workloads:
        print()
        print(
            report.table(
                workload.name, workload.description, link_names, results.get(workload.name, {})
            )
        )
    if args.json:
        meta = {
            "size": [width, height],
            "seconds": options.seconds,
            "warmup": options.warmup,
            "ours_args": args.ours_args,
            "xspice_options": xspice_options,
        }
        document = jsonable({"settings": meta, "results": results})
        args.json.write_text(json.dumps(document, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
