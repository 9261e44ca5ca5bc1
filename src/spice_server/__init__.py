"""spice-server: a SPICE remote-display server as a Python library.

Embed it in a few lines::

    from spice_server import AsyncioCore, Display, Server

    server = Server(port=5900)
    server.init(AsyncioCore())
    display = Display(1024, 768)
    server.add_interface(display)
    display.update(pixels)          # numpy (h, w) uint32 or (h, w, 4) uint8 BGRX

Unmodified SPICE clients (remote-viewer, spicy, spice-html5) connect to it.
"""

from .config import Limits
from .core import (
    AsyncioCore,
    ChannelEvent,
    ChannelEventFlags,
    ChannelEventInfo,
    Core,
    EventMask,
    SelectorCore,
)
from .display.cursor import CursorImage
from .interfaces import (
    CharDeviceInterface,
    ClipboardInterface,
    Display,
    Interface,
    InterfaceError,
    KeyboardInterface,
    MouseInterface,
    PlaybackInterface,
    RecordInterface,
    TabletInterface,
)
from .net.tls import TlsCredentials
from .protocol.agent import ClipboardSelection, ClipboardType, MonitorConfig
from .protocol.constants import ButtonMask, ImageCompression, KeyboardModifier, MouseMode
from .protocol.rect import Rect
from .server import ConfigurationError, Server

__all__ = [
    "AsyncioCore",
    "ButtonMask",
    "ChannelEvent",
    "ChannelEventFlags",
    "ChannelEventInfo",
    "CharDeviceInterface",
    "ClipboardInterface",
    "ClipboardSelection",
    "ClipboardType",
    "ConfigurationError",
    "Core",
    "CursorImage",
    "Display",
    "EventMask",
    "ImageCompression",
    "Interface",
    "InterfaceError",
    "KeyboardInterface",
    "KeyboardModifier",
    "Limits",
    "MonitorConfig",
    "MouseInterface",
    "MouseMode",
    "PlaybackInterface",
    "RecordInterface",
    "Rect",
    "SelectorCore",
    "Server",
    "TabletInterface",
    "TlsCredentials",
]

__version__ = "0.1.0"
