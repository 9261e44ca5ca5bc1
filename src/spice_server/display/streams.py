"""Deciding which areas are video: stream detection.

An area becomes a video stream when the same rectangle keeps changing at a video-like rate
and its content is photographic (see content.py). Then each change goes to the client as
one frame of a lossy video stream instead of a lossless image; when the area has been
still for a while the stream ends and the area is sent losslessly once more, so nothing
lossy stays.

The rules, in the spirit of libspice's: at least MIN_SIZE pixels each way, STREAK updates
in a row with gaps under MAX_GAP_S, in the same place (IoU at least SAME_PLACE), and
photographic pixels. A moving rectangle (a dragged window, a bouncing shape) is not in the
same place from one frame to the next, so it stays lossless.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..protocol.rect import Rect
from .content import is_photographic

MIN_SIZE = 96
STREAK = 10
MAX_GAP_S = 0.2
# A stream without a frame for IDLE_FRAMES of its own frame intervals, within these bounds,
# ends and its area is repainted exact: a 60 fps video that stops is exact soon after,
# and a slower one is not ended between two of its frames.
IDLE_S = 0.4
MIN_IDLE_S = 0.25
IDLE_FRAMES = 10
SAME_PLACE = 0.9
MAX_CANDIDATES = 8

_stream_ids = itertools.count(1)

#: The current pixels of a rectangle of the screen.
ReadPixels = Callable[[Rect], np.ndarray]


def overlap(a: Rect, b: Rect) -> float:
    """Intersection over union of two rectangles."""
    inter = a.intersect(b).area
    return inter / (a.area + b.area - inter) if inter else 0.0


@dataclass
class Candidate:
    rect: Rect
    streak: int = 1
    last: float = 0.0
    first: float = 0.0  # when its streak began


@dataclass
class Stream:
    """An area being sent as video. ``serial`` changes whenever the area or stream changes."""

    rect: Rect
    last: float
    serial: int = field(default_factory=lambda: next(_stream_ids))
    interval: float = MAX_GAP_S  # between its frames, smoothed

    def frame(self, now: float) -> None:
        """A new frame at ``now``."""
        gap = min(now - self.last, IDLE_S)
        if gap > 0:
            self.interval += (gap - self.interval) / 4
        self.last = now

    def ends_at(self) -> float:
        """When it ends unless a frame comes before."""
        return self.last + min(IDLE_S, max(MIN_IDLE_S, IDLE_FRAMES * self.interval))


class StreamDetector:
    """Fed with each batch of damage; says which area, if any, is a stream now."""

    def __init__(self, photographic_only: bool = True) -> None:
        self.candidates: list[Candidate] = []
        self.stream: Stream | None = None
        self.photographic_only = photographic_only

    def observe(self, rects: list[Rect], now: float, read: ReadPixels) -> Stream | None:
        """Account for one batch of damage at time ``now``; return the active stream.

        ``read(rect)`` returns the current pixels of a rect; it is called only to check a
        candidate's content at the moment it would become a stream.
        """
        stream = self.stream
        for rect in rects:
            if stream is not None and overlap(rect, stream.rect) >= SAME_PLACE:
                stream.frame(now)
                continue
            if rect.width < MIN_SIZE or rect.height < MIN_SIZE:
                continue
            self._count(rect, now, read)
        if self.stream is not None and now > self.stream.ends_at():
            self.stream = None
        return self.stream

    def _count(self, rect: Rect, now: float, read: ReadPixels) -> None:
        for candidate in self.candidates:
            if overlap(rect, candidate.rect) >= SAME_PLACE:
                if now - candidate.last > MAX_GAP_S:
                    candidate.streak = 0
                    candidate.first = now
                candidate.streak += 1
                candidate.last = now
                if candidate.streak >= STREAK:
                    self.candidates.remove(candidate)
                    pixels = read(candidate.rect) if self.photographic_only else None
                    if pixels is None or is_photographic(pixels):
                        interval = (now - candidate.first) / max(1, candidate.streak - 1)
                        self.stream = Stream(_even(candidate.rect), now, interval=interval)
                return
        self.candidates.append(Candidate(rect, 1, now, now))
        del self.candidates[:-MAX_CANDIDATES]


def _even(rect: Rect) -> Rect:
    """Codecs want even sizes (4:2:0 chroma); trim a pixel where needed."""
    return Rect(rect.left, rect.top, rect.right - rect.width % 2, rect.bottom - rect.height % 2)
