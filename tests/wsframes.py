"""WebSocket frames as a browser sends them, and the server's frames read back, for tests.

Built by hand from RFC 6455, section 5.2, so that tests show the bytes on the wire: the
upgrade request spice-html5 makes, masked client frames, malformed ones.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

KEY = base64.b64encode(b"0123456789abcdef").decode()
ACCEPT = base64.b64encode(
    hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
).decode()

BINARY, TEXT, CLOSE, PING, PONG, CONTINUATION = 0x2, 0x1, 0x8, 0x9, 0xA, 0x0


def upgrade_request(protocols: str | None = "binary", origin: str | None = None) -> bytes:
    """The opening handshake as Chromium sends it for ``new WebSocket(uri, 'binary')``."""
    lines = [
        "GET /websockify HTTP/1.1",
        "Host: 127.0.0.1:5900",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {KEY}",
    ]
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def client_frame(
    payload: bytes, opcode: int = BINARY, fin: bool = True, mask: bool = True
) -> bytes:
    """One frame as a client sends it: masked with a random key."""
    header = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask else 0
    if len(payload) < 126:
        header.append(mask_bit | len(payload))
    elif len(payload) < 1 << 16:
        header += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if not mask:
        return bytes(header) + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(header) + key + masked


def parse_server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame the server sent."""
    frames = []
    while data:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        assert not data[1] & 0x80, "a server must not mask"
        offset = 2
        if length == 126:
            (length,) = struct.unpack_from("!H", data, 2)
            offset = 4
        elif length == 127:
            (length,) = struct.unpack_from("!Q", data, 2)
            offset = 10
        frames.append((opcode, data[offset : offset + length]))
        data = data[offset + length :]
    return frames
