"""Rate-limited log lines, for anything a client (or a stalled loop) can trigger repeatedly.

A client sending the same unwanted message thousands of times a second must not turn the
log into its amplifier: the first line of a kind is written at once, later ones at most
once per interval, each saying how many like it were left out meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

INTERVAL_S = 10.0


class RateLimitedLog:
    """One logger's lines, each call site (its format string) limited on its own."""

    def __init__(
        self, logger: logging.Logger, now: Callable[[], float], interval: float = INTERVAL_S
    ) -> None:
        self.logger = logger
        self._now = now
        self.interval = interval
        self._last: dict[str, float] = {}  # format string -> when it was last written
        self._skipped: dict[str, int] = {}

    def log(self, level: int, msg: str, *args: object) -> None:
        if not self.logger.isEnabledFor(level):
            return
        now = self._now()
        last = self._last.get(msg)
        if last is not None and now - last < self.interval:
            self._skipped[msg] = self._skipped.get(msg, 0) + 1
            return
        self._last[msg] = now
        skipped = self._skipped.pop(msg, 0)
        if skipped:
            self.logger.log(level, msg + " (and %d more like it)", *args, skipped)
        else:
            self.logger.log(level, msg, *args)

    def debug(self, msg: str, *args: object) -> None:
        self.log(logging.DEBUG, msg, *args)

    def info(self, msg: str, *args: object) -> None:
        self.log(logging.INFO, msg, *args)

    def warning(self, msg: str, *args: object) -> None:
        self.log(logging.WARNING, msg, *args)
