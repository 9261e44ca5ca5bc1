"""The machinery shared by message classes: fixed-layout bodies and strict length checks."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any, ClassVar, Self

from ..errors import RemoteProtocolError


def need(body: bytes, size: int, what: str) -> None:
    """Refuse a body shorter than the fixed part its message type requires."""
    if len(body) < size:
        raise RemoteProtocolError(f"{what}: body of {len(body)} bytes, needs {size}")


class FixedMessage:
    """A message whose body is one struct, fields in dataclass order.

    Trailing bytes after the fixed part are accepted and ignored, as the protocol's own
    demarshallers do, so a newer peer may append fields; a short body is an error.
    """

    TYPE: ClassVar[int]
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<")

    def pack(self) -> bytes:
        return self.FORMAT.pack(*(getattr(self, name) for name in _field_names(type(self))))

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FORMAT.size, cls.__name__)
        return cls(*cls.FORMAT.unpack_from(body))


class RawMessage:
    """A message whose body is opaque bytes to the end (agent data, scancodes...)."""

    TYPE: ClassVar[int]
    data: bytes

    def __init__(self, data: bytes = b"") -> None:
        object.__setattr__(self, "data", bytes(data))

    def pack(self) -> bytes:
        return self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        return cls(body)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.data == self.data

    def __hash__(self) -> int:
        return hash((type(self), self.data))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r})"


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: Any) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names
