"""Fakes for unit tests of channels and agents: a manual clock, a core, a transport, a context.

Channels see the server only through ``ChannelContext`` and their connection only through
``Transport``, so a test builds a channel on a :class:`FakeContext`, links a client over a
:class:`FakeTransport`, feeds it client messages as bytes and reads back the server's
messages as objects, moving time by hand: no sockets, no threads, no sleeping.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from spice_server.agent.base import AgentEndpoint
from spice_server.channels.base import Channel, ChannelClient
from spice_server.channels.context import ClientLink
from spice_server.channels.session import Session
from spice_server.config import ServerConfig
from spice_server.core.base import Core, EventMask, Timer, TimerFunc, Watch, WatchFunc
from spice_server.core.clock import MM_TIME_MASK
from spice_server.interfaces.registry import DeviceRegistry
from spice_server.net.connection import ConnectionHandler
from spice_server.net.link import LinkEstimate
from spice_server.protocol.agent import MonitorConfig
from spice_server.protocol.constants import ChannelType, MouseMode
from spice_server.protocol.framing import MINI_HEADER, pack_client_message
from spice_server.protocol.messages import base, cursor, display, inputs, main, playback, record

T = TypeVar("T")


class FakeClock:
    """Time that moves only when told; starts just before the mm clock wraps."""

    def __init__(self, start: float = 0xFFFFFF00 / 1000) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def mm_time(self) -> int:
        return int(self.time * 1000) & MM_TIME_MASK


class FakeCore(Core):
    """Timers on the fake clock: ``advance`` moves time and fires what fell due, in order."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.timers: dict[Timer, float | None] = {}
        self.watches: list[Watch] = []
        self.events: list[tuple[object, object]] = []

    def timer_add(self, func: TimerFunc, opaque: Any = None) -> Timer:
        timer = Timer(func, opaque)
        self.timers[timer] = None
        return timer

    def timer_start(self, timer: Timer, ms: int) -> None:
        if timer in self.timers:
            self.timers[timer] = self.clock.now() + ms / 1000

    def timer_cancel(self, timer: Timer) -> None:
        if timer in self.timers:
            self.timers[timer] = None

    def timer_remove(self, timer: Timer) -> None:
        self.timers.pop(timer, None)
        timer.release()

    def watch_add(
        self, fd: int, event_mask: EventMask, func: WatchFunc, opaque: Any = None
    ) -> Watch:
        watch = Watch(fd, event_mask, func, opaque)
        self.watches.append(watch)
        return watch

    def watch_update_mask(self, watch: Watch, event_mask: EventMask) -> None:
        watch.mask = event_mask

    def watch_remove(self, watch: Watch) -> None:
        if watch in self.watches:
            self.watches.remove(watch)
        watch.release()

    def armed(self) -> int:
        return sum(due is not None for due in self.timers.values())

    def advance(self, seconds: float) -> None:
        """Move the clock forward, firing every timer that falls due on the way."""
        end = self.clock.now() + seconds
        while True:
            due = [(when, t) for t, when in self.timers.items() if when is not None and when <= end]
            if not due:
                break
            when, timer = min(due, key=lambda item: item[0])
            self.clock.time = max(self.clock.time, when)
            self.timers[timer] = None
            timer.fire()
        self.clock.time = end


_SERVER_MESSAGES: dict[int, dict[int, type]] = {}


def _server_classes(module: object) -> dict[int, type]:
    return {
        cls.TYPE: cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and name.startswith("Msg")
        and not name.startswith("Msgc")
        and hasattr(cls, "TYPE")
        and cls.__module__ == getattr(module, "__name__", "")
    }


for _channel, _module in (
    (ChannelType.MAIN, main),
    (ChannelType.DISPLAY, display),
    (ChannelType.INPUTS, inputs),
    (ChannelType.CURSOR, cursor),
    (ChannelType.PLAYBACK, playback),
    (ChannelType.RECORD, record),
):
    _SERVER_MESSAGES[_channel] = {**_server_classes(base), **_server_classes(_module)}


class FakeTransport:
    """A connection that keeps what is written and decodes it as the client would."""

    def __init__(self, channel_type: int, clock: FakeClock, name: str = "fake:1") -> None:
        self.channel_type = channel_type
        self.link = LinkEstimate(clock)
        self.sent = 0
        self.handler: ConnectionHandler | None = None
        self.closed = False
        self.close_reason: str | None = None
        self.name = name
        self.websocket = None
        self.pending = 0  # bytes "not yet delivered": set it to simulate a busy link
        self.confirmed: int | None = None  # what the client confirmed (PONGs)
        self.congested = False  # set it to simulate a client that does not read
        self.reading_paused = False
        self._written = bytearray()

    @property
    def written(self) -> int:
        return self.sent

    def in_flight(self) -> int:
        return self.pending

    def confirm(self, written: int) -> None:
        self.confirmed = max(self.confirmed or 0, written)
        self.link.confirmed(self.confirmed)

    def unconfirmed(self) -> int:
        return 0 if self.confirmed is None else self.sent - self.confirmed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self._written += data
            self.sent += len(data)

    def corked(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def push(self) -> None:
        pass

    def pause_reading(self, paused: bool) -> None:
        self.reading_paused = paused

    def close(self, reason: str, level: int = logging.INFO, *, flush: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.connection_lost(reason)

    def take(self, pings: bool = False) -> list[Any]:
        """The server's messages written since the last call, decoded; keep-alive pings
        (which some channels send every second) only when asked for."""
        messages, buf = [], self._written
        classes = _SERVER_MESSAGES[self.channel_type]
        while len(buf) >= MINI_HEADER.size:
            msg_type, size = MINI_HEADER.unpack_from(buf)
            body = bytes(buf[MINI_HEADER.size : MINI_HEADER.size + size])
            del buf[: MINI_HEADER.size + size]
            message = classes[msg_type].unpack(body)
            if pings or not isinstance(message, base.MsgPing):
                messages.append(message)
        return messages

    def take_of(self, cls: type[T]) -> list[T]:
        return [m for m in self.take() if isinstance(m, cls)]

    def feed(self, message: Any) -> None:
        """A client message, framed, arrives."""
        assert self.handler is not None, "no channel client on this transport"
        self.handler.data_received(pack_client_message(message.TYPE, message.pack()))


class FakeContext:
    """A ChannelContext: real configuration and devices, fake time, synchronous offload."""

    def __init__(self, **settings: Any) -> None:
        self.config = ServerConfig(port=None, **settings)
        self.clock = FakeClock()
        self.core = FakeCore(self.clock)
        self.devices = DeviceRegistry()
        self.agent: AgentEndpoint | None = None
        self.mouse_mode = MouseMode.SERVER
        self.supported_mouse_modes = MouseMode.SERVER
        self.display_count = 1
        self.playback_active = False
        self.mouse_requests: list[int] = []
        self.monitors: list[list[MonitorConfig]] = []
        self.channels: list[tuple[int, int]] = []
        self.offloaded: list[Callable[[], None]] = []
        self.offload_at_once = True
        self.backend_errors: list[BaseException] = []

    def request_mouse_mode(self, mode: int) -> None:
        self.mouse_requests.append(mode)

    def keyboard_leds(self) -> int:
        keyboard = self.devices.keyboard
        return int(keyboard.get_leds()) if keyboard is not None else 0

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        self.monitors.append(monitors)
        return True

    def call_backend(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # the real server logs and carries on; tests look
            self.backend_errors.append(exc)
            return None

    def offload(self, work: Callable[[], T], done: Callable[[Future[T]], None]) -> None:
        future: Future[T] = Future()
        try:
            future.set_result(work())
        except Exception as exc:
            future.set_exception(exc)
        if self.offload_at_once:
            done(future)
        else:
            self.offloaded.append(lambda: done(future))

    def finish_offloaded(self) -> None:
        while self.offloaded:
            self.offloaded.pop(0)()

    def channel_list(self) -> list[tuple[int, int]]:
        return list(self.channels)


def link(
    channel: Channel,
    *,
    caps: frozenset[int] = frozenset(),
    common_caps: frozenset[int] = frozenset(),
    session: Session | None = None,
    start: bool = True,
    websocket: object | None = None,
) -> tuple[ChannelClient, FakeTransport]:
    """Connect a client to ``channel`` as the admission does after a good handshake;
    ``websocket``: the client came over WebSocket (spice-html5), as the channel sees it."""
    session = session or Session(0x1234)
    transport = FakeTransport(channel.type, channel.context.clock)
    transport.websocket = websocket
    client = channel.connect(session, transport, ClientLink(common_caps, caps))
    if start:
        client.start()
    return client, transport
