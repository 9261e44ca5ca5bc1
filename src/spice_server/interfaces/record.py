"""The record interface: the client's microphone, for the back end.

The back end drives ``start()`` / ``stop()`` (libspice's ``spice_server_record_start`` /
``_stop``) and the mixer state (``set_volume``, ``set_mute``, which clients may show), and
implements the callbacks that receive what the client captures. Callbacks run on the
server's loop, like every other interface callback; keep them quick.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from .audio import AudioInterface


class RecordInterface(AudioInterface):
    """Implement ``client_samples``; ``client_start`` and ``client_stop`` are optional.

    Samples arrive as 16-bit little-endian interleaved stereo PCM at ``rate``, already
    decoded when the client sends Opus. One client captures at a time: the one that
    connected its record channel last.
    """

    type: ClassVar[str] = "record"
    description: ClassVar[str] = "record"

    def client_start(self, time: int) -> None:
        """A client began sending; ``time`` is its capture clock (ms) at the first frame."""

    @abstractmethod
    def client_samples(self, pcm: bytes, time: int) -> None:
        """One captured frame (normally 480 samples) stamped with the client's clock."""

    def client_stop(self) -> None:
        """The capturing client stopped sending: capture was stopped, or it went away."""
