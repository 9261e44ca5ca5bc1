"""What one connection's link carries: its delivery rate, round trip, and a send budget.

A socket accepts far more than a slow link carries: the kernel buffers megabytes, which
on a 20 Mbit/s link are seconds of frames the user waits for. So producers (the display)
do not ask "does the socket take more?" but "is less than the link's budget still on its
way?". What is on its way is what the client has not confirmed: everything written after
the last ping it answered (a PONG says every byte before its PING arrived). That counts
what waits in a proxy, a router or a VPN that acknowledges TCP for the client; our own
queue plus what the kernel has not had acknowledged (SIOCOUTQ) is a floor.

The delivery rate is what the client confirmed over spans in which the link was the
limit (the budget held the sender back between every two confirmations, or the pings
waited in a queue: a sender that fits a link's unmeasured budget, 256 kB, can still
keep 100 ms queued at 20 Mbit/s, and an echo waited behind that) of at least
RATE_SPAN_S, so that a proxy or router draining its queue in bursts is averaged out, and
a sender with little to send is not taken for a slow link; the best of the last seconds
is kept, so idle moments do not read as a slow link either; with none measured in that
time the last measurement stays, rising slowly (to twice itself at most) until the link
is measured again. Whatever held the sender, the link carried what any span of
FLOOR_SPAN_S delivered: a known rate lower than that rises to it. On a near link
(loopback, a LAN) confirmations come at the pace the client decodes, not the link's: its
rate stays unknown. A client that confirmed nothing for a while was busy or suspended,
not on a slow link: that span measures nothing (measured, it held a fast link's budget
and stream quality down).

The round trip is the least a ping took of late: pings follow every burst of frames, so
it is the path's own plus at most a frame's time (correcting it by the time the bytes
ahead needed at an estimated rate made a low estimate lower: the budget shrank, and the
link measured slower still).

The budget is the bandwidth-delay product plus a little more (less while the user types
or points), so the link stays full while frames wait only milliseconds in queues: the
newest pixels are read when there is room, and late frames never block newer ones. It
also holds one confirmation's bytes (the pings' spacing): what was written after the
last answered ping includes what arrived since, and confirmations come a ping's worth at
a time. Without it, a link whose bandwidth-delay product is near that spacing (5 Mbit/s,
40 ms) idled for part of every round trip: at most one frame's worth was on its way.
With it, what waits in queues swings between the allowance and the allowance plus that
spacing; so while the user types or points the budget is the bandwidth-delay product
alone (an echo does not wait behind 30 kB more, 50 ms at 5 Mbit/s: keys beside a 60 fps
pan at 20 Mbit/s echoed 2 ms sooner than with 4 ms of allowance, the pan as smooth),
plus what the link carried since the last confirmation: those bytes arrived, but count
as unconfirmed until the next one. Without them the link idled for part of every
confirmation's spacing (a terminal flooding beside keys typed: 0.65-1.19 MB/s sent at
20 Mbit/s, 0.32-0.43 at 5; with them 1.30-1.55 and 0.51-0.55, its echo's median 1 and
6 ms later, of 40 and 110).
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
from collections import deque

from ..core.clock import Clock

RATE_WINDOW_S = 2.0  # the best delivery rate of this long is the link's rate
RATE_PROBE = 0.25  # how fast (per second) an older measurement rises...
MAX_PROBE_GAIN = 2.0  # ... up to this many times itself
RATE_SPAN_S = 0.25  # busy spans this long (or 3 round trips) measure the link, not its bursts
SPAN_RTTS = 3
FLOOR_SPAN_S = 0.5  # any span this long raises a lower rate (longer: a client's lag weighs less)
MIN_INTERVAL_S = 0.002
NEAR_RTT_S = 0.008  # a link with a shorter round trip is never measured (see ``confirmed``)
STALL_S = 0.5  # no confirmation for this long (or this many round trips), with less than
STALL_RTTS = 4  # STALL_SHARE of the known rate delivered: the client was not reading
STALL_SHARE = 0.5
RTT_WINDOW_S = 10.0
QUEUE_RTT_SHARE = 0.5  # a ping this much slower than the path's round trip (and
QUEUE_MIN_S = 0.005  # at least this much) waited in a queue: the link is full
QUEUE_ALLOWANCE_S = 0.02  # what may wait in queues beyond the bandwidth-delay product
MIN_BUDGET = 24 * 1024
MAX_STEP = 64 * 1024  # the most of one confirmation's bytes the budget adds (see budget)
MAX_BUDGET = 256 * 1024  # also the budget while the rate is unknown (never saturated)
_OUTQ = struct.Struct("i")


def unacknowledged(sock: socket.socket) -> int:
    """Bytes the kernel holds for this socket, sent or not, that the peer has not acked."""
    try:
        return _OUTQ.unpack(fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    except OSError:
        return 0


def _extended(
    span: tuple[float, int], now: float, delivered: int, length: float
) -> tuple[tuple[float, int], float | None]:
    """A span (its start: time, delivered then) extended to ``now``: once it is ``length``
    long, the rate it delivered, and a new span from now; else no rate yet."""
    start, at_start = span
    if now - start < length:
        return span, None
    return (now, delivered), (delivered - at_start) / (now - start)


class LinkEstimate:
    """Delivery rate and round trip of one connection, from the client's confirmations
    (PONGs) and the round trips of its pings."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._last: tuple[float, int] | None = None  # the last confirmation: time, delivered
        self._held = False  # the sender was held back since then
        self._held_typing = False  # ... by the interactive budget (see held_back)
        self._span: tuple[float, int] | None = None  # start of the busy span, delivered then
        self._carried: tuple[float, int] | None = None  # that of any span (a floor: confirmed)
        self._rates: deque[tuple[float, float]] = deque()  # (time, bytes/s) of busy intervals
        # Round trips, each smaller than every later one: the first is the window's least.
        self._rtts: deque[tuple[float, float]] = deque()
        self._step = 0  # bytes the last confirmation confirmed: the pings' spacing
        self._filling = False  # the sender resumed after the link idled (``resumed``)
        self._queued = False  # the last ping waited in a queue (``round_trip``)

    def held_back(self, interactive: bool = False) -> None:
        """The budget stopped the sender, which had more to send: the link is the limit.
        Not so under the ``interactive`` budget: it keeps nothing queued, and
        confirmations lag behind deliveries by the client's decoding, so what the link
        delivered measured less than it carries, the budget taken from that less again
        (a terminal flooding beside keys typed at 20 Mbit/s, when that budget was the
        bandwidth-delay product alone: the rate read fell from 2.0 to 1.1 MB/s in 4 s,
        the budget to its floor, 0.7 MB/s delivered). Pings that waited in a queue still
        measure it then; else the last measurement stands, and does not age meanwhile
        (aged, it would rise: see rate)."""
        if interactive:
            self._held_typing = True
        else:
            self._held = True

    def resumed(self, delivered: int) -> None:
        """The sender writes again after everything it wrote was confirmed (``delivered``
        bytes in all): the link idled until now, and the next confirmation, held back or
        not, also waited for the pipe to fill. Neither measures the link (a refinement
        after a stream's last frame, held back at once, read a 20 Mbit/s link as 3.5)."""
        self._last, self._held, self._span = (self.clock.now(), delivered), False, None
        self._filling, self._carried = True, None

    def confirmed(self, delivered: int) -> None:
        """The client confirmed it has ``delivered`` bytes in all (a PONG)."""
        now = self.clock.now()
        last = self._last
        if last is not None and now - last[0] >= MIN_INTERVAL_S:
            then, before = last
            # A long wait that delivered far less than the known rate: a client that was
            # not reading (busy, suspended). Before any rate is known it cannot be told
            # from a slow link delivering a first screen, and is measured.
            rate, gap = self.rate, now - then
            stalled = (
                rate is not None
                and gap > max(STALL_S, STALL_RTTS * self.rtt)
                and delivered - before < STALL_SHARE * rate * gap
            )
            # On a near link (loopback, a LAN) it is the client's own pace that
            # confirmations show (a first screen it decodes a while): the rate stays
            # unknown there.
            measurable = self.rtt >= NEAR_RTT_S and not stalled and not self._filling
            # Held back since the last confirmation: the link set the pace.
            if measurable and (self._held or self._queued):
                span_length = max(RATE_SPAN_S, SPAN_RTTS * self.rtt)
                self._span, busy = _extended(self._span or last, now, delivered, span_length)
                if busy is not None:
                    self._rates.append((now, busy))
            else:
                self._span = None
            # Held back or not, the link carried what was delivered: a rate read lower
            # (while the client decoded a first screen, say) rises to that. Under the
            # interactive budget nothing else would raise it: its holds measure nothing,
            # and the reading stands unaged. Never a first reading: a sender with little
            # to send is no slow link.
            if measurable and rate is not None:
                self._carried, carried = _extended(
                    self._carried or last, now, delivered, FLOOR_SPAN_S
                )
                if carried is not None and carried > rate:
                    self._rates.append((now, carried))
            else:
                self._carried = None
            if self._held_typing and self._rates and self._rates[-1][0] < now:
                self._rates[-1] = (now, self._rates[-1][1])  # not measured: stands, unaged
            self._step = min(max(0, delivered - before), MAX_STEP)
        elif last is not None:
            return  # too close to the last one to say anything: it waits for the next
        self._last, self._held, self._filling, self._queued = (now, delivered), False, False, False
        self._held_typing = False
        # The newest measurement stays when nothing newer came: a sender that keeps within
        # the budget is not held back, so nothing measures the link again. Forgetting it
        # would lift the budget to MAX_BUDGET, seconds of queue on a slow link.
        while len(self._rates) > 1 and self._rates[0][0] < now - RATE_WINDOW_S:
            self._rates.popleft()

    def round_trip(self, seconds: float) -> None:
        """A ping's round trip, taken before the confirmation its PONG brings: a ping that
        waited in a queue says the link was full (held back or not; see ``confirmed``)."""
        now = self.clock.now()
        path = self.rtt
        self._queued = bool(path) and seconds > path + max(QUEUE_MIN_S, QUEUE_RTT_SHARE * path)
        rtts = self._rtts
        while rtts and rtts[-1][1] >= seconds:
            rtts.pop()  # never again the least: this one is smaller, and expires later
        rtts.append((now, seconds))
        while rtts[0][0] < now - RTT_WINDOW_S:
            rtts.popleft()

    @property
    def rate(self) -> float | None:
        """Bytes per second the link delivers, or None while it was never the bottleneck.
        A measurement older than RATE_WINDOW_S is trusted less as it ages: it rises by
        RATE_PROBE a second, so a link that got faster, or a rate measured while the
        client was slow, is found again (held back, the link is measured anew); at most
        to MAX_PROBE_GAIN times itself, so that a sender that fits the link for a long
        while does not earn the budget of a link several times faster (a 3 Mbit/s link
        was read as 8.9 after a quiet spell: a quarter second of queue for the next
        burst)."""
        if not self._rates:
            return None
        now = self.clock.now()
        recent = [rate for at, rate in self._rates if at >= now - RATE_WINDOW_S]
        if recent:
            return max(recent)
        at, rate = self._rates[-1]
        return rate * min(MAX_PROBE_GAIN, 1 + RATE_PROBE * (now - at - RATE_WINDOW_S))

    @property
    def rtt(self) -> float:
        """The smallest recent round trip (seconds): the path without its queues."""
        return self._rtts[0][1] if self._rtts else 0.0

    def budget(self, interactive: bool = False) -> int:
        """How many bytes may be on their way at once; less while the user is ``interactive``
        (typing, moving the pointer), whose next echo would wait behind them."""
        rate = self.rate
        if rate is None:
            return MAX_BUDGET
        queued = rate * (self.rtt + QUEUE_ALLOWANCE_S) + self._step
        if interactive:  # the link just full: an echo waits behind whatever is queued
            queued = min(queued, rate * (self.rtt + self._since_confirmed()))
        return int(min(MAX_BUDGET, max(MIN_BUDGET, queued)))

    def _since_confirmed(self) -> float:
        """Seconds since the last confirmation (or since the sender resumed): what the
        link carried meanwhile still counts as unconfirmed, though it is no longer on its
        way."""
        return self.clock.now() - self._last[0] if self._last is not None else 0.0

    def drain_time(self, excess: int) -> float:
        """Seconds until ``excess`` bytes more than the budget have been delivered."""
        rate = self.rate
        return excess / rate if rate else 0.005
