"""Cut a stream of PCM bytes into the protocol's whole frames."""

from __future__ import annotations

from . import FRAME_BYTES


class FrameSplitter:
    """Collects PCM as it comes, in any sizes, and hands out whole frames.

    Back ends push whatever their sound source gives; the protocol wants 480-sample frames
    (and Opus cannot encode anything else), so the remainder waits for the next push.
    """

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self.frame_bytes = frame_bytes
        self._pending = bytearray()

    def feed(self, pcm: bytes) -> list[bytes]:
        """The whole frames now available, oldest first."""
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % self.frame_bytes
        size = self.frame_bytes
        frames = [bytes(self._pending[i : i + size]) for i in range(0, whole, size)]
        del self._pending[:whole]
        return frames

    def flush(self) -> bytes | None:
        """What is left, padded with silence to a whole frame; None if nothing is left."""
        if not self._pending:
            return None
        frame = bytes(self._pending) + bytes(self.frame_bytes - len(self._pending))
        self._pending.clear()
        return frame

    def clear(self) -> None:
        self._pending.clear()
