"""How good one client's stream frames may be: quality chosen to fit the link.

The link's budget paces how many frames go out (a frame is read only when the link has
room), so on a narrow link big frames mean few frames. The quality level trades bytes per
frame against frame rate: when a frame costs more than the link carries in a frame period
of TARGET_FPS, the level drops (a new encoder with a lower quality or bit rate), never
below the codec's lowest level that holds the picture's PSNR target (video.LOWEST_LEVEL:
then fewer frames go instead, or a leaner codec takes over); when frames stay well under
it, the level climbs back, never beyond its ceiling. Without a measured rate (the link
was never the bottleneck, as on loopback) quality stays at its ceiling. What the client
reports as late is the stamper's business, not a reason to degrade the picture:
spice-gtk's GStreamer path shows late frames, and frames stamped right arrive in time for
its MJPEG decoder. Sans-I/O: figures in, a level out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .video import DEFAULT_LEVEL

TARGET_FPS = 30  # on a narrow link, quality gives way before the frame rate drops below
HEADROOM = 0.8  # of the link's rate, for the stream (the rest: other channels, jitter)
RAISE_BELOW = 0.4  # frames smaller than this share of the allowance may get better
FRAMES_TO_RAISE = 30
FRAMES_TOO_HEAVY = 10  # frames too big at the lowest level: the codec itself is too heavy
CANNOT_DECODE = 0xFFFFFFFF  # num_drops with num_frames 0: the client has no decoder


@dataclass
class StreamReport:
    frames: int
    drops: int
    last_frame_delay_ms: int

    @property
    def cannot_decode(self) -> bool:
        return self.frames == 0 and self.drops == CANNOT_DECODE


class StreamQuality:
    """The quality level of one client's streams; it outlives a stream, as the link does."""

    def __init__(self, level: int = DEFAULT_LEVEL) -> None:
        self.ceiling = level
        self.level = level
        self._small = 0
        self._heavy = 0

    @property
    def too_heavy(self) -> bool:
        """Frames stay bigger than the link carries even at the lowest level: a codec that
        says more with fewer bytes is due."""
        return self._heavy >= FRAMES_TOO_HEAVY

    def codec_changed(self) -> None:
        self._heavy = 0

    def frame_sent(
        self, frame_bytes: int, link_rate: float | None, share: float = 1.0, lowest: int = 0
    ) -> bool:
        """Account for one encoded frame of a stream that has ``share`` of the link (its
        part of the area streamed, when there are several) in a codec whose ``lowest``
        level holds the PSNR target; True when the level changed (new encoders)."""
        if link_rate is None:
            self._small = 0
            return self._set(self.ceiling)
        if self.level < lowest:  # set for another codec
            return self._set(lowest)
        allowance = link_rate * HEADROOM / TARGET_FPS * share
        too_big = frame_bytes > allowance
        self._heavy = self._heavy + 1 if too_big and self.level <= lowest else 0
        if too_big and self.level > lowest:
            self._small = 0
            return self._set(self.level - 1)
        if frame_bytes < RAISE_BELOW * allowance and self.level < self.ceiling:
            self._small += 1
            if self._small >= FRAMES_TO_RAISE:
                self._small = 0
                return self._set(self.level + 1)
        else:
            self._small = 0
        return False

    def _set(self, level: int) -> bool:
        changed = level != self.level
        self.level = level
        return changed
