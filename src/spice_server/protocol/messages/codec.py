"""The machinery shared by message classes: base classes, fixed layouts, strict lengths.

Every message is a frozen, slotted dataclass deriving from :class:`ServerMessage` or
:class:`ClientMessage` (the direction it travels), both a :class:`WireMessage`: its
``TYPE`` number, ``encode()`` (the body's bytes) and ``unpack(body)`` (the reverse).
A server message is encoded once, when it is built, so a field out of range for its wire width
(a negative count, a u8 of 300, a string too long for its length field) is refused at
construction with the protocol's :class:`~..errors.LocalProtocolError`, naming the
message, never later as a bare ``struct.error`` inside the send path; ``pack()`` then
returns the bytes made then.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..errors import LocalProtocolError, RemoteProtocolError


def need(body: bytes, size: int, what: str) -> None:
    """Refuse a body shorter than the fixed part its message type requires."""
    if len(body) < size:
        raise RemoteProtocolError(f"{what}: body of {len(body)} bytes, needs {size}")


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One message of the data stage: ``TYPE``, its body, and the way back from bytes."""

    TYPE: ClassVar[int]
    _wire: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wire", self._checked_encode())

    def _checked_encode(self) -> bytes:
        try:
            return self.encode()
        except (struct.error, OverflowError, ValueError, TypeError) as exc:
            raise LocalProtocolError(f"{type(self).__name__}: {exc}") from None

    def encode(self) -> bytes:
        """The body's bytes (called once, at construction)."""
        raise NotImplementedError

    def pack(self) -> bytes:
        """The body's bytes, as made when the message was built."""
        return self._wire

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ServerMessage(WireMessage):
    """A message the server sends."""


@dataclass(frozen=True, slots=True)
class ClientMessage(WireMessage):
    """A message a client sends.

    The server only parses these, from bytes that fit their fields by construction, so
    nothing is encoded when one is built: that would double the cost of every input
    event. ``pack()`` (for test clients) encodes, with the same check, when asked.
    """

    def __post_init__(self) -> None:
        pass

    def pack(self) -> bytes:
        return self._checked_encode()


@dataclass(frozen=True, slots=True)
class FixedMessage(WireMessage):
    """A message whose body is one struct, fields in dataclass order.

    Trailing bytes after the fixed part are accepted and ignored, as the protocol's own
    demarshallers do, so a newer peer may append fields; a short body is an error.
    """

    FORMAT: ClassVar[struct.Struct] = struct.Struct("<")

    def encode(self) -> bytes:
        return self.FORMAT.pack(*(getattr(self, name) for name in _field_names(type(self))))

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FORMAT.size, cls.__name__)
        return cls(*cls.FORMAT.unpack_from(body))


@dataclass(frozen=True, slots=True)
class RawMessage(WireMessage):
    """A message whose body is opaque bytes to the end (agent data, scancodes...)."""

    data: bytes = b""

    def encode(self) -> bytes:
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        return self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        return cls(body)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names
