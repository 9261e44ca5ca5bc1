"""The link stage, sans I/O: the handshake that opens every SPICE channel connection.

The client sends SpiceLinkHeader + SpiceLinkMess + capability words. The server answers
with its own header, a SpiceLinkReply (an RSA public key and its capabilities). If both
sides advertised PROTOCOL_AUTH_SELECTION the client names an auth mechanism (u32), then
sends a 128-byte RSA-OAEP encrypted ticket; the server answers a u32 link result.

:class:`ServerLink` is the server's side as a state machine: bytes go in with
:meth:`ServerLink.receive_data`, events come out of :meth:`ServerLink.next_event`, and the
``send_*`` methods return the bytes to write. It never touches a socket or a clock.
:class:`ClientLink` reads the server's answers the same way, for tests and tools.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .caps import caps_from_words, caps_to_words
from .constants import (
    MAGIC,
    TICKET_CIPHERTEXT_BYTES,
    TICKET_PUBKEY_BYTES,
    VERSION_MAJOR,
    VERSION_MINOR,
    CommonCap,
    LinkError,
)
from .errors import LocalProtocolError, RemoteProtocolError
from .events import NEED_DATA, NeedData

LINK_HEADER = struct.Struct("<4sIII")  # magic, major, minor, size
LINK_MESS = struct.Struct("<IBBIII")  # connection_id, type, id, n_common, n_channel, caps_offset
LINK_REPLY = struct.Struct(
    f"<I{TICKET_PUBKEY_BYTES}sIII"
)  # error, pub_key, n_common, n_channel, offset
U32 = struct.Struct("<I")

MIN_LINK_SIZE = LINK_MESS.size  # 18
MAX_LINK_SIZE = 4096
MAX_CAPS_WORDS = 1024


@dataclass(frozen=True)
class LinkRequest:
    """A parsed SpiceLinkMess: which channel the client wants, in which session."""

    connection_id: int
    channel_type: int
    channel_id: int
    common_caps: frozenset[int] = frozenset()
    channel_caps: frozenset[int] = frozenset()

    def pack(self) -> bytes:
        """The bytes a client sends (header included); used by tests and tools."""
        common = caps_to_words(self.common_caps)
        channel = caps_to_words(self.channel_caps)
        words = common + channel
        body = LINK_MESS.pack(
            self.connection_id,
            self.channel_type,
            self.channel_id,
            len(common),
            len(channel),
            LINK_MESS.size,
        ) + struct.pack(f"<{len(words)}I", *words)
        return LINK_HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, len(body)) + body


@dataclass(frozen=True)
class AuthMechanismSelected:
    """The client chose an auth mechanism (a CommonCap index: 1 SPICE, 2 SASL)."""

    mechanism: int


@dataclass(frozen=True)
class TicketReceived:
    """The client's RSA-OAEP encrypted ticket (password plus NUL)."""

    ciphertext: bytes


@dataclass(frozen=True)
class LinkReply:
    """A parsed SpiceLinkReply, as a client sees it (for tests and tools)."""

    error: int
    public_key: bytes
    common_caps: frozenset[int]
    channel_caps: frozenset[int]


@dataclass(frozen=True)
class LinkResult:
    """The server's u32 verdict after the ticket, as a client sees it (for tests and tools)."""

    error: int


LinkEvent = LinkRequest | AuthMechanismSelected | TicketReceived | NeedData


class LinkState(enum.Enum):
    RECV_REQUEST = "recv-request"
    SEND_REPLY = "send-reply"
    RECV_AUTH_MECHANISM = "recv-auth-mechanism"
    RECV_TICKET = "recv-ticket"
    SASL = "sasl"  # the SASL exchange (``protocol.sasl``) has the bytes until it is over
    SEND_RESULT = "send-result"
    DONE = "done"
    ERROR = "error"


class _LinkStage:
    """What both ends of the link stage share: the bytes received and the hand-over of the
    ones that follow it, which already belong to the data stage."""

    def __init__(self, state: LinkState) -> None:
        self.state = state
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet taken by an event."""
        return len(self._buffer)

    def trailing_data(self) -> bytes:
        """Bytes received after the last event of the link stage: the data stage's start."""
        if self.state is not LinkState.DONE:
            raise LocalProtocolError("the link is not done")
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


class ServerLink(_LinkStage):
    """The server side of one connection's link stage."""

    def __init__(self, *, auth_mechanisms: Iterable[int] = (CommonCap.AUTH_SPICE,)) -> None:
        super().__init__(LinkState.RECV_REQUEST)
        self.request: LinkRequest | None = None
        self.auth_selection = False
        self.mini_header = False
        self._replied = False
        self._auth_mechanisms = frozenset(int(m) for m in auth_mechanisms)

    def next_event(self) -> LinkEvent:
        try:
            return self._next_event()
        except RemoteProtocolError:
            self.state = LinkState.ERROR
            raise

    def _next_event(self) -> LinkEvent:
        if self.state is LinkState.RECV_REQUEST:
            return self._parse_request()
        if self.state is LinkState.RECV_AUTH_MECHANISM:
            if len(self._buffer) < U32.size:
                return NEED_DATA
            (mechanism,) = U32.unpack_from(self._buffer)
            del self._buffer[: U32.size]
            if mechanism not in self._auth_mechanisms:
                raise RemoteProtocolError(f"unsupported auth mechanism {mechanism}")
            sasl = mechanism == CommonCap.AUTH_SASL
            self.state = LinkState.SASL if sasl else LinkState.RECV_TICKET
            return AuthMechanismSelected(mechanism)
        if self.state is LinkState.RECV_TICKET:
            if len(self._buffer) < TICKET_CIPHERTEXT_BYTES:
                return NEED_DATA
            ticket = bytes(self._buffer[:TICKET_CIPHERTEXT_BYTES])
            del self._buffer[:TICKET_CIPHERTEXT_BYTES]
            self.state = LinkState.SEND_RESULT
            return TicketReceived(ticket)
        return NEED_DATA

    def _parse_request(self) -> LinkEvent:
        buf = self._buffer
        if len(buf) >= 4 and buf[:4] != MAGIC:
            raise RemoteProtocolError(f"bad magic {bytes(buf[:4])!r}", LinkError.INVALID_MAGIC)
        if len(buf) < LINK_HEADER.size:
            return NEED_DATA
        _, major, _minor, size = LINK_HEADER.unpack_from(buf)
        if major != VERSION_MAJOR:
            raise RemoteProtocolError(
                f"protocol version {major} is not {VERSION_MAJOR}", LinkError.VERSION_MISMATCH
            )
        if not MIN_LINK_SIZE <= size <= MAX_LINK_SIZE:
            raise RemoteProtocolError(f"link message size {size} out of range")
        if len(buf) < LINK_HEADER.size + size:
            return NEED_DATA
        body = bytes(buf[LINK_HEADER.size : LINK_HEADER.size + size])
        del buf[: LINK_HEADER.size + size]
        conn_id, ch_type, ch_id, n_common, n_channel, offset = LINK_MESS.unpack_from(body)
        n_words = n_common + n_channel
        if n_words > MAX_CAPS_WORDS:
            raise RemoteProtocolError(f"{n_words} capability words is too many")
        if offset < LINK_MESS.size or offset + 4 * n_words > size:
            raise RemoteProtocolError("capability words lie outside the link message")
        words = struct.unpack_from(f"<{n_words}I", body, offset)
        self.request = LinkRequest(
            conn_id,
            ch_type,
            ch_id,
            caps_from_words(words[:n_common]),
            caps_from_words(words[n_common:]),
        )
        self.state = LinkState.SEND_REPLY
        return self.request

    def send_reply(
        self, public_key: bytes, common_caps: Iterable[int], channel_caps: Iterable[int]
    ) -> bytes:
        """Accept the request: the SpiceLinkReply with our key and capabilities."""
        if self.state is not LinkState.SEND_REPLY or self.request is None:
            raise LocalProtocolError(f"cannot send a link reply in state {self.state}")
        if len(public_key) != TICKET_PUBKEY_BYTES:
            raise LocalProtocolError(f"public key must be {TICKET_PUBKEY_BYTES} bytes")
        common = frozenset(int(c) for c in common_caps)
        client = self.request.common_caps
        self.auth_selection = (
            CommonCap.PROTOCOL_AUTH_SELECTION in common
            and CommonCap.PROTOCOL_AUTH_SELECTION in client
        )
        self.mini_header = CommonCap.MINI_HEADER in common and CommonCap.MINI_HEADER in client
        self.state = LinkState.RECV_AUTH_MECHANISM if self.auth_selection else LinkState.RECV_TICKET
        self._replied = True
        common_words = caps_to_words(common)
        channel_words = caps_to_words(channel_caps)
        words = common_words + channel_words
        body = LINK_REPLY.pack(
            LinkError.OK, public_key, len(common_words), len(channel_words), LINK_REPLY.size
        ) + struct.pack(f"<{len(words)}I", *words)
        return LINK_HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, len(body)) + body

    def sasl_started(self) -> bytes:
        """Hand the bytes after the auth mechanism over to the SASL exchange."""
        if self.state is not LinkState.SASL:
            raise LocalProtocolError(f"no SASL exchange in state {self.state}")
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def sasl_succeeded(self, trailing: bytes) -> None:
        """The SASL exchange let the client in; ``trailing`` is what followed it."""
        if self.state is not LinkState.SASL:
            raise LocalProtocolError(f"no SASL exchange in state {self.state}")
        self._buffer[:0] = trailing
        self.state = LinkState.SEND_RESULT

    def send_result(self, error: LinkError) -> bytes:
        """The u32 link result after the ticket; OK moves on to the data stage."""
        if self.state is not LinkState.SEND_RESULT:
            raise LocalProtocolError(f"cannot send a link result in state {self.state}")
        self.state = LinkState.DONE if error == LinkError.OK else LinkState.ERROR
        return U32.pack(error)

    def send_error(self, error: LinkError) -> bytes:
        """Refuse the link in the form the client expects at this point of the handshake.

        Before the reply that is a full SpiceLinkReply carrying only the error; after it, the
        client waits for the u32 result, so that is what it gets.
        """
        if error == LinkError.OK:
            raise LocalProtocolError("send_error needs an error")
        self.state = LinkState.ERROR
        if self._replied:
            return U32.pack(error)
        body = LINK_REPLY.pack(error, bytes(TICKET_PUBKEY_BYTES), 0, 0, 0)
        return LINK_HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, len(body)) + body


class ClientLink(_LinkStage):
    """The client's side of the link stage, reading only: the server's reply, then its result.

    ``next_event`` returns the :class:`LinkReply`, then (if it carried no error) the
    :class:`LinkResult` once the client has sent its ticket, then only ``NEED_DATA``.
    ``state`` names the step of the handshake it waits for, in the server's terms.
    """

    def __init__(self) -> None:
        super().__init__(LinkState.SEND_REPLY)

    def next_event(self) -> LinkReply | LinkResult | NeedData:
        if self.state is LinkState.SEND_REPLY:
            return self._parse_reply()
        if self.state is LinkState.SEND_RESULT and len(self._buffer) >= U32.size:
            (error,) = U32.unpack_from(self._buffer)
            del self._buffer[: U32.size]
            self.state = LinkState.DONE
            return LinkResult(error)
        return NEED_DATA

    def _parse_reply(self) -> LinkReply | NeedData:
        buf = self._buffer
        if len(buf) >= 4 and buf[:4] != MAGIC:
            raise RemoteProtocolError("bad magic in link reply", LinkError.INVALID_MAGIC)
        if len(buf) < LINK_HEADER.size:
            return NEED_DATA
        _magic, _major, _minor, size = LINK_HEADER.unpack_from(buf)
        if size < LINK_REPLY.size:
            raise RemoteProtocolError("short link reply")
        if len(buf) < LINK_HEADER.size + size:
            return NEED_DATA
        body = bytes(buf[LINK_HEADER.size : LINK_HEADER.size + size])
        del buf[: LINK_HEADER.size + size]
        error, key, n_common, n_channel, offset = LINK_REPLY.unpack_from(body)
        n_words = n_common + n_channel
        if offset and (offset < LINK_REPLY.size or offset + 4 * n_words > size):
            raise RemoteProtocolError("capability words lie outside the link reply")
        words = struct.unpack_from(f"<{n_words}I", body, offset) if offset else ()
        self.state = LinkState.SEND_RESULT if error == LinkError.OK else LinkState.DONE
        return LinkReply(
            error, key, caps_from_words(words[:n_common]), caps_from_words(words[n_common:])
        )
