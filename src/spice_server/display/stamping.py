"""When a stream frame should show: its stamp on the client's media clock.

spice-gtk 0.42 shows a frame at its stamp (``mm_time``) by the client's clock, with two
decoder paths that treat lateness differently:

- its built-in MJPEG decoder drops every frame that *arrives* after its stamp, and shows
  the others at their stamp; so a stamp must be a little after the arrival, never before;
- its GStreamer path (VP8, H.264) shows a late frame as soon as it is decoded; a stamp in
  the past costs nothing, a stamp in the future only waits.

The client's clock is not ours: it was set from MAIN_INIT (or from the audio it plays) and
lags by an offset we do not know. Every stream report tells how early the last frame
arrived (``last_frame_delay`` = stamp minus the client's clock at arrival), so each report
measures, for one frame, where the client's clock stood when it arrived, relative to our
clock when we sent it. The stamper keeps the recent measurements and stamps the next frame
where it will arrive, plus a small guard for MJPEG, or a little before for GStreamer: the
frame shows as soon as it can, with no late drops, whatever the clock offset and the link.
While sound plays the client's clock follows the sound; a frame captured at our time T is
then stamped T (it shows with the sound of that moment) unless that is too early to arrive.
"""

from __future__ import annotations

from collections import deque

from ..core.clock import MM_TIME_MASK

GUARD_MS = 4  # how far after its expected arrival an MJPEG frame is stamped
EARLY_MS = 30  # how far before its expected arrival a GStreamer frame is stamped
SAMPLES = 8  # measurements kept: the latest arrivals of this many frames
HALF = 1 << 31


def mm_diff(a: int, b: int) -> int:
    """a - b on the wrapping u32 millisecond clock."""
    return ((a - b + HALF) & MM_TIME_MASK) - HALF


class FrameStamper:
    """Stamps one client's stream frames from what its reports say about arrivals."""

    def __init__(self, initial_offset_ms: int, drops_late: bool) -> None:
        """``initial_offset_ms``: our guess of (client clock at arrival - our clock at
        send) before any report, e.g. minus the lag MAIN_INIT gave the client's clock.
        ``drops_late``: the client's decoder drops frames that arrive late (MJPEG)."""
        self.drops_late = drops_late
        self._offsets: deque[int] = deque([initial_offset_ms], maxlen=SAMPLES)
        self._sent: dict[int, int] = {}  # stamp -> our clock when that frame was sent
        self._last: int | None = None

    def stamp(self, send_mm: int, capture_mm: int | None = None) -> int:
        """The stamp for a frame sent now (``send_mm``, our clock). ``capture_mm`` is when
        its pixels were painted, given while sound plays, so the frame keeps with it."""
        if self.drops_late:
            arrival = max(self._offsets) + GUARD_MS  # the latest recent arrival, and a guard
        else:
            arrival = min(self._offsets) - EARLY_MS
        stamp = (send_mm + arrival) & MM_TIME_MASK
        if capture_mm is not None and mm_diff(capture_mm, stamp) > 0:
            stamp = capture_mm  # with the sound: as late as the sound needs, no later
        if self._last is not None and mm_diff(stamp, self._last) <= 0:
            # Stamps only go forward: spice-gtk drops its whole queue of frames waiting to
            # show when one comes stamped earlier than the last.
            stamp = (self._last + 1) & MM_TIME_MASK
        self._last = stamp
        self._sent[stamp] = send_mm
        while len(self._sent) > 4 * SAMPLES:
            del self._sent[next(iter(self._sent))]
        return stamp

    def reported(self, stamp: int, last_frame_delay_ms: int) -> None:
        """A report on the frame stamped ``stamp``: it arrived this many ms before it."""
        send_mm = self._sent.get(stamp)
        if send_mm is None:
            return  # too old, or a frame of an earlier stream
        arrival = (stamp - last_frame_delay_ms) & MM_TIME_MASK  # client clock at arrival
        self._offsets.append(mm_diff(arrival, send_mm))

    def for_stream(self, drops_late: bool) -> FrameStamper:
        """A stamper for a new stream of the same client: it shares what reports taught
        about the client's clock, and its stamps need not follow another stream's (each
        stream has its own queue at the client)."""
        stamper = FrameStamper(0, drops_late)
        stamper._offsets, stamper._sent = self._offsets, self._sent
        return stamper

    @property
    def lead_ms(self) -> int:
        """How far ahead of our clock the next frame would be stamped."""
        return max(self._offsets) + GUARD_MS if self.drops_late else min(self._offsets) - EARLY_MS
