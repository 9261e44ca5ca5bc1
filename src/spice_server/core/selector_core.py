"""SelectorCore: the core interface on a plain ``selectors`` loop, for programs with no loop."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .base import ChannelEventFunc, Core, EventMask, Timer, TimerFunc, Watch

log = logging.getLogger(__name__)


class SelectorCore(Core):
    """A small poll loop: ``run()`` until ``stop()``; or call ``run_once()`` from your own loop."""

    def __init__(self, on_channel_event: ChannelEventFunc | None = None) -> None:
        super().__init__(on_channel_event)
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        # Another thread's wake-up and the loop thread's close() must not cross: stopped
        # from elsewhere, the loop may return and close before that thread has written.
        self._wake_lock = threading.RLock()  # reentrant: a signal handler may call in
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- timers --------------------------------------------------------------------------

    def timer_add(self, func: TimerFunc, opaque: object = None) -> Timer:
        return Timer(func, opaque)

    def timer_start(self, timer: Timer, ms: int) -> None:
        # A restarted timer gets a new sequence number; stale heap entries are skipped.
        sequence = next(self._sequence)
        timer.handle = sequence
        heapq.heappush(self._timers, (time.monotonic() + ms / 1000.0, sequence, timer))

    def timer_cancel(self, timer: Timer) -> None:
        timer.handle = None

    def timer_remove(self, timer: Timer) -> None:
        # Its heap entry stays until it falls due; released, it holds nothing meanwhile.
        timer.handle = None
        timer.release()

    # -- watches -------------------------------------------------------------------------

    def watch_update_mask(self, watch: Watch, event_mask: EventMask) -> None:
        new = EventMask(event_mask)
        events = (selectors.EVENT_READ if new & EventMask.READ else 0) | (
            selectors.EVENT_WRITE if new & EventMask.WRITE else 0
        )
        registered = watch.mask != 0
        if events and registered:
            self._selector.modify(watch.fd, events, watch)
        elif events:
            self._selector.register(watch.fd, events, watch)
        elif registered:
            self._selector.unregister(watch.fd)
        watch.mask = new

    def watch_remove(self, watch: Watch) -> None:
        self.watch_update_mask(watch, EventMask(0))
        watch.release()

    # -- the loop ------------------------------------------------------------------------

    def call_soon_threadsafe(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` on the loop's thread at its next turn."""
        with self._wake_lock:
            self._calls.append((func, args))
            if self._closed:
                return  # the loop is gone: nothing will run it
            with contextlib.suppress(BlockingIOError):  # a full pipe wakes the loop anyway
                os.write(self._wake_w, b"\0")

    def stop(self) -> None:
        """Make ``run()`` return after the current turn; safe from any thread."""
        self._stopping = True
        self.call_soon_threadsafe(lambda: None)

    def run(self) -> None:
        """Run watches and timers until ``stop()`` is called."""
        self._stopping = False
        while not self._stopping:
            self.run_once()

    def run_once(self, timeout: float | None = None) -> None:
        """Wait for at most ``timeout`` seconds (or the next timer), then run what is due."""
        delay = self._next_timer_delay()
        if timeout is not None:
            delay = timeout if delay is None else min(delay, timeout)
        for key, events in self._selector.select(delay):
            watch = key.data
            if watch is None:
                self._drain_wakeups()
                continue
            for flag, event in (
                (selectors.EVENT_READ, EventMask.READ),
                (selectors.EVENT_WRITE, EventMask.WRITE),
            ):
                # A callback may have removed or changed this watch: ask it again each time.
                if events & flag and watch.mask & event:
                    self._call(watch.func, watch.fd, event, watch.opaque)
        self._run_calls()
        self._run_due_timers()

    def close(self) -> None:
        self._selector.close()
        with self._wake_lock:
            self._closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _next_timer_delay(self) -> float | None:
        while self._timers and self._timers[0][2].handle != self._timers[0][1]:
            heapq.heappop(self._timers)
        if self._calls:
            return 0.0
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, sequence, timer = heapq.heappop(self._timers)
            if timer.handle == sequence:
                self._call(timer.fire)

    def _run_calls(self) -> None:
        for _ in range(len(self._calls)):
            func, args = self._calls.popleft()
            self._call(func, *args)

    @staticmethod
    def _call(func: Callable[..., Any], *args: Any) -> None:
        """Run a callback; like asyncio, a failing callback is logged and the loop goes on."""
        try:
            func(*args)
        except Exception:
            log.exception("exception in a SelectorCore callback")

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
