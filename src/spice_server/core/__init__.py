"""The core interface and its ready-made implementations."""

from .asyncio_core import AsyncioCore
from .base import ChannelEvent, ChannelEventFlags, ChannelEventInfo, Core, EventMask, Timer, Watch
from .selector_core import SelectorCore

__all__ = [
    "AsyncioCore",
    "ChannelEvent",
    "ChannelEventFlags",
    "ChannelEventInfo",
    "Core",
    "EventMask",
    "SelectorCore",
    "Timer",
    "Watch",
]
