"""The SPICE byte stream inside a WebSocket, for clients in browsers (spice-html5).

A browser cannot open a TCP socket, so spice-html5 opens a WebSocket to the server's SPICE
port and sends the very bytes a native client would, in binary messages; the server answers
the same way. Message boundaries mean nothing: SPICE messages may be split across or packed
into frames in any way, so the stream is simply the concatenation of the payloads.

``WebSocketTransport`` is sans-I/O, like the protocol layer: network bytes go in with
``receive_data`` and the SPICE bytes inside come out; SPICE bytes go in with ``send`` and
frames come out. What the protocol itself must say back (the upgrade response, pongs, a
close frame, an HTTP error) collects in ``data_to_send``. wsproto does the HTTP upgrade and
the framing; this module decides what to accept.

A new connection is told apart from plain SPICE by its first four bytes (``sniff``): a
SPICE link starts with the magic "REDQ", a WebSocket with an HTTP "GET ".
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import wsproto.utilities
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from ..protocol.errors import RemoteProtocolError

SUBPROTOCOL = "binary"  # what spice-html5 asks for: raw bytes in binary messages
MAX_FRAME_BYTES = 1 << 20  # far above any client-to-server SPICE message
MAX_EVENTS = 64  # frames parsed per call: tiny ones (pings) cost far more than their bytes
MAX_REQUEST_BYTES = 16 * 1024  # an upgrade request's head is a few hundred bytes
_HTTP_PREFIX = b"GET "

OriginCheck = Callable[[str | None], str | None]
"""Given a request's Origin header (None if absent), the reason to refuse it, or None."""


class StreamKind(Enum):
    SPICE = "spice"
    WEBSOCKET = "websocket"


def sniff(prefix: bytes) -> StreamKind | None:
    """What a connection carries, from its first bytes; None until that is certain."""
    head = prefix[: len(_HTTP_PREFIX)]
    if head != _HTTP_PREFIX[: len(head)]:
        return StreamKind.SPICE
    if len(head) < len(_HTTP_PREFIX):
        return None
    return StreamKind.WEBSOCKET


class WebSocketTransport:
    """One server-side WebSocket carrying a SPICE byte stream.

    Bad input raises :class:`RemoteProtocolError` after queueing the answer the peer is owed
    (an HTTP 400/403 before the upgrade, a close frame after it); the caller sends
    ``data_to_send()`` and then closes. When the peer closes, ``peer_closed`` becomes true
    and the close reply is queued likewise.
    """

    def __init__(
        self, check_origin: OriginCheck | None = None, max_frame_bytes: int = MAX_FRAME_BYTES
    ) -> None:
        self._ws = WSConnection(ConnectionType.SERVER)
        self._check_origin = check_origin
        self._max_frame_bytes = max_frame_bytes
        self._frame_bytes = 0
        self._outgoing = bytearray()
        self._request = bytearray()
        self.subprotocol: str | None = None
        self.peer_closed = False
        self.close_code: int | None = None
        self._eof = False
        self.backlog = False  # frames may wait, unparsed: call receive_data(b"") again

    @property
    def open(self) -> bool:
        """The upgrade is done and neither side has started closing."""
        return self._ws.state is ConnectionState.OPEN and not self._eof

    def eof_received(self) -> None:
        """The peer's socket closed: nothing more can be said to it."""
        self._eof = True

    def data_to_send(self) -> bytes:
        """Bytes the protocol itself must send (handshake answer, pongs, close frames)."""
        data, self._outgoing = bytes(self._outgoing), bytearray()
        return data

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes from the network; returns the SPICE bytes they carried."""
        if self._ws.state in (ConnectionState.CLOSED, ConnectionState.REJECTING):
            return b""
        if self._ws.state is ConnectionState.CONNECTING:
            data = self._receive_request(data)
        if data:
            self._ws.receive_data(data)
        return self._process_events()

    def _receive_request(self, data: bytes) -> bytes:
        """Collect the HTTP request head and answer it; returns what followed it.

        wsproto would drop bytes that arrive with the request (a client may not send
        frames before the answer, but the stream must not silently lose any), so the
        head is cut off here and only the head goes to the handshake.
        """
        self._request += data
        end = self._request.find(b"\r\n\r\n")
        if end < 0:
            if len(self._request) > MAX_REQUEST_BYTES:
                self._reject(400)
                raise RemoteProtocolError(
                    f"bad WebSocket handshake: no end of the request in {MAX_REQUEST_BYTES} bytes"
                )
            return b""
        head, rest = bytes(self._request[: end + 4]), bytes(self._request[end + 4 :])
        self._request = bytearray()
        try:
            self._ws.receive_data(head)
        except wsproto.utilities.RemoteProtocolError as exc:
            self._reject(400)
            raise RemoteProtocolError(f"bad WebSocket handshake: {exc}") from None
        self._process_events()
        if self._ws.state is not ConnectionState.OPEN:
            self._reject(400)
            raise RemoteProtocolError("bad WebSocket handshake: the request is incomplete")
        return rest

    def _process_events(self) -> bytes:
        """What MAX_EVENTS frames carried; ``backlog`` says whether more may wait."""
        payload = bytearray()
        self.backlog = False
        for count, event in enumerate(self._ws.events(), 1):
            if isinstance(event, Request):
                self._accept(event)
            elif isinstance(event, BytesMessage):
                self._frame_bytes += len(event.data)
                if self._frame_bytes > self._max_frame_bytes:
                    self._fail(CloseReason.MESSAGE_TOO_BIG, "frame too large")
                    raise RemoteProtocolError(
                        f"WebSocket frame larger than {self._max_frame_bytes} bytes"
                    )
                if event.frame_finished:
                    self._frame_bytes = 0
                payload += event.data
            elif isinstance(event, TextMessage):
                self._fail(CloseReason.UNSUPPORTED_DATA, "SPICE needs binary messages")
                raise RemoteProtocolError("WebSocket text message (SPICE needs binary ones)")
            elif isinstance(event, Ping):
                self._outgoing += self._ws.send(event.response())
            elif isinstance(event, CloseConnection):
                self._closed_by_peer_or_parser(event)
                break
            # Pongs answer nothing we asked; ignore them.
            if count >= MAX_EVENTS:
                self.backlog = True
                break
        return bytes(payload)

    def send(self, payload: bytes | bytearray | memoryview) -> bytes:
        """Frame SPICE bytes as one binary message; nothing once closing has begun."""
        if not self.open or not payload:
            return b""
        return self._ws.send(BytesMessage(data=payload))  # type: ignore[arg-type]

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str = "") -> bytes:
        """The close frame that starts a closing we decided on (empty if not open)."""
        if not self.open:
            return b""
        self.close_code = code
        return self._ws.send(CloseConnection(code=code, reason=reason[:100] or None))

    # -- inside ----------------------------------------------------------------------

    def _accept(self, request: Request) -> None:
        origin = next(
            (value.decode("latin-1") for name, value in request.extra_headers if name == b"origin"),
            None,
        )
        refusal = self._check_origin(origin) if self._check_origin is not None else None
        if refusal is not None:
            self._reject(403)
            raise RemoteProtocolError(f"WebSocket from origin {origin!r} refused: {refusal}")
        if request.subprotocols and SUBPROTOCOL not in request.subprotocols:
            self._reject(400)
            raise RemoteProtocolError(
                f"WebSocket subprotocols {request.subprotocols} offered; only "
                f"{SUBPROTOCOL!r} is served"
            )
        self.subprotocol = SUBPROTOCOL if request.subprotocols else None
        self._outgoing += self._ws.send(AcceptConnection(subprotocol=self.subprotocol))

    def _reject(self, status: int) -> None:
        if self._ws.state is ConnectionState.CONNECTING:
            self._outgoing += self._ws.send(RejectConnection(status_code=status))

    def _fail(self, code: CloseReason, reason: str) -> None:
        self._outgoing += self.close(code, reason)

    def _closed_by_peer_or_parser(self, event: CloseConnection) -> None:
        """wsproto reports both a peer's close frame and its own parse failures this way."""
        if self._ws.state is ConnectionState.REMOTE_CLOSING:
            self.peer_closed = True
            self.close_code = event.code
            self._outgoing += self._ws.send(event.response())
            return
        if self._ws.state is ConnectionState.CLOSED:  # the answer to our own close
            self.peer_closed = True
            return
        self._fail(CloseReason(event.code), event.reason or "bad frame")
        raise RemoteProtocolError(f"bad WebSocket frame: {event.reason}")
