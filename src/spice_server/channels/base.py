"""What every channel shares: the channel (one per type and id) and its channel clients.

A *channel client* is one client's connection to one channel. It frames and parses
messages, answers the common ones (ACK_SYNC, ACK, PONG, DISCONNECTING), keeps the ack
window on channels that use one, and hands everything else to its subclass. Subclasses
that produce a lot (display, cursor) do it in ``pump()``, which runs whenever the socket
and the ack window have room, so they send the newest state instead of queueing old ones.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import ClassVar, Protocol

from ..core.base import Timer
from ..core.ratelog import RateLimitedLog
from ..net.connection import ConnectionHandler
from ..net.link import LinkEstimate
from ..net.websocket import WebSocketTransport
from ..protocol.constants import ChannelType, LinkError
from ..protocol.errors import RemoteProtocolError
from ..protocol.events import NEED_DATA
from ..protocol.framing import DataStream, Message
from ..protocol.messages import parse_client_message
from ..protocol.messages.base import (
    MsgcAck,
    MsgcAckSync,
    MsgcDisconnecting,
    MsgcMigrateData,
    MsgcMigrateFlushMark,
    MsgcPong,
    MsgDisconnecting,
    MsgPing,
    MsgSetAck,
)
from ..protocol.messages.codec import ClientMessage, ServerMessage
from .context import ChannelContext, ClientLink
from .session import Session

log = logging.getLogger(__name__)

PING_INTERVAL_MS = 10_000
PING_TIMEOUT_S = 60.0
MAX_PINGS_OUT = 64  # pings remembered while their PONGs are awaited
MIN_PACE_S = 0.002
MAX_PACE_S = 0.05
INTERACTIVE_S = 1.0  # input this recent makes the link budget the interactive one
MESSAGES_PER_TURN = 256  # acted on per turn of the loop; the rest wait (a few ms at most)


class Transport(Protocol):
    """The connection a channel client talks through (a ``net.Connection``, or a fake)."""

    handler: ConnectionHandler | None
    closed: bool
    name: str
    websocket: WebSocketTransport | None  # set once a browser's upgrade was accepted

    @property
    def pending(self) -> int:
        """Bytes written and not yet taken by the socket."""
        ...

    @property
    def link(self) -> LinkEstimate: ...

    @property
    def congested(self) -> bool:
        """Too much is queued for this client: act on none of its requests for now."""
        ...

    @property
    def written(self) -> int:
        """Bytes written so far in all."""
        ...

    def in_flight(self) -> int:
        """Bytes written and not yet delivered to the peer, as far as this side can see."""
        ...

    def confirm(self, written: int) -> None:
        """The peer has every byte up to ``written``."""
        ...

    def unconfirmed(self) -> int:
        """Bytes written that the peer has not confirmed (0 before any confirmation)."""
        ...

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def corked(self) -> AbstractContextManager[None]:
        """Writes made inside go out together, in as few sends as possible."""
        ...

    def push(self) -> None:
        """Send what is queued now, corked or not."""
        ...

    def pause_reading(self, paused: bool) -> None:
        """Read nothing more from the client (True) until told again (False)."""
        ...

    def close(self, reason: str, level: int = logging.INFO, *, flush: bool = False) -> None: ...


class Channel:
    """One channel of the server, e.g. DISPLAY 0, and the clients connected to it."""

    type: ClassVar[ChannelType]

    def __init__(self, context: ChannelContext, channel_id: int = 0) -> None:
        self.context = context
        self.id = channel_id
        self.clients: list[ChannelClient] = []
        # For lines any client can trigger at will: shared by the channel's clients, so
        # many connections from one source do not multiply them.
        self.quiet_log = RateLimitedLog(logging.getLogger(type(self).__module__), context.clock.now)

    @property
    def name(self) -> str:
        return f"{self.type.name.lower()}:{self.id}"

    def caps(self) -> frozenset[int]:
        """The channel capabilities advertised in the link reply."""
        return frozenset()

    def connect(self, session: Session, transport: Transport, link: ClientLink) -> ChannelClient:
        previous = session.find(self.type, self.id)
        if previous is not None:
            previous.close("replaced by a new connection of the same channel")
        client = self.create_client(session, transport, link)
        self.clients.append(client)
        session.add(client)
        return client

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> ChannelClient:
        raise NotImplementedError

    def client_gone(self, client: ChannelClient) -> None:
        if client in self.clients:
            self.clients.remove(client)

    def close(self, reason: str) -> None:
        for client in list(self.clients):
            client.close(reason)


class ChannelClient:
    """One client's connection to a channel, in the data stage."""

    ack_window: ClassVar[int | None] = None
    max_message_size: ClassVar[int] = 64 * 1024
    # The link budget counts what the client has not confirmed (see net.link); such a
    # channel must ``ping_after_writes`` at the end of every pump.
    confirms_delivery: ClassVar[bool] = False

    def __init__(
        self, channel: Channel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        self.channel = channel
        self.context = channel.context
        self.clock = channel.context.clock
        self.quiet_log = channel.quiet_log
        self.session = session
        self.connection = transport
        self.common_caps = link.common_caps
        self.client_caps = link.channel_caps
        self.stream = DataStream(
            mini_header=link.mini_header, max_message_size=self.max_message_size
        )
        self.closed = False
        self._ack_generation = 0
        self._ack_sync_generation = -1
        self._unacked = 0
        self._ping_timer: Timer | None = None
        self._pace_timer: Timer | None = None
        self._pace_armed = False
        self._backlog_timer: Timer | None = None
        self._backlogged = False
        self.link_full_at: float | None = None  # when the link's budget last stopped us
        self._ping_id = 0
        self._ping_sent: dict[int, float] = {}
        self._ping_written: dict[int, int] = {}  # bytes written up to each ping, itself included
        self._pinged_written = 0  # that of the last ping
        self.round_trip_ms: float | None = None
        transport.handler = self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.channel.name} {self.connection.name}>"

    @property
    def channel_key(self) -> tuple[int, int]:
        return self.channel.type, self.channel.id

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Send what the channel sends first; called right after the link result OK."""
        if self.ack_window is not None:
            self._ack_generation += 1
            self.send(MsgSetAck(self._ack_generation, self.ack_window))
            self._unacked = 0

    def close(self, reason: str, level: int = logging.INFO) -> None:
        if not self.closed:
            self.send(MsgDisconnecting(int(self.clock.now() * 1e9), LinkError.OK))
        self.connection.close(f"{self.channel.name}: {reason}", level, flush=True)

    def on_closed(self) -> None:
        """Subclasses release what they hold here."""

    # -- ConnectionHandler ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.stream.receive_data(data)
        self._work_off()

    def _work_off_later(self, opaque: object) -> None:
        """The backlog's next turn, from a timer: bad input found now closes the
        connection here, as it would have in the connection's own callback."""
        try:
            self._work_off()
        except RemoteProtocolError as exc:
            self.connection.close(f"protocol error: {exc}", logging.WARNING)
        except Exception:
            log.exception("%r: internal error", self)
            self.connection.close("internal error (see the traceback above)", logging.ERROR)

    def _work_off(self) -> None:
        """Act on what the client sent, MESSAGES_PER_TURN at a time: a read can hold
        tens of thousands of tiny messages, and the loop has others to serve. While a
        backlog waits, nothing more is read. A congested connection reads nothing more
        and calls again once drained; what is already buffered waits too, so no run of
        requests can pile up replies."""
        budget = MESSAGES_PER_TURN
        while not self.closed and not self.connection.congested:
            message = self.stream.next_event()
            if message is NEED_DATA:
                if self._backlogged:
                    self._backlogged = False
                    self.connection.pause_reading(False)
                return
            assert isinstance(message, Message)
            self.handle(parse_client_message(self.channel.type, message))
            budget -= 1
            if budget == 0 and not self.closed:
                if self._backlog_timer is None:
                    self._backlog_timer = self.context.core.timer_add(self._work_off_later)
                self._backlogged = True
                self.connection.pause_reading(True)
                self.context.core.timer_start(self._backlog_timer, 0)
                return

    def writable(self) -> None:
        self.pump()

    def connection_lost(self, reason: str) -> None:
        self.closed = True
        for timer in (self._ping_timer, self._pace_timer, self._backlog_timer):
            if timer is not None:
                self.context.core.timer_remove(timer)
        self.channel.client_gone(self)
        self.session.remove(self)
        self.on_closed()

    # -- sending -------------------------------------------------------------------------

    def send(self, message: ServerMessage) -> None:
        if self.closed or self.connection.closed:
            return
        self.connection.write(self.stream.send(message.TYPE, message.pack()))
        if self._ack_generation:
            self._unacked += 1

    def can_send_more(self, urgent: bool = False) -> bool:
        """Room on the link and in the ack window for one more produced message; an
        ``urgent`` small one (an echo) may use twice the budget, not to wait behind the
        frames that fill it.

        When the link's budget is what stops us, a timer pumps again once enough has
        been delivered: the kernel never says so, since its buffer is far from full.
        """
        if self.closed or self.connection.closed:
            return False
        if self.ack_window is not None and self._unacked >= 2 * self.ack_window:
            return False
        interactive = self.clock.now() - self.session.last_input < INTERACTIVE_S
        connection = self.connection
        unconfirmed = connection.unconfirmed() if self.confirms_delivery else 0
        in_flight = max(connection.in_flight(), unconfirmed)
        excess = in_flight - connection.link.budget(interactive) * (2 if urgent else 1)
        if excess >= 0:
            connection.link.held_back(interactive and not urgent)
            self._pace_later(self.connection.link.drain_time(excess))
            return False
        return True

    def _pace_later(self, seconds: float) -> None:
        self.link_full_at = self.clock.now()
        if self._pace_timer is None:
            self._pace_timer = self.context.core.timer_add(self._paced)
        elif self._pace_armed:
            return
        self._pace_armed = True
        delay_ms = int(min(MAX_PACE_S, max(MIN_PACE_S, seconds)) * 1000)
        self.context.core.timer_start(self._pace_timer, delay_ms)

    def _paced(self, opaque: object) -> None:
        self._pace_armed = False
        if not self.closed:
            self.pump()

    def pump(self) -> None:
        """Produce messages while ``can_send_more()``; channels with lazy output override it."""

    # -- receiving -----------------------------------------------------------------------

    def handle(self, message: ClientMessage) -> None:
        match message:
            case MsgcAckSync(generation=generation):
                self._ack_sync_generation = generation
            case MsgcAck():
                if (
                    self.ack_window is not None
                    and self._ack_sync_generation == self._ack_generation
                ):
                    self._unacked = max(0, self._unacked - self.ack_window)
                    self.pump()
            case MsgcPong(id=ping_id):
                sent = self._ping_sent.pop(ping_id, None)
                written = self._ping_written.pop(ping_id, None)
                if sent is not None:  # first: whether it waited in a queue (link.py)
                    rtt = self.clock.now() - sent
                    self.round_trip_ms = rtt * 1000
                    self.connection.link.round_trip(rtt)
                if written is not None:
                    self.connection.confirm(written)
            case MsgcDisconnecting():
                self.closed = True
                self.connection.close(f"{self.channel.name}: the client is disconnecting")
            case MsgcMigrateFlushMark() | MsgcMigrateData():
                self.quiet_log.debug("%r: ignoring migration message %r", self, message)
            case _:
                self.handle_message(message)

    def handle_message(self, message: ClientMessage) -> None:
        """A channel-specific client message; known types the channel does not use are ignored."""
        self.quiet_log.debug("%r: ignoring %s", self, type(message).__name__)

    # -- keep-alive ----------------------------------------------------------------------

    def start_keepalive(self, interval_ms: int = PING_INTERVAL_MS) -> None:
        """Ping now and every ``interval_ms``; a client silent for PING_TIMEOUT_S is dropped."""
        self._ping_interval_ms = interval_ms
        self._ping_timer = self.context.core.timer_add(self._keepalive)
        self._keepalive(None)

    def _keepalive(self, opaque: object) -> None:
        now = self.clock.now()
        if self._ping_sent and now - min(self._ping_sent.values()) > PING_TIMEOUT_S:
            self.close(f"no answer to pings for {PING_TIMEOUT_S:.0f} s", logging.WARNING)
            return
        self.ping()
        assert self._ping_timer is not None
        self.context.core.timer_start(self._ping_timer, self._ping_interval_ms)

    def ping(self) -> None:
        """Send a PING; its PONG measures the round trip (``round_trip_ms``, the link's)
        and confirms that everything written before it arrived (the link's budget)."""
        now = self.clock.now()
        self._ping_id += 1
        self._ping_sent[self._ping_id] = now
        while len(self._ping_sent) > MAX_PINGS_OUT:
            oldest = min(self._ping_sent)
            del self._ping_sent[oldest]
            self._ping_written.pop(oldest, None)
        self.send(MsgPing(self._ping_id, int(now * 1e9)))
        self._ping_written[self._ping_id] = self._pinged_written = self.connection.written

    def ping_after_writes(self, at_least: int = 1) -> None:
        """Ping if ``at_least`` bytes were written since the last ping: for
        ``confirms_delivery`` channels, whose budget counts what the client has not
        confirmed, at the end of every pump (else bytes written last would count as on
        their way for good)."""
        if self.connection.written - self._pinged_written >= at_least and not self.closed:
            self.ping()
