"""The versioned device interfaces: a back end implements keyboard, mouse and tablet, and drives
the display and the playback sound card; it drives record and implements its callbacks."""

from .base import Interface, InterfaceError
from .char_device import CharDeviceInterface
from .clipboard import ClipboardInterface
from .display import Display
from .keyboard import KeyboardInterface
from .mouse import MouseInterface
from .playback import PlaybackInterface
from .record import RecordInterface
from .tablet import TabletInterface

__all__ = [
    "CharDeviceInterface",
    "ClipboardInterface",
    "Display",
    "Interface",
    "InterfaceError",
    "KeyboardInterface",
    "MouseInterface",
    "PlaybackInterface",
    "RecordInterface",
    "TabletInterface",
]
