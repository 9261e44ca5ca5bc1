"""Steering one client's video stream by what the client reports back.

Once asked (STREAM_ACTIVATE_REPORT), the client reports every few frames how many frames
it got, how many it dropped, and how early the last one arrived before its presentation
time. A frame arriving after its time is dropped by the client, so drops and late frames
mean the link or the client cannot keep up: the stream then plays further behind the
clock (a larger margin), uses fewer bytes per frame (a lower quality level), and at the
lowest level sends fewer frames. Reports without trouble slowly undo this, never beyond
the starting quality. Sans-I/O: reports in, settings out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .video import DEFAULT_LEVEL

# Frames are stamped this far ahead of the client's clock: a frame that arrives after its
# time is dropped by the client, one that arrives early waits. Lower is less latency.
BASE_MARGIN_MS = 40
MAX_MARGIN_MS = 400
MARGIN_STEP_MS = 30
MAX_DROP_RATIO = 0.1
GOOD_REPORTS_TO_RECOVER = 3
MAX_FRAME_INTERVAL_S = 1 / 8
FULL_RATE_INTERVAL_S = 0.0  # no pacing: every change is a frame
FIRST_PACED_INTERVAL_S = 1 / 30
CANNOT_DECODE = 0xFFFFFFFF  # num_drops with num_frames 0: the client has no decoder


@dataclass
class StreamReport:
    frames: int
    drops: int
    last_frame_delay_ms: int

    @property
    def cannot_decode(self) -> bool:
        return self.frames == 0 and self.drops == CANNOT_DECODE


class StreamAdaptation:
    """Quality level, clock margin and frame pacing for one client's stream."""

    def __init__(self, level: int = DEFAULT_LEVEL) -> None:
        self.ceiling = level
        self.level = level
        self.margin_ms = BASE_MARGIN_MS
        self.frame_interval_s = FULL_RATE_INTERVAL_S
        self._good = 0

    def report(self, report: StreamReport) -> bool:
        """Take one report; True when the quality level changed (a new encoder is due)."""
        seen = report.frames + report.drops
        dropping = seen > 0 and report.drops / seen > MAX_DROP_RATIO
        if dropping or report.last_frame_delay_ms < 0:
            self._good = 0
            self.margin_ms = min(MAX_MARGIN_MS, self.margin_ms + MARGIN_STEP_MS)
            if self.level > 0:
                self.level -= 1
                return True
            self.frame_interval_s = min(
                MAX_FRAME_INTERVAL_S, max(FIRST_PACED_INTERVAL_S, self.frame_interval_s * 2)
            )
            return False
        self._good += 1
        if report.last_frame_delay_ms > 2 * BASE_MARGIN_MS:
            self.margin_ms = max(BASE_MARGIN_MS, self.margin_ms - MARGIN_STEP_MS // 3)
        if self._good < GOOD_REPORTS_TO_RECOVER:
            return False
        self._good = 0
        if self.frame_interval_s > FULL_RATE_INTERVAL_S:
            halved = self.frame_interval_s / 2
            self.frame_interval_s = halved if halved >= FIRST_PACED_INTERVAL_S else 0.0
            return False
        if self.level < self.ceiling:
            self.level += 1
            return True
        return False
