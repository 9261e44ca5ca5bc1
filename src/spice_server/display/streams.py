"""Deciding which areas are video: stream detection.

An area becomes a video stream when it keeps changing at a video-like rate and its content
is photographic (see content.py). Then each change goes to the client as one frame of a
lossy video stream instead of a lossless image; when the area has been still for a while
the stream ends and the area is sent losslessly once more, so nothing lossy stays.

A moving region rarely arrives as one rectangle per frame: a program may paint a frame in
bands (Xlib splits large images into several requests), and a capture may take the top of
one frame and the bottom of the next. So the area is the union of the boxes that land on
or next to each other over the last STREAK batches of damage, not one batch's box. It
becomes a stream once it has changed in STREAK batches in a row (gaps under MAX_GAP_S),
is at least MIN_SIZE pixels each way, its last RECENT batches cover nearly all of it (a
shape bouncing over a still background covers little of its path, and stays lossless),
and its pixels are photographic.

A stream then holds still while it moves: any damage on it is one of its frames (if it
covers a fair share of it), and damage reaching beyond it grows it to the union, at most
once per GROW_EVERY_S, since each new area is a new stream at the clients. Whatever of a
moving region lies outside the stream would be sent as still images of another frame
than the stream shows: a visible seam, which is why the area is the whole region.

Regions far apart (two videos side by side) are streams of their own, each for as long
as it moves: one stream over both would send the still screen between them as video too.
Streams never overlap; a stream that grows onto another's area takes it over.

Within its area, a stream's clip is where its frames draw: a window over a video (a
terminal, a chat) is left out once none of the last CLIP_FRAMES frames drew on it, so
clients keep it exact instead of painting it from every lossy frame, and what is drawn in
it goes as images. A part left out comes back when CLIP_BACK of those frames draw on it
(the window closed), not for one key's echo.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
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
MIN_IDLE_S = 0.2
IDLE_FRAMES = 10
MAX_CANDIDATES = 8
MAX_STREAMS = 4  # at once on a display: each costs every client an encoder
NEAR = 16  # boxes this close belong to one region (the x11 capture's tile size)
RECENT = 3  # batches whose damage must cover ...
COVERED = 0.75  # ... this share of a candidate's area for it to become a stream
FRAME_SHARE = 0.1  # damage on a stream counts as its frame from this share of its area
GROW_EVERY_S = 1.0  # a stream's area grows at most this often
CLIP_FRAMES = 4  # a stream's last frames that say where it draws
CLIP_BACK = 3  # of those, how many must draw on a part left out to take it back in
MAX_CLIP_RECTS = 16  # a clip of more pieces is not kept: the stream draws all its area

_stream_ids = itertools.count(1)

#: The current pixels of a rectangle of the screen.
ReadPixels = Callable[[Rect], np.ndarray]


def covered_area(rects: Iterable[Rect], within: Rect) -> int:
    """How many pixels of ``within`` the rectangles cover together (overlaps once)."""
    clipped = [r for r in (rect.intersect(within) for rect in rects) if not r.is_empty()]
    if not clipped:
        return 0
    xs = sorted({x for r in clipped for x in (r.left, r.right)})
    ys = sorted({y for r in clipped for y in (r.top, r.bottom)})
    mask = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for r in clipped:
        mask[ys.index(r.top) : ys.index(r.bottom), xs.index(r.left) : xs.index(r.right)] = True
    widths, heights = np.diff(np.array(xs)), np.diff(np.array(ys))
    return int((mask * heights[:, None] * widths[None, :]).sum())


def _near(a: Rect, b: Rect) -> bool:
    grown = Rect(a.left - NEAR, a.top - NEAR, a.right + NEAR, a.bottom + NEAR)
    return not grown.intersect(b).is_empty()


def _union(rects: Iterable[Rect]) -> Rect:
    it = iter(rects)
    result = next(it)
    for rect in it:
        result = result.union(rect)
    return result


@dataclass
class Candidate:
    """A region that keeps changing: its damage's box in each of its last batches."""

    boxes: deque[Rect] = field(default_factory=lambda: deque(maxlen=STREAK))
    recent: deque[list[Rect]] = field(default_factory=lambda: deque(maxlen=RECENT))
    streak: int = 0
    last: float = 0.0
    first: float = 0.0  # when its streak began
    batch: list[Rect] = field(default_factory=list)  # this batch's rects on it
    # The union of boxes and batch, kept: each rect of a batch asks each candidate for it.
    _rect: Rect | None = field(default=None, repr=False)

    @property
    def rect(self) -> Rect:
        if self._rect is None:
            self._rect = _union([*self.boxes, *self.batch])
        return self._rect

    def claim(self, rect: Rect) -> None:
        """Count ``rect`` in this batch."""
        self.batch.append(rect)
        if self._rect is not None:
            self._rect = self._rect.union(rect)

    def take_batch(self, now: float) -> None:
        """Count the rects of this batch as one more change of the region."""
        if now - self.last > MAX_GAP_S:
            self.boxes.clear()
            self.recent.clear()
            self.streak = 0
            self.first = now
        self.boxes.append(_union(self.batch))
        self.recent.append(self.batch)
        self.batch, self._rect = [], None
        self.streak += 1
        self.last = now

    def is_video_shaped(self) -> bool:
        """Big enough, and its last batches changed nearly all of it."""
        rect = self.rect
        if rect.width < MIN_SIZE or rect.height < MIN_SIZE:
            return False
        recent = [r for batch in self.recent for r in batch]
        return covered_area(recent, rect) >= COVERED * rect.area


@dataclass
class Stream:
    """An area being sent as video. ``serial`` changes whenever the area or stream changes."""

    rect: Rect
    last: float
    serial: int = field(default_factory=lambda: next(_stream_ids))
    interval: float = MAX_GAP_S  # between its frames, smoothed
    since: float | None = None  # when its area was set (default: ``last``)
    grown: bool = False  # its area grew from an earlier stream's
    clip: tuple[Rect, ...] = ()  # the parts of its area its frames draw on (none: all)
    drawn: deque[list[Rect]] = field(default_factory=lambda: deque(maxlen=CLIP_FRAMES))

    def __post_init__(self) -> None:
        if self.since is None:
            self.since = self.last

    @property
    def parts(self) -> tuple[Rect, ...]:
        """Where its frames draw: its clip, or all its area."""
        return self.clip or (self.rect,)

    def frame(self, now: float, drawn: list[Rect]) -> None:
        """A new frame at ``now``, drawn on ``drawn``."""
        gap = min(now - self.last, IDLE_S)
        if gap > 0:
            self.interval += (gap - self.interval) / 4
        self.last = now
        self.drawn.append(drawn)
        if len(self.drawn) == CLIP_FRAMES:
            self.clip = clip_of(self.rect, self.drawn, self.clip)

    def ends_at(self) -> float:
        """When it ends unless a frame comes before."""
        return self.last + min(IDLE_S, max(MIN_IDLE_S, IDLE_FRAMES * self.interval))


class StreamDetector:
    """Fed with each batch of damage; says which areas are streams now.

    A pure state machine: time comes in with each batch, pixels through ``read``.
    Each moving region far enough from the others (two videos side by side) is a stream
    of its own, up to MAX_STREAMS at once; streams never overlap.
    """

    def __init__(self, photographic_only: bool = True) -> None:
        self.candidates: list[Candidate] = []
        self.streams: list[Stream] = []
        self.photographic_only = photographic_only

    def observe(
        self, rects: list[Rect], now: float, read: ReadPixels, bounds: Rect | None = None
    ) -> list[Stream]:
        """Account for one batch of damage at time ``now``; return the active streams.

        ``read(rect)`` returns the current pixels of a rect; it is called only to check a
        candidate's content at the moment it would become a stream. ``bounds``: the
        screen, which a stream's area stays within.
        """
        outside: list[Rect] = []
        on_stream: dict[int, list[Rect]] = {}
        for rect in rects:
            # Damage on a stream is its (the most overlapped one's) frame.
            hits = [s for s in self.streams if not rect.intersect(s.rect).is_empty()]
            if hits:
                owner = max(hits, key=lambda s: rect.intersect(s.rect).area)
                on_stream.setdefault(owner.serial, []).append(rect)
            else:
                outside.append(rect)
        for stream in list(self.streams):
            if stream.serial in on_stream and stream in self.streams:
                self._follow(stream, on_stream[stream.serial], now, bounds)
        self._count(outside, now, read, bounds)
        self.streams = [s for s in self.streams if now <= s.ends_at()]
        return list(self.streams)

    def changing(self, rect: Rect) -> bool:
        """Whether ``rect`` is on a region that changed in the last batches one after the
        other, or on a stream: a video, whose pixels may change while they are sent."""
        regions = [c.rect for c in self.candidates if c.streak > 1]
        regions += [s.rect for s in self.streams]
        return any(not rect.intersect(region).is_empty() for region in regions)

    def _follow(self, stream: Stream, rects: list[Rect], now: float, bounds: Rect | None) -> None:
        """Damage on the stream: a frame of it, and maybe a reason to grow it."""
        if covered_area(rects, stream.rect) >= FRAME_SHARE * stream.rect.area:
            stream.frame(now, rects)
        area = _even(_union([stream.rect, *rects]), bounds)
        assert stream.since is not None
        if area == stream.rect or now - stream.since < GROW_EVERY_S:
            return
        index = self.streams.index(stream)
        if stream.grown and now - stream.since < 2 * GROW_EVERY_S:
            # Growing again at once: a thing that moves (a dragged window), no video in
            # place. Ended, its area gets its motion found again (the hot areas skip it).
            del self.streams[index]
            return
        # A region that grew onto another stream's is one region now: one stream.
        others = [
            s for s in self.streams if s is not stream and not s.rect.intersect(area).is_empty()
        ]
        if others:
            area = _even(_union([area, *(s.rect for s in others)]), bounds)
            self.streams = [s for s in self.streams if s not in others]
            index = self.streams.index(stream)
        self.streams[index] = Stream(area, stream.last, interval=stream.interval, grown=True)

    def _count(self, rects: list[Rect], now: float, read: ReadPixels, bounds: Rect | None) -> None:
        # The longest-running candidates claim the damage near them first.
        self.candidates.sort(key=lambda c: -c.streak)
        for rect in rects:
            owner = next((c for c in self.candidates if _near(c.rect, rect)), None)
            if owner is None:
                owner = Candidate(first=now)
                self.candidates.append(owner)
            owner.claim(rect)
        for candidate in [c for c in self.candidates if c.batch]:
            candidate.take_batch(now)
            if candidate.streak < STREAK or len(self.streams) >= MAX_STREAMS:
                continue
            if not candidate.is_video_shaped():
                continue
            area = _even(candidate.rect, bounds)
            if any(not area.intersect(s.rect).is_empty() for s in self.streams):
                continue  # part of a stream's region: that stream grows over it instead
            self.candidates.remove(candidate)
            pixels = read(candidate.rect) if self.photographic_only else None
            if pixels is None or is_photographic(pixels):
                interval = (now - candidate.first) / max(1, candidate.streak - 1)
                self.streams.append(Stream(area, now, interval=interval))
        self.candidates = [c for c in self.candidates if now - c.last <= MAX_GAP_S]
        del self.candidates[:-MAX_CANDIDATES]


def clip_of(area: Rect, frames: Iterable[list[Rect]], clip: tuple[Rect, ...]) -> tuple[Rect, ...]:
    """The parts of ``area`` a stream's last ``frames`` (each the rectangles it drew on)
    say it draws on, given its ``clip`` so far (none: all of it). A part in the clip stays
    while any of them drew on it; a part left out comes back once CLIP_BACK did. None
    (all of ``area``) when nothing would be left out, or it takes over MAX_CLIP_RECTS."""
    batches = [[p for r in batch if not (p := r.intersect(area)).is_empty()] for batch in frames]
    inside = clip or (area,)
    every = [r for batch in batches for r in batch] + [*inside, area]
    xs = sorted({x for r in every for x in (r.left, r.right)})
    ys = sorted({y for r in every for y in (r.top, r.bottom)})
    column = {x: i for i, x in enumerate(xs)}
    row = {y: i for i, y in enumerate(ys)}

    def cells(rects: Iterable[Rect]) -> np.ndarray:
        mask = np.zeros((len(ys) - 1, len(xs) - 1), dtype=np.int32)
        for r in rects:
            mask[row[r.top] : row[r.bottom], column[r.left] : column[r.right]] = 1
        return mask

    drawn = cells(())
    for batch in batches:
        drawn += cells(batch)
    keep = np.where(cells(inside) > 0, drawn >= 1, drawn >= CLIP_BACK)
    if keep.all() or not keep.any():
        return ()
    rects = _cell_rects(keep, xs, ys)
    return () if len(rects) > MAX_CLIP_RECTS else tuple(rects)


def _cell_rects(keep: np.ndarray, xs: list[int], ys: list[int]) -> list[Rect]:
    """The True cells of a grid (cell (j, i) spans xs[i]..xs[i+1], ys[j]..ys[j+1]) as
    rectangles: each row's runs, a run carried down while the rows below repeat it."""
    done: list[Rect] = []
    open_runs: dict[tuple[int, int], int] = {}  # a run of cells -> the row it began on
    for j in range(keep.shape[0] + 1):
        runs: set[tuple[int, int]] = set()
        if j < keep.shape[0]:
            edges = np.flatnonzero(np.diff(np.concatenate(([0], keep[j].astype(np.int8), [0]))))
            runs = {(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)}
        for run in [run for run in open_runs if run not in runs]:
            done.append(Rect(xs[run[0]], ys[open_runs.pop(run)], xs[run[1]], ys[j]))
        for run in runs - open_runs.keys():
            open_runs[run] = j
    return sorted(done, key=lambda r: (r.top, r.left))


def _even(rect: Rect, bounds: Rect | None = None) -> Rect:
    """Codecs want even sizes (4:2:0 chroma): add a pixel where the screen has room,
    otherwise trim one."""
    right, bottom = rect.right, rect.bottom
    if rect.width % 2:
        right += 1 if bounds is not None and right < bounds.right else -1
    if rect.height % 2:
        bottom += 1 if bounds is not None and bottom < bounds.bottom else -1
    return Rect(rect.left, rect.top, right, bottom)
