"""Admission: accepting connections, running their link handshakes, and keeping sessions.

This is the server's :class:`~spice_server.net.handshake.LinkPolicy`. A connection is
accepted (CONNECTED), its handshake is driven under a deadline and a cap on unfinished
ones, the requested channel is checked, then the ticket, then the session it names (or
room for a new one); once linked the connection belongs to a channel client of a session
(INITIALIZED). MAIN opens a new session (libspice's RedClient); every other channel
joins the session it names.

What one address may hold is bounded (``config.Limits``): unfinished handshakes (past
the cap its own oldest is dropped; past the total cap, the oldest of the address with
the most), sessions, and the pace of its ticket checks after failures (``TicketThrottle``).
So a flood from one address costs that address, not the others.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
from collections import Counter
from collections.abc import Callable, Iterable

from .channels.base import Channel
from .channels.context import ClientLink
from .channels.session import Session
from .config import ServerConfig
from .core.base import ChannelEvent, ChannelEventInfo, Core
from .core.clock import Clock
from .net.auth import TicketAuthority
from .net.connection import Connection
from .net.exposure import origin_refusal
from .net.handshake import Handshake
from .net.sasl import Sasl
from .net.sockets import configure_client_socket
from .net.throttle import TicketThrottle
from .protocol.constants import ChannelType, CommonCap, LinkError
from .protocol.link import LinkRequest, ServerLink

log = logging.getLogger(__name__)

ChannelLookup = Callable[[int, int], Channel | None]
EventSink = Callable[[ChannelEvent, ChannelEventInfo], None]


class Admission:
    def __init__(
        self,
        config: ServerConfig,
        auth: TicketAuthority,
        channel: ChannelLookup,
        emit: EventSink,
        clock: Clock,
        sasl: Sasl | None = None,
        idle: Callable[[], None] = lambda: None,
    ) -> None:
        """With ``sasl`` clients log in through SASL instead of giving the ticket;
        ``idle`` is called when the last session has ended."""
        self.config = config
        self.sasl = sasl
        self.common_caps = frozenset(
            {
                CommonCap.PROTOCOL_AUTH_SELECTION,
                CommonCap.AUTH_SASL if sasl is not None else CommonCap.AUTH_SPICE,
                CommonCap.MINI_HEADER,
            }
        )
        self.clock = clock
        self.auth = auth
        self._channel = channel
        self._emit = emit
        self._idle = idle
        self.sessions: dict[int, Session] = {}
        self._session_hosts: dict[int, str] = {}
        self._handshakes: dict[Handshake, None] = {}
        self._connections: set[Connection] = set()
        limits = config.limits
        self.throttle = TicketThrottle(clock, limits.free_ticket_failures, limits.max_ticket_delay)

    @property
    def authenticates(self) -> bool:
        """Whether clients must prove who they are (a ticket or SASL)."""
        return self.auth.enabled or self.sasl is not None

    def origin_refusal(self, origin: str | None) -> str | None:
        """Why a WebSocket from a page of ``origin`` is refused, or None to accept it."""
        return origin_refusal(
            origin,
            allowed=self.config.websocket_origins,
            allow_insecure=self.config.allow_insecure,
        )

    @property
    def public_key(self) -> bytes:
        return self.auth.public_key

    @property
    def pending_links(self) -> int:
        return len(self._handshakes)

    def add_client(
        self,
        core: Core,
        sock: socket.socket,
        skip_auth: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Serve a connected socket: CONNECTED now, then its link handshake (TLS first with
        ``tls``; the handshake's deadline and the cap on unfinished ones cover both)."""
        configure_client_socket(sock)
        connection = Connection(
            core,
            sock,
            websocket=self.config.websocket,
            check_origin=self.origin_refusal,
            clock=self.clock,
            tls=tls,
        )
        connection.on_closed = self._connection_closed
        self._connections.add(connection)
        self._emit(ChannelEvent.CONNECTED, connection.info)
        self._make_room(host_of(connection))
        handshake = Handshake(connection, self, int(self.config.link_timeout * 1000), skip_auth)
        self._handshakes[handshake] = None

    def _make_room(self, host: str) -> None:
        """Drop unfinished handshakes until a new one from ``host`` fits: its own oldest
        past its own cap; past the total cap the oldest of the busiest address."""
        per_address = self.config.limits.max_pending_links_per_address
        while True:
            hosts = Counter(host_of(h.connection) for h in self._handshakes)
            if hosts[host] >= per_address:
                victim_host = host
            elif len(self._handshakes) >= self.config.max_pending_links:
                victim_host = hosts.most_common(1)[0][0]
            else:
                return
            victim = next(h for h in self._handshakes if host_of(h.connection) == victim_host)
            victim.connection.close("too many unfinished link handshakes", logging.WARNING)
            self._handshakes.pop(victim, None)

    def close_all(self, reason: str) -> None:
        for connection in list(self._connections):
            connection.close(reason)

    def end_sessions(self, reason: str) -> None:
        for session in list(self.sessions.values()):
            session.close(reason)

    def _connection_closed(self, connection: Connection, reason: str) -> None:
        self._connections.discard(connection)
        self._emit(ChannelEvent.DISCONNECTED, connection.info)

    # -- LinkPolicy ------------------------------------------------------------------------

    def check_request(
        self, request: LinkRequest, connection: Connection
    ) -> tuple[LinkError, Iterable[int]]:
        channel = self._channel(request.channel_type, request.channel_id)
        if channel is None:
            return LinkError.CHANNEL_NOT_AVAILABLE, ()
        security = self.config.channel_security(request.channel_type)
        if security == "tls" and connection.tls is None:
            return LinkError.NEED_SECURED, ()
        if security == "plain" and connection.tls is not None:
            return LinkError.NEED_UNSECURED, ()
        if request.channel_type == ChannelType.MAIN and request.connection_id != 0:
            return LinkError.BAD_CONNECTION_ID, ()  # a migration target: not supported
        return LinkError.OK, channel.caps()

    def ticket_delay(self, connection: Connection) -> float | None:
        if not self.auth.enabled:
            return 0.0
        return self.throttle.reserve(host_of(connection))

    def check_ticket(self, ciphertext: bytes, connection: Connection) -> tuple[LinkError, str]:
        error, reason = self.auth.check(ciphertext)
        host = host_of(connection)
        if error == LinkError.OK:
            self.throttle.succeeded(host)
        elif self.auth.enabled:
            self.throttle.failed(host)
            reason += f" ({self.throttle.failures(host)} in a row from {host})"
        return error, reason

    def check_admission(
        self, request: LinkRequest, connection: Connection
    ) -> tuple[LinkError, str]:
        if request.channel_type != ChannelType.MAIN:
            if request.connection_id not in self.sessions:
                return LinkError.BAD_CONNECTION_ID, "no such session"
            return LinkError.OK, ""
        limits = self.config.limits
        if self.config.exclusive:
            return LinkError.OK, ""  # the new session replaces the others
        if len(self.sessions) >= limits.max_sessions:
            return LinkError.ERROR, f"{len(self.sessions)} sessions: no room for another"
        host = host_of(connection)
        mine = sum(1 for h in self._session_hosts.values() if h == host)
        if mine >= limits.max_sessions_per_address:
            return LinkError.ERROR, f"{host} has {mine} sessions: no room for another"
        return LinkError.OK, ""

    def handshake_finished(self, handshake: Handshake) -> None:
        self._handshakes.pop(handshake, None)

    def linked(self, connection: Connection, link: ServerLink, trailing: bytes) -> None:
        request = link.request
        assert request is not None
        channel = self._channel(request.channel_type, request.channel_id)
        if channel is None:
            connection.close("the channel went away during the handshake")
            return
        session = self._session_for(request, host_of(connection))
        if session is None:
            connection.close("the session ended during the handshake")
            return
        client_link = ClientLink(request.common_caps, request.channel_caps, link.mini_header)
        client = channel.connect(session, connection, client_link)
        info = connection.info
        info.connection_id, info.type, info.id = session.id, channel.type, channel.id
        log.debug("%s linked %s (session %08x)", connection.name, channel.name, session.id)
        self._emit(ChannelEvent.INITIALIZED, info)
        client.start()
        if trailing and not client.closed:
            client.data_received(trailing)

    def _session_for(self, request: LinkRequest, host: str) -> Session | None:
        if request.channel_type != ChannelType.MAIN:
            return self.sessions.get(request.connection_id)
        if self.config.exclusive:
            self.end_sessions("replaced by a new client")
        session = Session(self._new_session_id(), self._session_closed)
        self.sessions[session.id] = session
        self._session_hosts[session.id] = host
        return session

    def _new_session_id(self) -> int:
        while True:
            session_id = secrets.randbits(32)
            if session_id and session_id not in self.sessions:
                return session_id

    def _session_closed(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self._session_hosts.pop(session.id, None)
        if not self.sessions:
            self._idle()


def host_of(connection: Connection) -> str:
    """The address limits count by: the peer's IP (every local socket counts as one)."""
    address = connection.peer_address
    if isinstance(address, tuple) and address:
        return str(address[0])
    return "local"
