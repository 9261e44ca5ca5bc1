"""The SASL exchange of the link stage, sans I/O: the server's side of its framing.

When both ends advertise AUTH_SASL and the client picks it (the u32 auth mechanism 2), the
server lists its mechanisms: a u32 length and the names separated by commas. The client
answers with a mechanism name (u32 length, 1 to 100 bytes) and its first data. Data goes
both ways as a u32 length, 0 meaning "no data" (which SASL tells apart from empty data),
otherwise the bytes followed by a NUL that the length counts. Each server answer is such a
block and a u8: 1 when the server is done, 0 when it waits for another client block. Once
done the server gives its verdict, a u32: 0 and then, as after a ticket, the u32 link
result and the data stage; or 1, a u32 length and a NUL-terminated message, and the end.

:class:`ServerSasl` parses the client's blocks (``receive_data`` / ``next_event``) and
builds the server's; what the blocks mean is up to the mechanisms (``net.sasl``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import LocalProtocolError, RemoteProtocolError
from .events import NEED_DATA, NeedData

U32 = struct.Struct("<I")
MAX_MECHANISM_NAME = 100
MAX_DATA = 16 * 1024  # far more than PLAIN or SCRAM need; a handshake holds no more
_MECHANISM_NAME = re.compile(rb"[A-Z0-9_-]{1,20}")  # RFC 4422's charset and length


@dataclass(frozen=True)
class SaslStart:
    """The client's chosen mechanism and its initial response (None: none given)."""

    mechanism: str
    data: bytes | None


@dataclass(frozen=True)
class SaslStep:
    """The client's next response."""

    data: bytes | None


class ServerSasl:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._started = False
        self._waiting = False  # a client block is expected
        self.done = False

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> SaslStart | SaslStep | NeedData:
        if not self._waiting:
            return NEED_DATA
        if self._started:
            block = self._block(0)
            if block is None:
                return NEED_DATA
            data, used = block
            del self._buffer[:used]
            self._waiting = False
            return SaslStep(data)
        if len(self._buffer) < U32.size:
            return NEED_DATA
        (length,) = U32.unpack_from(self._buffer)
        if not 1 <= length <= MAX_MECHANISM_NAME:
            raise RemoteProtocolError(f"SASL mechanism name of {length} bytes")
        block = self._block(U32.size + length)
        if block is None:
            return NEED_DATA
        name = bytes(self._buffer[U32.size : U32.size + length])
        if not _MECHANISM_NAME.fullmatch(name):
            raise RemoteProtocolError(f"bad SASL mechanism name {name[:40]!r}")
        data, used = block
        del self._buffer[:used]
        self._started = True
        self._waiting = False
        return SaslStart(name.decode(), data)

    def _block(self, offset: int) -> tuple[bytes | None, int] | None:
        """A data block at ``offset``: its data and where it ends, or None if incomplete."""
        if len(self._buffer) < offset + U32.size:
            return None
        (length,) = U32.unpack_from(self._buffer, offset)
        if length > MAX_DATA:
            raise RemoteProtocolError(f"{length} bytes of SASL data is too much")
        end = offset + U32.size + length
        if len(self._buffer) < end:
            return None
        if length == 0:
            return None, end
        return bytes(self._buffer[offset + U32.size : end - 1]), end  # without its NUL

    def send_mechanisms(self, names: Iterable[str]) -> bytes:
        if self._started or self._waiting:
            raise LocalProtocolError("the mechanisms are listed once, first")
        text = ",".join(names).encode()
        self._waiting = True
        return U32.pack(len(text)) + text

    def send_answer(self, data: bytes | None, done: bool) -> bytes:
        """The server's block; unless ``done``, the client's next block is awaited."""
        if not self._started or self._waiting or self.done:
            raise LocalProtocolError("no client block to answer")
        self.done = done
        self._waiting = not done
        block = U32.pack(0) if data is None else U32.pack(len(data) + 1) + data + b"\0"
        return block + bytes([1 if done else 0])

    def send_verdict(self, accepted: bool) -> bytes:
        """After the last answer: the client is in (the link result follows), or it is not."""
        if not self.done:
            raise LocalProtocolError("the SASL exchange is not over")
        if accepted:
            return U32.pack(0)
        message = b"Authentication failed\0"
        return U32.pack(1) + U32.pack(len(message)) + message

    def trailing_data(self) -> bytes:
        """What the client sent after the exchange: the start of the data stage."""
        if not self.done:
            raise LocalProtocolError("the SASL exchange is not over")
        data = bytes(self._buffer)
        self._buffer.clear()
        return data
