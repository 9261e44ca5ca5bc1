"""The core interface: how the server borrows the caller's main loop.

The server owns no loop and no I/O thread. Everything it waits for is a *watch* (a file
descriptor and the events of interest) or a *timer* (a one-shot callback after some
milliseconds), both handed to the caller's :class:`Core`. The core also receives
``channel_event`` notifications as connections come and go.

This mirrors libspice-server's SpiceCoreInterface (type "core", version 1.3).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar


class EventMask(enum.IntFlag):
    """What a watch waits for."""

    READ = 1
    WRITE = 2


class ChannelEvent(enum.IntEnum):
    CONNECTED = 1
    """A client's TCP connection was accepted; nothing is known of it but its addresses."""
    INITIALIZED = 2
    """The link handshake succeeded: connection id, channel type and id are filled in."""
    DISCONNECTED = 3
    """The connection is gone (after CONNECTED, whether or not it was ever INITIALIZED)."""


class ChannelEventFlags(enum.IntFlag):
    TLS = 1
    ADDR_EXT = 2


#: What ``getsockname``/``getpeername`` return: (host, port) for IPv4, four fields for
#: IPv6, a path for a unix socket.
SocketAddress = tuple[str, int] | tuple[str, int, int, int] | str


@dataclass
class ChannelEventInfo:
    """What the server knows of one connection; the same object follows it through its events."""

    connection_id: int = 0
    type: int = 0
    id: int = 0
    flags: ChannelEventFlags = ChannelEventFlags.ADDR_EXT
    local_address: SocketAddress | None = None
    peer_address: SocketAddress | None = None


TimerFunc = Callable[[object], None]
WatchFunc = Callable[[int, EventMask, object], None]
ChannelEventFunc = Callable[[ChannelEvent, ChannelEventInfo], None]


def _released(*_: object) -> None:
    """What a removed timer or watch calls instead of its owner's callback: nothing."""


class Timer:
    """A one-shot timer handle; what it holds is up to the core that made it."""

    __slots__ = ("func", "handle", "opaque")

    def __init__(self, func: TimerFunc, opaque: object) -> None:
        self.func = func
        self.opaque = opaque
        self.handle: object = None  # the core's own: a loop handle, a sequence number

    def fire(self) -> None:
        self.handle = None
        self.func(self.opaque)

    def release(self) -> None:
        """Let go of the callback once removed. The callback is mostly a method of the
        object that holds this timer: kept, the two would form a cycle that only the
        garbage collector's rare full passes free, and with it a client's buffers."""
        self.func, self.opaque = _released, None


class Watch:
    """A file-descriptor watch handle."""

    __slots__ = ("fd", "func", "mask", "opaque")

    def __init__(self, fd: int, mask: EventMask, func: WatchFunc, opaque: object) -> None:
        self.fd = fd
        self.mask = mask
        self.func = func
        self.opaque = opaque

    def release(self) -> None:
        """Let go of the callback once removed (see :meth:`Timer.release`)."""
        self.func, self.opaque = _released, None


class Core(ABC):
    """The core interface a caller implements (or takes ready-made) to host the server.

    Callbacks must run on the thread that runs the loop, one at a time; the server relies on
    that instead of locks. ``channel_event`` is optional: by default it calls the
    ``on_channel_event`` function given to the constructor, if any.
    """

    type: ClassVar[str] = "core"
    description: ClassVar[str] = "core interface"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 3

    def __init__(self, on_channel_event: ChannelEventFunc | None = None) -> None:
        self.on_channel_event = on_channel_event

    @abstractmethod
    def timer_add(self, func: TimerFunc, opaque: object = None) -> Timer:
        """Create a stopped timer that will call ``func(opaque)``."""

    @abstractmethod
    def timer_start(self, timer: Timer, ms: int) -> None:
        """(Re)arm the timer to fire once, ``ms`` milliseconds from now."""

    @abstractmethod
    def timer_cancel(self, timer: Timer) -> None:
        """Stop the timer if it is armed; it can be started again."""

    @abstractmethod
    def timer_remove(self, timer: Timer) -> None:
        """Cancel and forget the timer, and ``timer.release()`` its callback."""

    def watch_add(
        self, fd: int, event_mask: EventMask, func: WatchFunc, opaque: object = None
    ) -> Watch:
        """Call ``func(fd, events, opaque)`` whenever ``fd`` is ready for ``event_mask``."""
        watch = Watch(fd, EventMask(0), func, opaque)
        self.watch_update_mask(watch, event_mask)
        return watch

    @abstractmethod
    def watch_update_mask(self, watch: Watch, event_mask: EventMask) -> None:
        """Change what the watch waits for (0 pauses it)."""

    @abstractmethod
    def watch_remove(self, watch: Watch) -> None:
        """Forget the watch and ``watch.release()`` its callback: it is not called again."""

    def channel_event(self, event: ChannelEvent, info: ChannelEventInfo) -> None:
        """Told of every connection's CONNECTED, INITIALIZED and DISCONNECTED."""
        if self.on_channel_event is not None:
            self.on_channel_event(event, info)
