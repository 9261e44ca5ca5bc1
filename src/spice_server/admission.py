"""Admission: accepting connections, running their link handshakes, and keeping sessions.

This is the server's :class:`~spice_server.net.handshake.LinkPolicy`. A connection is
accepted (CONNECTED), its handshake is driven under a deadline and a cap on unfinished
ones, the requested channel and the session id are checked, then the ticket; once linked
the connection belongs to a channel client of a session (INITIALIZED). MAIN opens a new
session (libspice's RedClient); every other channel joins the session it names.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
from collections.abc import Callable, Iterable

from .channels.base import Channel
from .channels.context import ClientLink
from .channels.session import Session
from .config import ServerConfig
from .core.base import ChannelEvent, ChannelEventInfo, Core
from .core.clock import Clock
from .net.auth import TicketAuthority
from .net.connection import Connection, configure_client_socket
from .net.exposure import origin_refusal
from .net.handshake import Handshake
from .net.sasl import Sasl
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
    ) -> None:
        """With ``sasl`` clients log in through SASL instead of giving the ticket."""
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
        self.sessions: dict[int, Session] = {}
        self._handshakes: dict[Handshake, None] = {}
        self._connections: set[Connection] = set()

    @property
    def authenticates(self) -> bool:
        """Whether clients must prove who they are (a ticket or SASL)."""
        return self.auth.enabled or self.sasl is not None

    def origin_refusal(self, origin: str | None) -> str | None:
        """Why a WebSocket from a page of ``origin`` is refused, or None to accept it."""
        return origin_refusal(
            origin, password=self.authenticates, allow_insecure=self.config.allow_insecure
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
        while len(self._handshakes) >= self.config.max_pending_links:
            oldest = next(iter(self._handshakes))
            oldest.connection.close("too many unfinished link handshakes", logging.WARNING)
        handshake = Handshake(connection, self, int(self.config.link_timeout * 1000), skip_auth)
        self._handshakes[handshake] = None

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
        if request.channel_type == ChannelType.MAIN:
            if request.connection_id != 0:
                return LinkError.BAD_CONNECTION_ID, ()  # a migration target: not supported
        elif request.connection_id not in self.sessions:
            return LinkError.BAD_CONNECTION_ID, ()
        return LinkError.OK, channel.caps()

    def check_ticket(self, ciphertext: bytes) -> tuple[LinkError, str]:
        return self.auth.check(ciphertext)

    def handshake_finished(self, handshake: Handshake) -> None:
        self._handshakes.pop(handshake, None)

    def linked(self, connection: Connection, link: ServerLink, trailing: bytes) -> None:
        request = link.request
        assert request is not None
        channel = self._channel(request.channel_type, request.channel_id)
        if channel is None:
            connection.close("the channel went away during the handshake")
            return
        session = self._session_for(request)
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

    def _session_for(self, request: LinkRequest) -> Session | None:
        if request.channel_type != ChannelType.MAIN:
            return self.sessions.get(request.connection_id)
        if self.config.exclusive:
            self.end_sessions("replaced by a new client")
        session = Session(self._new_session_id(), self._session_closed)
        self.sessions[session.id] = session
        return session

    def _new_session_id(self) -> int:
        while True:
            session_id = secrets.randbits(32)
            if session_id and session_id not in self.sessions:
                return session_id

    def _session_closed(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
