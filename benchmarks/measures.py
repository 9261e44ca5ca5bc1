"""From what the workload, the client and /proc recorded to the figures in the table.

Everything is on one machine and one clock (CLOCK_MONOTONIC): the workload notes when
each frame was on the X screen, the client when each frame number first showed in its
framebuffer. The measuring window is [start, end) of the client's marks; a frame belongs
to it when it was painted in it, and counts as shown if the client ever showed it (even
after the window closed: a late frame is slow, not missing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def frames(
    painted: Sequence[Sequence[float]], shown: dict[int, float], start: float, end: float
) -> dict:
    """Frame rate, latency and shown share of numbered frames."""
    seconds = end - start
    paint_time = {int(n): t for n, t in painted}
    in_window = [n for n, t in paint_time.items() if start <= t < end]
    latencies = [shown[n] - paint_time[n] for n in in_window if n in shown]
    return {
        "painted_fps": len(in_window) / seconds,
        "shown_fps": sum(1 for t in shown.values() if start <= t < end) / seconds,
        "shown_share": len(latencies) / len(in_window) if in_window else None,
        "latency_p50_ms": ms(percentile(latencies, 0.5)),
        "latency_p95_ms": ms(percentile(latencies, 0.95)),
        "misread": sum(1 for n in shown if n not in paint_time),
        # Each frame of the window: number, ms into the window, latency ms (None: never).
        "timeline": [
            [n, round((paint_time[n] - start) * 1000, 1), rounded(shown.get(n), paint_time[n])]
            for n in in_window
        ],
    }


def inputs(events: Sequence[Sequence[float | None]], start: float, end: float) -> dict:
    """Key-to-echo or pointer-to-window times: [sent, latency or None] pairs."""
    sent = [(t, lat) for t, lat in events if t is not None and start <= t < end]
    latencies = [lat for _, lat in sent if lat is not None]
    return {
        "inputs": len(sent),
        "inputs_shown": len(latencies),
        "input_p50_ms": ms(percentile(latencies, 0.5)),
        "input_p95_ms": ms(percentile(latencies, 0.95)),
    }


def rounded(seen: float | None, painted: float) -> float | None:
    return None if seen is None else round((seen - painted) * 1000, 1)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def difference(shown: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Share of pixels that differ, and PSNR in dB (inf when identical), over R, G, B."""
    a = np.stack([(shown >> s) & 0xFF for s in (16, 8, 0)]).astype(np.float64)
    b = np.stack([(truth >> s) & 0xFF for s in (16, 8, 0)]).astype(np.float64)
    differing = float(np.count_nonzero(shown != truth)) / shown.size
    mse = float(np.mean((a - b) ** 2))
    return differing, math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def throughput(log: Path, start: float, end: float) -> float | None:
    """Bytes per second a terminal took in from ``start`` to ``end`` (CLOCK_MONOTONIC),
    from workloads/throughput.py's log; None if the log does not span the interval."""
    samples = np.loadtxt(log, ndmin=2) if log.exists() else np.empty((0, 2))
    if len(samples) < 2 or samples[0, 0] > start or samples[-1, 0] < end:
        return None
    at = np.interp([start, end], samples[:, 0], samples[:, 1])
    return float(at[1] - at[0]) / (end - start)
