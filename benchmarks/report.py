"""The benchmark's table: per workload, one row per measure, one column per link, each
cell "ours / Xspice (ratio)", the ratio being ours / Xspice's."""

from __future__ import annotations

import math
from collections.abc import Sequence

# (key, label, format, scale): the figure is results[key] * scale.
ROWS = [
    ("shown_fps", "frames shown /s", "{:.1f}", 1),
    ("painted_fps", "frames painted /s", "{:.1f}", 1),
    ("shown_share", "share of frames shown", "{:.0%}", 1),
    ("latency_p50_ms", "paint→pixels p50 ms", "{:.0f}", 1),
    ("latency_p95_ms", "paint→pixels p95 ms", "{:.0f}", 1),
    ("positions_fps", "positions shown /s", "{:.1f}", 1),
    ("input_p50_ms", "input→pixels p50 ms", "{:.1f}", 1),
    ("input_p95_ms", "input→pixels p95 ms", "{:.1f}", 1),
    ("inputs_missed", "inputs never shown", "{:.0f}", 1),
    ("first_update_s", "connect→first update s", "{:.2f}", 1),
    ("full_screen_s", "connect→whole screen s", "{:.2f}", 1),
    ("refreshed_mpix_per_s", "refreshed Mpixel /s (once a 60 Hz frame)", "{:.1f}", 1),
    ("changed_mpix_per_s", "changed Mpixel /s (60 Hz samples)", "{:.1f}", 1),
    ("refreshed_frames_per_s", "60 Hz frames with a change /s", "{:.1f}", 1),
    ("invalidated_mpix_per_s", "invalidated Mpixel /s (overdraw too)", "{:.1f}", 1),
    ("terminal_bytes_per_s", "terminal output taken in, kB /s", "{:.0f}", 1e-3),
    ("display_bytes_per_s", "display kB /s", "{:.0f}", 1e-3),
    ("bytes_per_shown", "kB per shown frame", "{:.1f}", 1e-3),
    ("cpu_share", "server CPU, % of a core", "{:.0f}", 100),
    ("cpu_per_shown_ms", "server CPU ms per frame", "{:.1f}", 1),
    ("motion_psnr_median", "PSNR in motion, median dB", "{:.1f}", 1),
    ("motion_psnr_min", "PSNR in motion, lowest dB", "{:.1f}", 1),
    ("motion_below_35db", "reads in motion under 35 dB", "{:.0%}", 1),
    ("differing_at_1s", "pixels wrong 1 s after", "{:.2%}", 1),
    ("psnr_at_1s", "PSNR 1 s after, dB", "{:.1f}", 1),
    ("exact_after_s", "still→exact s", "{:.2f}", 1),
]


def cell(value: float | None, fmt: str, scale: float) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "exact"
    return fmt.format(value * scale)


def ratio(ours: float | None, ref: float | None) -> str:
    if ours is None or ref is None or ref == 0 or math.isinf(ours) or math.isinf(ref):
        return ""
    return f" ({ours / ref:.2f})"


def table(workload: str, description: str, links: Sequence[str], results: dict) -> str:
    """``results[link][server]`` is a measure dict (or {"error": ...})."""
    lines = [f"{workload}: {description}", ""]
    header = ["measure", *(f"{link}: ours / Xspice (ratio)" for link in links)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, label, fmt, scale in ROWS:
        cells, present = [label], False
        for link in links:
            ours = results.get(link, {}).get("ours", {}).get(key)
            ref = results.get(link, {}).get("xspice", {}).get(key)
            present = present or ours is not None or ref is not None
            cells.append(f"{cell(ours, fmt, scale)} / {cell(ref, fmt, scale)}{ratio(ours, ref)}")
        if present:
            lines.append("| " + " | ".join(cells) + " |")
    for link in links:
        for server, measure in results.get(link, {}).items():
            if "error" in measure:
                lines.append(f"{link}, {server}: failed: {measure['error']}")
    return "\n".join(lines)
