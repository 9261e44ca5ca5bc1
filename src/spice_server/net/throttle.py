"""Failed tickets slow their own address down, and only theirs.

The first few wrong tickets from an address cost nothing (people mistype). After that,
each ticket from that address is checked only once a delay has passed since the one
before, the delay doubling from FIRST_DELAY up to ``max_delay``; a right ticket clears
the record. Checks from one address are serialised, so opening many connections at
once does not try more passwords. A ticket that would wait longer than ``max_delay`` is
refused at once, unread, with the answer a wrong ticket gets.

Time is the server's clock; the table is bounded (the oldest address is forgotten).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.clock import Clock

FIRST_DELAY = 0.5
MAX_ADDRESSES = 4096


@dataclass
class _Record:
    failures: int = 0
    next_check: float = 0.0  # the clock's time before which no ticket of it is checked


class TicketThrottle:
    def __init__(self, clock: Clock, free_failures: int = 3, max_delay: float = 30.0) -> None:
        self.clock = clock
        self.free_failures = free_failures
        self.max_delay = max_delay
        self._records: dict[str, _Record] = {}

    def delay_after(self, failures: int) -> float:
        """How long the next check waits after this many failures in a row."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return 0.0
        return min(self.max_delay, FIRST_DELAY * 2.0 ** min(beyond - 1, 32))

    def reserve(self, host: str) -> float | None:
        """When (seconds from now) a ticket from ``host`` may be checked; None: refuse it
        now. The slot after it is reserved as if it fails (a success clears it)."""
        record = self._records.get(host)
        if record is None:
            return 0.0
        now = self.clock.now()
        wait = max(0.0, record.next_check - now)
        if wait > self.max_delay:
            return None
        record.next_check = now + wait + self.delay_after(record.failures + 1)
        return wait

    def failed(self, host: str) -> None:
        record = self._records.pop(host, None)  # re-inserted: the table keeps recent ones
        if record is None:
            record = _Record(next_check=self.clock.now() + self.delay_after(1))
        record.failures += 1
        self._records[host] = record
        while len(self._records) > MAX_ADDRESSES:
            del self._records[next(iter(self._records))]

    def succeeded(self, host: str) -> None:
        self._records.pop(host, None)

    def failures(self, host: str) -> int:
        record = self._records.get(host)
        return record.failures if record is not None else 0
