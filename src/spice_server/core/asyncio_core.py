"""AsyncioCore: the core interface on an asyncio event loop (the default)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .base import ChannelEventFunc, Core, EventMask, Timer, TimerFunc, Watch


class AsyncioCore(Core):
    """Runs the server's watches and timers on an asyncio loop.

    The loop is the one given, or else the running loop at the first call that needs it.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        on_channel_event: ChannelEventFunc | None = None,
    ) -> None:
        super().__init__(on_channel_event)
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def timer_add(self, func: TimerFunc, opaque: object = None) -> Timer:
        return Timer(func, opaque)

    def timer_start(self, timer: Timer, ms: int) -> None:
        self.timer_cancel(timer)
        timer.handle = self.loop.call_later(ms / 1000.0, timer.fire)

    def timer_cancel(self, timer: Timer) -> None:
        if isinstance(timer.handle, asyncio.TimerHandle):
            timer.handle.cancel()
            timer.handle = None

    def timer_remove(self, timer: Timer) -> None:
        self.timer_cancel(timer)
        timer.release()

    def watch_update_mask(self, watch: Watch, event_mask: EventMask) -> None:
        loop = self.loop
        old, new = watch.mask, EventMask(event_mask)
        if old & EventMask.READ and not new & EventMask.READ:
            loop.remove_reader(watch.fd)
        if old & EventMask.WRITE and not new & EventMask.WRITE:
            loop.remove_writer(watch.fd)
        if new & EventMask.READ and not old & EventMask.READ:
            loop.add_reader(watch.fd, self._dispatch, watch, EventMask.READ)
        if new & EventMask.WRITE and not old & EventMask.WRITE:
            loop.add_writer(watch.fd, self._dispatch, watch, EventMask.WRITE)
        watch.mask = new

    def watch_remove(self, watch: Watch) -> None:
        self.watch_update_mask(watch, EventMask(0))
        watch.release()

    @staticmethod
    def _dispatch(watch: Watch, event: EventMask) -> None:
        if watch.mask & event:
            watch.func(watch.fd, event, watch.opaque)

    def call_soon_threadsafe(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` on the loop's thread (a convenience, not part of the interface)."""
        self.loop.call_soon_threadsafe(func, *args)
