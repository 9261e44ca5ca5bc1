"""Between the back end's threads and the server's loop: changes, calls and encoder threads.

Back ends call their interfaces from any thread; the server runs only on the core's loop.
Interface changes are gathered here under a lock (markers coalesce, clipboard actions keep
their order), a doorbell wakes the loop, and the loop takes them all in one go. The same
doorbell carries calls made with ``call_soon_threadsafe`` (results of the encoder threads,
which encode large images and video frames off the loop because the codecs release the
GIL, and the allocator's trim when the last client has gone). Back-end code the server
calls goes through ``call_backend``, so an exception in it is logged and never unwinds into
the server.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from .allocator import release_free_memory
from .core.base import Core
from .core.doorbell import Doorbell
from .interfaces.base import Interface
from .interfaces.events import CLIPBOARD_ACTIONS, Change

log = logging.getLogger(__name__)

ENCODER_THREADS = 2
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

ChangeHandler = Callable[[Interface, list[Change]], None]


def call_backend(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
    """Call into the caller's code; its exceptions are logged, never let loose on us."""
    try:
        return func(*args, **kwargs)
    except Exception:
        log.exception("%s raised; carrying on", getattr(func, "__qualname__", func))
        return None


class BackendDispatch:
    """Takes changes and calls from any thread and hands them to the loop, in order."""

    def __init__(self, on_changes: ChangeHandler) -> None:
        self._on_changes = on_changes
        self._lock = threading.Lock()
        self._changes: dict[int, tuple[Interface, list[Change]]] = {}
        self._calls: deque[Callable[[], None]] = deque()
        self._doorbell: Doorbell | None = None
        self._encoders: ThreadPoolExecutor | None = None

    def open(self, core: Core) -> None:
        self._doorbell = Doorbell(core, self._answer)

    def close(self) -> None:
        if self._doorbell is not None:
            self._doorbell.close()
            self._doorbell = None
        if self._encoders is not None:
            self._encoders.shutdown(wait=False, cancel_futures=True)
            self._encoders = None

    def notify(self, instance: Interface, event: Change) -> None:
        """``instance`` changed (any thread): markers coalesce, actions queue in order."""
        with self._lock:
            events = self._changes.setdefault(id(instance), (instance, []))[1]
            if isinstance(event, CLIPBOARD_ACTIONS) or event not in events:
                events.append(event)
        self._ring()

    def call_soon_threadsafe(self, func: Callable[[], None]) -> None:
        """Run ``func()`` on the server's loop; callable from any thread."""
        self._calls.append(func)
        self._ring()

    def offload(self, work: Callable[[], T], done: Callable[[Future[T]], None]) -> None:
        """Run ``work`` on the encoder threads; ``done(future)`` runs on the loop after."""
        if self._encoders is None:
            self._encoders = ThreadPoolExecutor(ENCODER_THREADS, "spice-encoder")
        future = self._encoders.submit(work)
        future.add_done_callback(lambda f: self.call_soon_threadsafe(lambda: done(f)))

    def release_free_memory(self) -> None:
        """Give the allocator's free memory back to the system, off the loop (allocator.py)."""
        self.offload(release_free_memory, lambda _: None)

    def _ring(self) -> None:
        doorbell = self._doorbell
        if doorbell is not None:
            doorbell.ring()

    def _answer(self) -> None:
        while self._calls:
            call_backend(self._calls.popleft())
        with self._lock:
            changes, self._changes = self._changes, {}
        for instance, events in changes.values():
            if instance._notify is not None:  # not removed meanwhile
                self._on_changes(instance, events)
