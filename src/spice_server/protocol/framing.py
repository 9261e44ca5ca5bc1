"""The data stage's framing, sans I/O: message headers in both directions.

With MINI_HEADER negotiated every message is ``u16 type, u32 size`` then the body; without
it the 18-byte full header adds a u64 serial and a u32 sub-list offset. Serials count from
1 per direction; with the mini header both sides count implicitly.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import RemoteProtocolError
from .events import NEED_DATA, NeedData

MINI_HEADER = struct.Struct("<HI")
FULL_HEADER = struct.Struct("<QHII")

DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024


@dataclass(frozen=True)
class Message:
    """One framed message: its type number and its raw body."""

    type: int
    body: bytes


class DataStream:
    """Cuts received bytes into :class:`Message` objects and frames outgoing ones.

    ``max_message_size`` bounds what the peer may send in one message: a larger size in a
    header is a protocol error before any of its body is buffered.
    """

    def __init__(
        self, *, mini_header: bool = True, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        self.mini_header = mini_header
        self.max_message_size = max_message_size
        self._header = MINI_HEADER if mini_header else FULL_HEADER
        self._buffer = bytearray()
        self._received = 0
        self.sent = 0

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> Message | NeedData:
        header = self._header
        buf = self._buffer
        if len(buf) < header.size:
            return NEED_DATA
        if self.mini_header:
            msg_type, size = MINI_HEADER.unpack_from(buf)
        else:
            serial, msg_type, size, _sub_list = FULL_HEADER.unpack_from(buf)
            if serial != self._received + 1:
                raise RemoteProtocolError(f"message serial {serial}, expected {self._received + 1}")
        if size > self.max_message_size:
            raise RemoteProtocolError(
                f"message type {msg_type} of {size} bytes exceeds the limit of "
                f"{self.max_message_size}"
            )
        end = header.size + size
        if len(buf) < end:
            return NEED_DATA
        body = bytes(buf[header.size : end])
        del buf[:end]
        self._received += 1
        return Message(msg_type, body)

    def send(self, msg_type: int, body: bytes) -> bytes:
        """Frame one message; returns header + body."""
        self.sent += 1
        if self.mini_header:
            return MINI_HEADER.pack(msg_type, len(body)) + body
        return FULL_HEADER.pack(self.sent, msg_type, len(body), 0) + body

    def send_header(self, msg_type: int, body_size: int) -> bytes:
        """Frame a message whose body the caller writes itself (large images, no copy)."""
        self.sent += 1
        if self.mini_header:
            return MINI_HEADER.pack(msg_type, body_size)
        return FULL_HEADER.pack(self.sent, msg_type, body_size, 0)


def pack_client_message(
    msg_type: int, body: bytes, *, mini_header: bool = True, serial: int = 1
) -> bytes:
    """Frame a client-to-server message (for tests and tools)."""
    if mini_header:
        return MINI_HEADER.pack(msg_type, len(body)) + body
    return FULL_HEADER.pack(serial, msg_type, len(body), 0) + body
