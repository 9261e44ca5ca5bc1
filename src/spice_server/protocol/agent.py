"""The VD agent protocol, sans I/O: what travels inside MAIN's AGENT_DATA messages.

Between client and server the agent protocol is a byte stream of VDAgentMessage records
(a 20-byte header, then the payload), cut into AGENT_DATA messages of at most 2048 bytes;
a record may span several. Between server and a guest agent the same records travel in
chunks, each behind a VDIChunkHeader naming the port (1: to or from the client, 2: from
the server itself). Both streams are read as every parser here is (see :mod:`.events`):
``receive_data`` then ``next_event`` until it returns ``NEED_DATA``.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .caps import caps_from_words, caps_to_words
from .errors import RemoteProtocolError
from .events import NEED_DATA, NeedData

AGENT_PROTOCOL = 1
MAX_DATA_SIZE = 2048  # bytes of agent data per AGENT_DATA message
AGENT_HEADER = struct.Struct("<IIQI")  # protocol, type, opaque, size
CHUNK_HEADER = struct.Struct("<II")  # port, size
DEFAULT_MAX_CLIPBOARD = 32 * 1024 * 1024  # clipboard data a record may carry (a setting)
MAX_CAP_WORDS = 8  # 256 capabilities; the protocol defines 18, later words are ignored
MAX_CLIPBOARD_TYPES = 32  # the protocol defines 7 clipboard types
MAX_MONITORS = 16
SMALL_RECORD = 4096  # any record type not named in record_size_limits()


class AgentMessageType(enum.IntEnum):
    MOUSE_STATE = 1
    MONITORS_CONFIG = 2
    REPLY = 3
    CLIPBOARD = 4
    DISPLAY_CONFIG = 5
    ANNOUNCE_CAPABILITIES = 6
    CLIPBOARD_GRAB = 7
    CLIPBOARD_REQUEST = 8
    CLIPBOARD_RELEASE = 9
    FILE_XFER_START = 10
    FILE_XFER_STATUS = 11
    FILE_XFER_DATA = 12
    CLIENT_DISCONNECTED = 13
    MAX_CLIPBOARD = 14
    AUDIO_VOLUME_SYNC = 15
    GRAPHICS_DEVICE_INFO = 16


class AgentCap(enum.IntEnum):
    MOUSE_STATE = 0
    MONITORS_CONFIG = 1
    REPLY = 2
    CLIPBOARD = 3
    DISPLAY_CONFIG = 4
    CLIPBOARD_BY_DEMAND = 5
    CLIPBOARD_SELECTION = 6
    SPARSE_MONITORS_CONFIG = 7
    GUEST_LINEEND_LF = 8
    GUEST_LINEEND_CRLF = 9
    MAX_CLIPBOARD = 10
    AUDIO_VOLUME_SYNC = 11
    MONITORS_CONFIG_POSITION = 12
    FILE_XFER_DISABLED = 13
    FILE_XFER_DETAILED_ERRORS = 14
    GRAPHICS_DEVICE_INFO = 15
    CLIPBOARD_NO_RELEASE_ON_REGRAB = 16
    CLIPBOARD_GRAB_SERIAL = 17


class ClipboardType(enum.IntEnum):
    NONE = 0
    UTF8_TEXT = 1
    IMAGE_PNG = 2
    IMAGE_BMP = 3
    IMAGE_TIFF = 4
    IMAGE_JPG = 5
    FILE_LIST = 6


class ClipboardSelection(enum.IntEnum):
    CLIPBOARD = 0
    PRIMARY = 1
    SECONDARY = 2


class AgentReplyError(enum.IntEnum):
    SUCCESS = 1
    ERROR = 2


class FileXferStatus(enum.IntEnum):
    CAN_SEND_DATA = 0
    CANCELLED = 1
    ERROR = 2
    SUCCESS = 3
    NOT_ENOUGH_SPACE = 4
    SESSION_LOCKED = 5
    VDAGENT_NOT_CONNECTED = 6
    DISABLED = 7


MONITORS_CONFIG_USE_POS = 1
MONITORS_CONFIG_PHYSICAL_SIZE = 2
PORT_CLIENT = 1
PORT_SERVER = 2


@dataclass(frozen=True, slots=True)
class AgentMessage:
    type: int
    payload: bytes

    def pack(self) -> bytes:
        return AGENT_HEADER.pack(AGENT_PROTOCOL, self.type, 0, len(self.payload)) + self.payload


def record_size_limits(max_clipboard: int) -> dict[int, int]:
    """The largest payload each record type may have: what its meaning needs, no more.

    Only clipboard data is large, and how large is the server's setting; a record type
    not named here is small. A record is refused from its header, before its body is
    buffered, so a client cannot make the server hold more than this per conversation.
    """
    return {
        AgentMessageType.CLIPBOARD: 8 + max_clipboard,  # selection header and type first
        AgentMessageType.ANNOUNCE_CAPABILITIES: 4 + 4 * 32,
        AgentMessageType.MONITORS_CONFIG: 8 + 20 * MAX_MONITORS,
        AgentMessageType.CLIPBOARD_GRAB: 8 + 4 * MAX_CLIPBOARD_TYPES,
        AgentMessageType.FILE_XFER_DATA: 64 * 1024 + 12,  # spice-gtk's chunk and its id
        AgentMessageType.GRAPHICS_DEVICE_INFO: 64 * 1024,
    }


class AgentStream:
    """Reassembles agent records from a byte stream (AGENT_DATA bodies, or chunk payloads)."""

    def __init__(self, max_clipboard: int = DEFAULT_MAX_CLIPBOARD) -> None:
        self._limits = record_size_limits(max_clipboard)
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> AgentMessage | NeedData:
        """The next complete record; a bad header raises RemoteProtocolError."""
        buf = self._buffer
        if len(buf) < AGENT_HEADER.size:
            return NEED_DATA
        protocol, msg_type, _opaque, size = AGENT_HEADER.unpack_from(buf)
        if protocol != AGENT_PROTOCOL:
            raise RemoteProtocolError(f"agent protocol {protocol}, expected {AGENT_PROTOCOL}")
        limit = self._limits.get(msg_type, SMALL_RECORD)
        if size > limit:
            raise RemoteProtocolError(
                f"agent message type {msg_type} of {size} bytes exceeds its limit of {limit}"
            )
        end = AGENT_HEADER.size + size
        if len(buf) < end:
            return NEED_DATA
        payload = bytes(buf[AGENT_HEADER.size : end])
        del buf[:end]
        return AgentMessage(msg_type, payload)


def split_for_client(message: AgentMessage) -> list[bytes]:
    """One record as AGENT_DATA bodies of at most MAX_DATA_SIZE bytes."""
    data = message.pack()
    return [data[i : i + MAX_DATA_SIZE] for i in range(0, len(data), MAX_DATA_SIZE)]


@dataclass(frozen=True, slots=True)
class AgentChunk:
    """One VDIChunk: the port it travels on and its share of the record stream."""

    port: int
    data: bytes


class ChunkStream:
    """Reassembles VDIChunkHeader-framed chunks from a guest agent's byte stream."""

    def __init__(self, max_chunk_size: int = 64 * 1024) -> None:
        self.max_chunk_size = max_chunk_size
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> AgentChunk | NeedData:
        """The next complete chunk; an oversized one raises RemoteProtocolError."""
        buf = self._buffer
        if len(buf) < CHUNK_HEADER.size:
            return NEED_DATA
        port, size = CHUNK_HEADER.unpack_from(buf)
        if size > self.max_chunk_size:
            raise RemoteProtocolError(f"agent chunk of {size} bytes is too large")
        end = CHUNK_HEADER.size + size
        if len(buf) < end:
            return NEED_DATA
        data = bytes(buf[CHUNK_HEADER.size : end])
        del buf[:end]
        return AgentChunk(port, data)


def pack_chunk(port: int, data: bytes) -> bytes:
    return CHUNK_HEADER.pack(port, len(data)) + data


# -- payloads -----------------------------------------------------------------------------


def need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise RemoteProtocolError(f"agent {what}: {len(payload)} bytes, needs {size}")


def pack_announce_capabilities(request: bool, caps: Iterable[int]) -> bytes:
    words = caps_to_words(caps) or [0]
    return struct.pack(f"<I{len(words)}I", int(request), *words)


def unpack_announce_capabilities(payload: bytes) -> tuple[bool, frozenset[int]]:
    """Whether the peer asks for ours, and its capabilities (words past MAX_CAP_WORDS,
    which name nothing the protocol defines, are not read)."""
    need(payload, 4, "ANNOUNCE_CAPABILITIES")
    (request,) = struct.unpack_from("<I", payload)
    count = min(MAX_CAP_WORDS, (len(payload) - 4) // 4)
    return bool(request), caps_from_words(struct.unpack_from(f"<{count}I", payload, 4))


@dataclass(frozen=True)
class MonitorConfig:
    """One monitor the client asks for: size, depth and position on the client's desktop."""

    width: int
    height: int
    depth: int = 32
    x: int = 0
    y: int = 0


MON_CONFIG = struct.Struct("<IIIii")  # height, width, depth, x, y: height first


def pack_monitors_config(monitors: list[MonitorConfig], flags: int = 0) -> bytes:
    out = struct.pack("<II", len(monitors), flags)
    for m in monitors:
        out += MON_CONFIG.pack(m.height, m.width, m.depth, m.x, m.y)
    return out


def unpack_monitors_config(
    payload: bytes, max_monitors: int = MAX_MONITORS
) -> tuple[int, list[MonitorConfig]]:
    need(payload, 8, "MONITORS_CONFIG")
    count, flags = struct.unpack_from("<II", payload)
    if count > max_monitors:
        raise RemoteProtocolError(f"agent MONITORS_CONFIG with {count} monitors")
    need(payload, 8 + count * MON_CONFIG.size, "MONITORS_CONFIG")
    monitors = []
    for i in range(count):
        height, width, depth, x, y = MON_CONFIG.unpack_from(payload, 8 + i * MON_CONFIG.size)
        monitors.append(MonitorConfig(width, height, depth, x, y))
    return flags, monitors


def pack_reply(msg_type: int, error: AgentReplyError) -> bytes:
    return struct.pack("<II", msg_type, error)


class ClipboardCodec:
    """Clipboard payloads, whose layout depends on what both sides announced.

    With CLIPBOARD_SELECTION a 4-byte selection header leads every clipboard message; with
    CLIPBOARD_GRAB_SERIAL a grab carries a u32 serial after it.
    """

    def __init__(self, selection: bool = False, grab_serial: bool = False) -> None:
        self.selection = selection
        self.grab_serial = grab_serial

    def _head(self, selection: int) -> bytes:
        return struct.pack("<B3x", selection) if self.selection else b""

    def _split(self, payload: bytes, what: str) -> tuple[int, bytes]:
        if not self.selection:
            return ClipboardSelection.CLIPBOARD, payload
        need(payload, 4, what)
        return payload[0], payload[4:]

    def pack_grab(self, selection: int, types: Iterable[int], serial: int = 0) -> bytes:
        types = list(types)
        serial_bytes = struct.pack("<I", serial) if self.grab_serial else b""
        return self._head(selection) + serial_bytes + struct.pack(f"<{len(types)}I", *types)

    def unpack_grab(self, payload: bytes) -> tuple[int, list[int]]:
        selection, rest = self._split(payload, "CLIPBOARD_GRAB")
        if self.grab_serial:
            need(rest, 4, "CLIPBOARD_GRAB")
            rest = rest[4:]
        count = len(rest) // 4
        if count > MAX_CLIPBOARD_TYPES:
            raise RemoteProtocolError(f"agent CLIPBOARD_GRAB with {count} types")
        return selection, list(struct.unpack_from(f"<{count}I", rest))

    def pack_request(self, selection: int, clip_type: int) -> bytes:
        return self._head(selection) + struct.pack("<I", clip_type)

    def unpack_request(self, payload: bytes) -> tuple[int, int]:
        selection, rest = self._split(payload, "CLIPBOARD_REQUEST")
        need(rest, 4, "CLIPBOARD_REQUEST")
        return selection, struct.unpack_from("<I", rest)[0]

    def pack_data(self, selection: int, clip_type: int, data: bytes) -> bytes:
        return self._head(selection) + struct.pack("<I", clip_type) + data

    def unpack_data(self, payload: bytes) -> tuple[int, int, bytes]:
        selection, rest = self._split(payload, "CLIPBOARD")
        need(rest, 4, "CLIPBOARD")
        return selection, struct.unpack_from("<I", rest)[0], rest[4:]

    def pack_release(self, selection: int) -> bytes:
        return self._head(selection)

    def unpack_release(self, payload: bytes) -> int:
        return self._split(payload, "CLIPBOARD_RELEASE")[0]


# -- file transfer ------------------------------------------------------------------------

FILE_XFER_GROUP = "vdagent-file-xfer"
FILE_XFER_STATUS = struct.Struct("<II")  # id, result
FILE_XFER_DATA = struct.Struct("<IQ")  # id, size
FILE_XFER_ERROR_GLIB_IO = 0  # a detailed ERROR carries a GIO error code


@dataclass(frozen=True, slots=True)
class FileXferStart:
    """A client offers a file: its task id, and the name and size from the key file."""

    id: int
    name: str
    size: int


class FileXferInfoError(ValueError):
    """A START's key file is not what the protocol says; the transfer is refused, the
    connection goes on (the id was readable, so the client can be answered)."""


def unpack_file_xfer_id(payload: bytes, what: str) -> int:
    need(payload, 4, what)
    return int.from_bytes(payload[:4], "little")


def unpack_file_xfer_start(payload: bytes) -> FileXferStart:
    """The id, then a GLib key file (NUL-terminated UTF-8) with the group
    ``[vdagent-file-xfer]`` holding ``name`` and ``size``; FileXferInfoError if not."""
    xfer_id = unpack_file_xfer_id(payload, "FILE_XFER_START")
    text = payload[4:].split(b"\0", 1)[0]
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise FileXferInfoError("the file's details are not UTF-8") from None
    group, values = None, {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == FILE_XFER_GROUP and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = _unescape_key_file(value.lstrip())
    name, size = values.get("name"), values.get("size")
    if name is None or size is None or not size.isdigit():
        raise FileXferInfoError(f"the file's details lack a name or a size: {text[:200]!r}")
    return FileXferStart(xfer_id, name, int(size))


def _unescape_key_file(value: str) -> str:
    """GLib key-file string escapes: \\s \\n \\t \\r \\\\ (others kept as written)."""
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    out, chars = [], iter(value)
    for ch in chars:
        if ch == "\\":
            following = next(chars, "")
            out.append(escapes.get(following, "\\" + following))
        else:
            out.append(ch)
    return "".join(out)


def unpack_file_xfer_data(payload: bytes) -> tuple[int, bytes]:
    """The id and the data of one FILE_XFER_DATA record, whose size field must be right."""
    need(payload, FILE_XFER_DATA.size, "FILE_XFER_DATA")
    xfer_id, size = FILE_XFER_DATA.unpack_from(payload)
    data = payload[FILE_XFER_DATA.size :]
    if size != len(data):
        raise RemoteProtocolError(f"agent FILE_XFER_DATA says {size} bytes and carries {len(data)}")
    return xfer_id, data


def unpack_file_xfer_status(payload: bytes) -> tuple[int, int]:
    need(payload, FILE_XFER_STATUS.size, "FILE_XFER_STATUS")
    xfer_id, result = FILE_XFER_STATUS.unpack_from(payload)
    return xfer_id, result


def pack_file_xfer_status(xfer_id: int, result: FileXferStatus, detail: bytes = b"") -> bytes:
    """A status for the client; ``detail`` only for clients with FILE_XFER_DETAILED_ERRORS:
    the free space (u64) with NOT_ENOUGH_SPACE, the kind and code of an ERROR."""
    return FILE_XFER_STATUS.pack(xfer_id, result) + detail


def not_enough_space_detail(free: int) -> bytes:
    return struct.pack("<Q", max(0, free))


def glib_io_error_detail(code: int) -> bytes:
    return struct.pack("<BI", FILE_XFER_ERROR_GLIB_IO, code)
