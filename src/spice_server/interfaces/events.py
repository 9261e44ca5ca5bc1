"""What back ends tell the server, as typed events.

A registered interface reports each change of its state with ``Interface._changed(event)``,
from any thread; the server picks the events up on its own loop. State changes the server
only needs to hear of once (new pixels, a new cursor, LEDs) are plain markers and repeat
ones coalesce; events that carry data and must keep their order (clipboard actions) are
delivered one by one. Sound devices queue their own ordered stream of audio events, which
the playback and record channels take in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.agent import ClipboardSelection, ClipboardType

# -- markers: coalesced, order among them does not matter ---------------------------------


@dataclass(frozen=True, slots=True)
class PixelsChanged:
    """The display's framebuffer has new damage."""


@dataclass(frozen=True, slots=True)
class Resized:
    """The display's geometry changed: its surface was replaced by one of another size,
    or the monitors shown on it changed."""


@dataclass(frozen=True, slots=True)
class CursorChanged:
    """The pointer's shape, visibility or position changed."""


@dataclass(frozen=True, slots=True)
class LedsChanged:
    """The keyboard's lock-key LEDs changed."""


@dataclass(frozen=True, slots=True)
class DeviceWakeup:
    """A char device has bytes to read, or room to write again."""


@dataclass(frozen=True, slots=True)
class AudioQueued:
    """A sound device queued audio events (see below) for its channel."""


Marker = PixelsChanged | Resized | CursorChanged | LedsChanged | DeviceWakeup | AudioQueued

# -- clipboard actions of the back end: ordered, each delivered -------------------------


@dataclass(frozen=True, slots=True)
class ClipboardGrab:
    selection: ClipboardSelection
    types: tuple[ClipboardType, ...]


@dataclass(frozen=True, slots=True)
class ClipboardRelease:
    selection: ClipboardSelection


@dataclass(frozen=True, slots=True)
class ClipboardRequest:
    selection: ClipboardSelection
    clip_type: ClipboardType


@dataclass(frozen=True, slots=True)
class ClipboardData:
    selection: ClipboardSelection
    clip_type: ClipboardType
    data: bytes


ClipboardAction = ClipboardGrab | ClipboardRelease | ClipboardRequest | ClipboardData
CLIPBOARD_ACTIONS = (ClipboardGrab, ClipboardRelease, ClipboardRequest, ClipboardData)
Change = Marker | ClipboardAction

# -- a sound device's own event stream ------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioStart:
    """Sound starts flowing (clients are told the format).

    ``silence``: samples of silence since the previous run's last sample, when the back end
    knows them (its sound card kept running while it sent nothing), so the new run is
    stamped that long after the last one rather than when it happens to arrive.
    """

    silence: int | None = None


@dataclass(frozen=True, slots=True)
class AudioStop:
    """Sound stops; what was pushed before still goes out."""


@dataclass(frozen=True, slots=True)
class AudioVolume:
    levels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AudioMute:
    mute: bool


@dataclass(frozen=True, slots=True)
class AudioData:
    """PCM to play: S16LE interleaved stereo at the device's rate."""

    pcm: bytes


AudioEvent = AudioStart | AudioStop | AudioVolume | AudioMute | AudioData
