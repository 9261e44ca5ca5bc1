"""The screen into the Display: what DAMAGE reports, grabbed through MIT-SHM, never waiting.

A capture is two exchanges with X, each followed by a fence (see ``connection``) so that
the loop serves its clients while X works, however busy a flooding client keeps it:
first the damage region, then the pixels of all its rectangles at once, each at its own
place in the shared segment. One capture at most is being fetched, and one starts at
most every FRAME_MS; damage reported meanwhile is taken by the next one. The framebuffer
compares what it is given, so a generous rectangle costs a capture, not a send. Input
injected through XTEST lifts the frame pacing for INPUT_WINDOW_S: the program answers a
key some milliseconds later, often after a capture of other damage has begun, and its
echo must not then wait for the next frame slot, nor for the comparison of a large
capture: in that window the next capture begins as soon as X has sent one's pixels
(under a flooding terminal a capture took 7-15 ms, fetch and comparison one after the
other, and an echo drawn meanwhile waited for all of it and then a whole capture more).
For the same reason small rectangles go to the Display first, and large ones (a video,
a pan: costly to compare) in a later turn of the loop, so that an echo is on its way to
the clients before they are looked at; when the next capture has begun meanwhile, in
the turn after its small rectangles (the large ones wait in the shared segment, the next
capture's pixels placed behind them, or in their place if it grabs their boxes again:
a flooding terminal's box was written twice in a row, 10 ms of the loop each). Keys
typed beside a 60 fps pan waited 3.6 ms p50 from XTEST to the Display, about half of
them behind a 4 ms comparison; now 1.9 ms.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import xcffib

from ...core.base import Core, Timer
from ...interfaces.display import Display
from ...protocol.rect import Rect
from .connection import XConnection, XEvent
from .damage import Box, DamageRegion
from .shm import ShmCapture

log = logging.getLogger(__name__)

FRAME_MS = 16  # at most one capture per frame; damage in between is merged
INPUT_WINDOW_S = 0.06  # after an input, how long captures skip their frame slot
SMALL_PIXELS = 128 * 128  # rectangles up to this size go to the Display first

Placed = list[tuple[Box, int]]
"""Areas to grab, each with its byte offset in the shared segment."""


class ScreenCapture:
    """Keeps ``display`` equal to the X screen; ``handle`` takes DAMAGE's events."""

    def __init__(self, x: XConnection, display: Display) -> None:
        self.x = x
        self.display = display
        width, height = display.width, display.height
        self.damage = DamageRegion(x.conn, x.root, width, height)  # before the first grab
        self.shm = ShmCapture(x.conn, x.root, width, height)
        display.update(self.shm.grab(Rect(0, 0, width, height)), diff=False)
        self.core: Core | None = None
        self._timer: Timer | None = None
        self._rest_timer: Timer | None = None  # writes the large rectangles of a capture
        self._rest: Placed = []
        self._rest_generation = 0
        self._armed = False  # the timer runs
        self._busy = False  # a capture is being fetched from X (its writes may follow later)
        self._dirty = False  # damage reported since the last capture began
        self._next = 0.0  # when the next capture may begin (x.clock)
        self._eager_until = 0.0  # until then (x.clock) captures do not wait: input went in
        self._generation = 0  # a resize drops the captures begun before it

    def start(self, core: Core) -> None:
        self.core = core
        self._timer = core.timer_add(lambda opaque: self.x.guarded(self._begin))
        self._rest_timer = core.timer_add(lambda opaque: self.x.guarded(self._write_rest))

    def close(self) -> None:
        if self.core is not None:
            for timer in (self._timer, self._rest_timer):
                if timer is not None:
                    self.core.timer_remove(timer)
        self._timer = self._rest_timer = None
        if not self.x.lost:
            self.shm.close()

    def handle(self, event: XEvent) -> bool:
        if not self.damage.is_notify(event):
            return False
        self._dirty = True
        self._schedule()
        return True

    def input_injected(self) -> None:
        """A key or pointer event went in: what it changes on screen is what the user waits
        for, so the capture that takes it need not wait for its frame slot."""
        self._next = 0.0
        self._eager_until = self.x.clock() + INPUT_WINDOW_S
        if self._armed and self.core is not None and self._timer is not None:
            self.core.timer_start(self._timer, 0)

    def resize(self, width: int, height: int) -> None:
        """The X screen changed size: a new segment, and the whole new screen (waits for X).

        A screen that shrank again before this reads it (xrandr called in a loop) refuses
        the read: then nothing changes here, and the event of the newer size follows.
        (Before, the refusal went up to the event pump: a warning in the log, and the
        rest of the event's handling left undone.)
        """
        shm = ShmCapture(self.x.conn, self.x.root, width, height)
        try:
            pixels = shm.grab(Rect(0, 0, width, height))
        except xcffib.ConnectionException:
            raise
        except xcffib.XcffibException as exc:
            shm.close()
            log.info(
                "the X screen left %dx%d before it was read (%s)", width, height, type(exc).__name__
            )
            return
        self._generation += 1
        self.shm.close()
        self.shm = shm
        self.damage.resize(width, height)
        self.display.resize(width, height, pixels)
        log.info("the X screen is now %dx%d", width, height)

    # -- one capture, in three steps ------------------------------------------------------

    def _schedule(self) -> None:
        if self._busy or self._armed or self.core is None or self._timer is None:
            return
        self._armed = True
        now = self.x.clock()
        delay = 0.0 if now < self._eager_until else max(0.0, self._next - now)
        self.core.timer_start(self._timer, int(delay * 1000))

    def _begin(self) -> None:
        self._armed, self._dirty, self._busy = False, False, True
        # Slots keep their beat: a capture that begins a little late (the loop was busy
        # sending the last one) does not put the next ones back, or a flooding terminal
        # is captured 55 times a second, not 60. Off its slot by more (a timer fires up
        # to a ms early), or after a pause or an input, the beat starts again from now.
        now, frame = self.x.clock(), FRAME_MS / 1000
        on_beat = -frame / 4 <= now - self._next < frame / 2
        self._next = (self._next if on_beat else now) + frame
        generation = self._generation
        with self._ends_on_error():
            cookie = self.damage.request()
            self.x.fence(lambda: self._region_in(cookie, generation))

    def _region_in(self, cookie: xcffib.Cookie, generation: int) -> None:
        with self._ends_on_error():
            boxes = self.damage.boxes(cookie)
            if generation != self._generation or not boxes:
                self._flush_rest()
                self._fetched()
                self._finish()
                return
            # Behind what waits to be written in the segment, or once that is written;
            # what a box of this capture grabs anew waits no more (its pixels are older).
            anew = [box.rect for box in boxes if not box.drawn]
            self._rest = [
                (old, offset)
                for old, offset in self._rest
                if not any(old.rect.intersect(rect) == old.rect for rect in anew)
            ]
            placed = self._place(boxes, self._rest_end())
            if placed is None:
                self._flush_rest()
                # If they do not fit even so (boxes may overlap), their bounding box does.
                whole = Box(functools.reduce(Rect.union, [box.rect for box in boxes]))
                placed = self._place(boxes, 0) or [(whole, 0)]
            cookies = [self.shm.request(box.rect, offset) for box, offset in placed]
            self.x.fence(lambda: self._pixels_in(placed, cookies, generation))

    def _pixels_in(self, placed: Placed, cookies: list[xcffib.Cookie], generation: int) -> None:
        grabbed: Placed = []
        with self._ends_on_error():
            for (box, offset), cookie in zip(placed, cookies, strict=True):
                try:
                    cookie.reply()
                except xcffib.ConnectionException:
                    raise
                except xcffib.XcffibException as exc:  # e.g. the screen shrank meanwhile
                    log.debug("X refused a grab of %s: %s", box.rect, type(exc).__name__)
                    continue
                grabbed.append((box, offset))
        self._fetched()
        follows = self._busy  # the next capture began: input is being answered
        rest = False
        try:
            if generation != self._generation:
                return
            grabbed.sort(key=lambda placed: placed[0].rect.area)
            small = [item for item in grabbed if item[0].rect.area <= SMALL_PIXELS]
            self._write(small)
            large = grabbed[len(small) :]
            if self._rest_generation != generation:
                self._rest = []  # from before a resize: never written
            waiting = self._rest + large  # an earlier capture's first: older pixels
            if (
                small
                and waiting
                and (self._rest or not follows)
                and self.core is not None
                and self._rest_timer is not None
            ):
                # Written in the next turn of the loop, once the clients are sent the small
                # ones (an echo); the segment keeps their pixels until then.
                self._rest, self._rest_generation, rest = waiting, generation, True
                self.core.timer_start(self._rest_timer, 0)
                return
            self._flush_rest()
            if large and follows:
                # The next capture writes them after its own small rectangles (an echo).
                self._rest, self._rest_generation = large, generation
            else:
                self._write(large)
        finally:
            if not rest:
                self._finish()

    def _write(self, placed: Placed) -> None:
        for box, offset in placed:
            rect = box.rect
            self.display.update(self.shm.pixels(rect, offset), rect.left, rect.top, drawn=box.drawn)

    def _write_rest(self) -> None:
        try:
            self._flush_rest()
        finally:
            self._finish()

    def _flush_rest(self) -> None:
        """Write the large rectangles a capture left for later, if they still wait."""
        rest, self._rest = self._rest, []
        if rest and self._rest_generation == self._generation:  # not resized meanwhile
            self._write(rest)

    def _rest_end(self) -> int:
        """Where in the segment the rectangles waiting to be written end (0: none)."""
        if not self._rest or self._rest_generation != self._generation:
            return 0
        return max(offset + box.rect.area * 4 for box, offset in self._rest)

    def _fetched(self) -> None:
        """X is done with this capture. While input is being answered the next one begins
        now, if there is damage for it: its region comes back while these pixels are
        compared and sent (an echo drawn meanwhile is not kept waiting for that too; the
        segment they are in is written out before it is filled again)."""
        self._busy = False
        now = self.x.clock()
        if self._dirty and not self._armed and now < self._eager_until and self.core is not None:
            self._begin()

    def _finish(self) -> None:
        """This capture's pixels are written: the next may begin when its slot comes."""
        if self._dirty:
            self._schedule()

    @contextmanager
    def _ends_on_error(self) -> Iterator[None]:
        """A step of the fetch that raises ends its capture (the next damage starts
        another)."""
        try:
            yield
        except BaseException:
            self._busy = False
            if self._rest and self.core is not None and self._rest_timer is not None:
                self.core.timer_start(self._rest_timer, 0)  # no capture follows to write them
            self._finish()
            raise

    def _place(self, boxes: list[Box], start: int) -> Placed | None:
        """Each box at its own offset in the segment from ``start``; None if they do not
        all fit there."""
        placed, offset = [], start
        for box in boxes:
            placed.append((box, offset))
            offset += box.rect.area * 4
        return placed if offset <= self.shm.size else None
