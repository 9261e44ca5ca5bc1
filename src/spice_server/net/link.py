"""What one connection's link carries: its delivery rate, round trip, and a send budget.

A socket accepts far more than a slow link carries: the kernel buffers megabytes, which
on a 20 Mbit/s link are seconds of frames the user waits for. So producers (the display)
do not ask "does the socket take more?" but "is less than the link's budget still on its
way?". What is on its way is our own queue plus what the kernel has not yet had
acknowledged (SIOCOUTQ); what left it since the last look was delivered.

The delivery rate is measured only over spans in which the link was busy (something was
waiting all along) of at least RATE_SPAN_S, so that a proxy or router draining its queue
in bursts is averaged out; the best of the last seconds is kept, so idle moments do not
read as a slow link. A span in which almost nothing was delivered for a while is a
client that stopped reading (a busy or suspended program), not a slow link, and measures
nothing. A ping queues behind our own data, so its round trip minus the time the bytes
ahead of it needed is the path's own.

The budget is the bandwidth-delay product plus a little more (less while the user types
or points), so the link stays full while frames wait only milliseconds in queues: the
newest pixels are read when there is room, and late frames never block newer ones.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
from collections import deque

from ..core.clock import Clock

RATE_WINDOW_S = 2.0  # the best delivery rate of this long is the link's rate
RATE_SPAN_S = 0.25  # busy spans this long (or 3 round trips) measure the link, not its bursts
SPAN_RTTS = 3
MIN_INTERVAL_S = 0.002
STALL_S = 0.1  # busy with less than STALL_BYTES delivered this long (or 2 round trips) ...
STALL_RTTS = 2
STALL_BYTES = 512  # ... is a client that stopped reading (no link is this slow)
RTT_WINDOW_S = 10.0
QUEUE_ALLOWANCE_S = 0.02  # what may wait in queues beyond the bandwidth-delay product
# ... while the user types or moves the pointer: an echo waits behind what is queued, so
# then the link is kept just full, trading a little throughput for a prompt answer.
INTERACTIVE_ALLOWANCE_S = 0.004
MIN_BUDGET = 24 * 1024
MAX_BUDGET = 256 * 1024  # also the budget while the rate is unknown (never saturated)
_OUTQ = struct.Struct("i")


def unacknowledged(sock: socket.socket) -> int:
    """Bytes the kernel holds for this socket, sent or not, that the peer has not acked."""
    try:
        return _OUTQ.unpack(fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    except OSError:
        return 0


class LinkEstimate:
    """Delivery rate and round trip of one connection, from samples of what is in flight."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._last: tuple[float, int, int] | None = None  # time, delivered, in flight
        self._span: tuple[float, int] | None = None  # start of the busy span, delivered then
        # Busy since then, and delivered then: less than STALL_BYTES since is a stall.
        self._watch: tuple[float, int] | None = None
        self._rates: deque[tuple[float, float]] = deque()  # (time, bytes/s) of busy intervals
        self._rtts: deque[tuple[float, float]] = deque()

    def sample(self, sent: int, in_flight: int) -> None:
        """``sent`` bytes written so far in all, ``in_flight`` of them not yet delivered."""
        now = self.clock.now()
        delivered = sent - in_flight
        last = self._last
        if last is not None:
            then, before, was_in_flight = last
            if now - then < MIN_INTERVAL_S:
                return
            if was_in_flight > 0 and in_flight > 0:  # busy all along: the link set the pace
                self._busy(then, before, now, delivered)
            else:
                self._span = self._watch = None
        self._last = (now, delivered, in_flight)
        while self._rates and self._rates[0][0] < now - RATE_WINDOW_S:
            self._rates.popleft()

    def _busy(self, then: float, before: int, now: float, delivered: int) -> None:
        """A busy interval: part of a span that measures the link, unless the client has
        stopped reading (too little delivered for a while: a busy or suspended program),
        which says nothing of the link: taken for its rate, it would hold the budget and
        the stream's quality down for seconds after the client reads again."""
        if self._watch is None or delivered - self._watch[1] >= STALL_BYTES:
            self._watch = (then, before)
        elif now - self._watch[0] >= max(STALL_S, STALL_RTTS * self.rtt):
            self._span = None
            return
        if self._span is None:
            self._span = (then, before)
        start, at_start = self._span
        if now - start >= max(RATE_SPAN_S, SPAN_RTTS * self.rtt):
            self._rates.append((now, (delivered - at_start) / (now - start)))
            self._span = (now, delivered)

    def round_trip(self, seconds: float, queued_ahead: int = 0) -> None:
        """A ping's round trip; ``queued_ahead`` bytes were on their way before it."""
        now = self.clock.now()
        rate = self.rate
        if rate:
            seconds = max(0.0, seconds - queued_ahead / rate)
        self._rtts.append((now, seconds))
        while self._rtts and self._rtts[0][0] < now - RTT_WINDOW_S:
            self._rtts.popleft()

    @property
    def rate(self) -> float | None:
        """Bytes per second the link delivers, or None while it was never the bottleneck."""
        if not self._rates:
            return None
        return max(rate for _, rate in self._rates)

    @property
    def rtt(self) -> float:
        """The smallest recent round trip (seconds): the path without its queues."""
        return min((rtt for _, rtt in self._rtts), default=0.0)

    def budget(self, interactive: bool = False) -> int:
        """How many bytes may be on their way at once; less while the user is ``interactive``
        (typing, moving the pointer), whose next echo would wait behind them."""
        rate = self.rate
        if rate is None:
            return MAX_BUDGET
        allowance = INTERACTIVE_ALLOWANCE_S if interactive else QUEUE_ALLOWANCE_S
        return int(min(MAX_BUDGET, max(MIN_BUDGET, rate * (self.rtt + allowance))))

    def drain_time(self, excess: int) -> float:
        """Seconds until ``excess`` bytes more than the budget have been delivered."""
        rate = self.rate
        return excess / rate if rate else 0.005
