"""A thread-safe doorbell: any thread rings, the loop's thread answers.

Back ends produce pixels and LED changes on threads of their own; the server only ever runs
on the core's loop. The doorbell is a socket pair watched through the core interface: ring()
writes one byte (at most one outstanding), the watch drains it and calls back on the loop.
This is what libspice's ``spice_qxl_wakeup`` is, without its worker thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

from .base import Core, EventMask


class Doorbell:
    def __init__(self, core: Core, callback: Callable[[], None]) -> None:
        self._core = core
        self._callback = callback
        self._lock = threading.Lock()
        self._rung = False
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._watch = core.watch_add(self._reader.fileno(), EventMask.READ, self._answer)

    def ring(self) -> None:
        with self._lock:
            if self._rung:
                return
            self._rung = True
        with contextlib.suppress(OSError):  # full means the loop is being woken anyway
            self._writer.send(b"\0")

    def _answer(self, fd: int, events: EventMask, opaque: object) -> None:
        try:
            while self._reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        with self._lock:
            self._rung = False
        self._callback()

    def close(self) -> None:
        self._core.watch_remove(self._watch)
        self._reader.close()
        self._writer.close()
