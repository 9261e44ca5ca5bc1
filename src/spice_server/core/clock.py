"""The clock the server's logic reads time from, injected so that it can be replaced.

Keep-alive, stream detection and expiry, pacing and audio stamps all depend on time. They
read it from a :class:`Clock` handed to them (through the channels' context) instead of
calling ``time.monotonic()`` themselves, so tests drive them with a manual clock, without
sleeping, and a host program can supply its own.
"""

from __future__ import annotations

import time
from typing import Protocol

MM_TIME_MASK = 0xFFFFFFFF


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds (any origin): for intervals, deadlines and rates."""
        ...

    def mm_time(self) -> int:
        """The multimedia clock: monotonic milliseconds as a wrapping u32.

        Audio and video stamps and the clients' media clock are on this scale.
        """
        ...


class SystemClock:
    """The machine's monotonic clock (what a server uses unless told otherwise)."""

    def now(self) -> float:
        return time.monotonic()

    def mm_time(self) -> int:
        return int(time.monotonic() * 1000) & MM_TIME_MASK
