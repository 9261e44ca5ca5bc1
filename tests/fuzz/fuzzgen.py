"""What the fuzzer sends: structured client messages with hostile fields, and mutations.

Everything comes from one seeded ``random.Random``, so a run can be replayed. Messages
are built as a client would (the project's own framing), then a share of them is
mutated: truncated or oversized bodies, lying size fields, random types, flipped bits.
Agent records travel inside AGENT_DATA with hostile counts and sizes; monitors configs,
clipboard grabs, stream reports and audio frames get counts and offsets that lie.
"""

from __future__ import annotations

import random
import struct

from spice_server.protocol.agent import AGENT_HEADER, AgentMessageType, ClipboardType
from spice_server.protocol.constants import (
    MAGIC,
    AudioDataMode,
    ChannelType,
    MsgcDisplay,
    MsgcInputs,
    MsgcMain,
    MsgcRecord,
)
from spice_server.protocol.framing import MINI_HEADER
from spice_server.protocol.link import LINK_HEADER, LINK_MESS
from spice_server.protocol.messages import _PARSERS

EDGES_U32 = (0, 1, 2, 3, 4, 16, 17, 255, 256, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
CHANNELS = (
    ChannelType.MAIN,
    ChannelType.DISPLAY,
    ChannelType.INPUTS,
    ChannelType.CURSOR,
    ChannelType.PLAYBACK,
    ChannelType.RECORD,
)


def frame(msg_type: int, body: bytes) -> bytes:
    return MINI_HEADER.pack(msg_type, len(body)) + body


class Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- values ------------------------------------------------------------------------

    def u32(self) -> int:
        r = self.rng
        return r.choice(EDGES_U32) if r.random() < 0.5 else r.getrandbits(32)

    def blob(self, low: int = 0, high: int = 64) -> bytes:
        return self.rng.randbytes(self.rng.randint(low, high))

    def fixed(self, cls: type) -> bytes:
        """A fixed-layout message with random field values (every bit pattern is one)."""
        size = cls.FORMAT.size if hasattr(cls, "FORMAT") else 0
        return self.rng.randbytes(size)

    # -- agent records -----------------------------------------------------------------

    def agent_payload(self, kind: int) -> bytes:
        r = self.rng
        head = struct.pack("<I", r.choice((0, 1, 2, 7, 0xFFFFFFFF))) if r.random() < 0.5 else b""
        if kind == AgentMessageType.ANNOUNCE_CAPABILITIES:
            return struct.pack("<I", r.getrandbits(1)) + self.rng.randbytes(4 * r.randint(0, 40))
        if kind == AgentMessageType.MONITORS_CONFIG:
            count = r.choice((0, 1, 2, 16, 17, 1000, self.u32()))
            shown = min(count, r.randint(0, 20))
            monitors = b"".join(
                struct.pack("<IIIii", self.u32(), self.u32(), 32, r.randint(-5, 5), 0)
                for _ in range(shown)
            )
            return struct.pack("<II", count, r.getrandbits(2)) + monitors
        if kind == AgentMessageType.CLIPBOARD_GRAB:
            types = [r.choice((*list(ClipboardType), self.u32())) for _ in range(r.randint(0, 40))]
            return head + struct.pack(f"<{len(types)}I", *types)
        if kind in (AgentMessageType.CLIPBOARD_REQUEST, AgentMessageType.MAX_CLIPBOARD):
            return head + struct.pack("<I", self.u32())
        if kind == AgentMessageType.CLIPBOARD:
            return head + struct.pack("<I", r.choice(list(ClipboardType))) + self.blob(0, 6000)
        if kind == AgentMessageType.CLIPBOARD_RELEASE:
            return head
        return self.blob(0, 300)

    def agent_record(self) -> bytes:
        r = self.rng
        kind = r.choice((*list(AgentMessageType), 0, 17, self.u32()))
        payload = self.agent_payload(kind)
        size = len(payload)
        if r.random() < 0.15:
            size = r.choice((size + 1, max(0, size - 1), 64 * 1024 * 1024, self.u32()))
        protocol = 1 if r.random() < 0.95 else self.u32()
        return AGENT_HEADER.pack(protocol, kind, r.getrandbits(64), size) + payload

    # -- per channel -------------------------------------------------------------------

    def main(self, tokens: list[int]) -> bytes:
        r = self.rng
        roll = r.random()
        if roll < 0.45 and tokens[0] > 0:
            record = self.agent_record()
            pieces = [record[i : i + 2048] for i in range(0, len(record), 2048)]
            pieces = pieces[: tokens[0]]
            tokens[0] -= len(pieces)
            return b"".join(frame(MsgcMain.AGENT_DATA, p) for p in pieces)
        if roll < 0.55:
            return frame(MsgcMain.AGENT_START, struct.pack("<I", self.u32()))
        if roll < 0.65:
            return frame(MsgcMain.MOUSE_MODE_REQUEST, struct.pack("<H", r.getrandbits(16)))
        return self.any_of(ChannelType.MAIN, avoid={MsgcMain.AGENT_DATA})

    def display(self) -> bytes:
        r = self.rng
        roll = r.random()
        if roll < 0.3:
            report = struct.pack("<IIIIIIiI", *(self.u32() for _ in range(6)), 0, self.u32())
            return frame(MsgcDisplay.STREAM_REPORT, report)
        if roll < 0.5:
            count = r.choice((0, 1, 3, 255))
            codecs = r.randbytes(min(count, r.randint(0, 10)))
            return frame(MsgcDisplay.PREFERRED_VIDEO_CODEC_TYPE, bytes([count]) + codecs)
        if roll < 0.6:
            init = struct.pack("<BqBi", 1, r.getrandbits(63) - (1 << 62), 1, self.u32() >> 1)
            return frame(MsgcDisplay.INIT, init)
        return self.any_of(ChannelType.DISPLAY)

    def inputs(self) -> bytes:
        r = self.rng
        roll = r.random()
        if roll < 0.3:
            scancodes = bytes(r.choice((0xE0, 0xE1, 0x1E, 0x9E, 0x2A, 0xAA)) for _ in range(8))
            return frame(MsgcInputs.KEY_SCANCODE, scancodes if r.random() < 0.7 else self.blob())
        if roll < 0.5:
            position = struct.pack(
                "<IIHB", self.u32(), self.u32(), r.getrandbits(16), r.randint(0, 3)
            )
            return frame(MsgcInputs.MOUSE_POSITION, position)
        return self.any_of(ChannelType.INPUTS)

    def record(self) -> bytes:
        r = self.rng
        roll = r.random()
        if roll < 0.3:
            mode = r.choice((AudioDataMode.RAW, AudioDataMode.OPUS, 0, 2, 9))
            return frame(MsgcRecord.MODE, struct.pack("<IH", self.u32(), mode))
        if roll < 0.6:
            size = r.choice((0, 1, 3, 4, 120, 1920, 1276 * 3, 16000))
            return frame(MsgcRecord.DATA, struct.pack("<I", self.u32()) + r.randbytes(size))
        if roll < 0.7:
            return frame(MsgcRecord.START_MARK, struct.pack("<I", self.u32()))
        return self.any_of(ChannelType.RECORD)

    def any_of(self, channel: int, avoid: frozenset[int] | set[int] = frozenset()) -> bytes:
        """Any client message the channel knows, with random fields."""
        classes = [cls for t, cls in _PARSERS[channel].items() if t not in avoid]
        cls = self.rng.choice(classes)
        body = self.fixed(cls) if hasattr(cls, "FORMAT") else self.blob()
        return frame(cls.TYPE, body)

    def message(self, channel: int, tokens: list[int]) -> bytes:
        if channel == ChannelType.MAIN:
            return self.main(tokens)
        if channel == ChannelType.DISPLAY:
            return self.display()
        if channel == ChannelType.INPUTS:
            return self.inputs()
        if channel == ChannelType.RECORD:
            return self.record()
        return self.any_of(channel)

    # -- mutations ---------------------------------------------------------------------

    def mutate(self, data: bytes) -> bytes:
        """One kind of damage to a framed message (rarely more than one message long)."""
        r = self.rng
        if len(data) < MINI_HEADER.size:
            return data
        msg_type, size = MINI_HEADER.unpack_from(data)
        body = data[MINI_HEADER.size :]
        roll = r.random()
        if roll < 0.25:  # a truncated body, the size field agreeing
            body = body[: r.randint(0, max(0, len(body) - 1))]
            return MINI_HEADER.pack(msg_type, len(body)) + body
        if roll < 0.4:  # an oversized body
            body += r.randbytes(r.choice((1, 7, 300, 5000)))
            return MINI_HEADER.pack(msg_type, len(body)) + body
        if roll < 0.5:  # a size field that lies (the stream is broken from here)
            return MINI_HEADER.pack(msg_type, self.u32()) + body
        if roll < 0.65:  # a random type
            return MINI_HEADER.pack(r.getrandbits(16), size) + body
        flipped = bytearray(data)
        for _ in range(r.randint(1, 4)):
            index = r.randrange(len(flipped))
            flipped[index] ^= 1 << r.randrange(8)
        return bytes(flipped)

    # -- the link stage and WebSocket --------------------------------------------------

    def link_request(self, channel: int, session_id: int) -> bytes:
        """A link request, mutated in its header, counts, offsets or bytes."""
        r = self.rng
        n_common, n_channel = 1, 1
        caps = struct.pack("<II", 0b1011, r.getrandbits(32))
        offset = LINK_MESS.size
        roll = r.random()
        if roll < 0.2:
            n_common, n_channel = r.choice(((0, 0), (200, 0), (0, 5000), (1, 0xFFFFFFFF)))
        elif roll < 0.35:
            offset = r.choice((0, 17, 19, 4096, self.u32()))
        body = LINK_MESS.pack(
            session_id, channel, r.choice((0, 0, 1, 255)), n_common, n_channel, offset
        )
        body += caps
        size = len(body)
        major = 2
        if r.random() < 0.15:
            size = r.choice((0, 17, 4097, self.u32()))
        if r.random() < 0.1:
            major = r.choice((1, 3, 0xFFFFFFFF))
        data = bytearray(LINK_HEADER.pack(MAGIC, major, 2, size) + body)
        if r.random() < 0.3:
            for _ in range(r.randint(1, 3)):
                data[r.randrange(len(data))] ^= 1 << r.randrange(8)
        return bytes(data)

    def upgrade(self) -> bytes:
        """A WebSocket upgrade request, sometimes broken."""
        r = self.rng
        lines = [
            "GET /websockify HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: binary",
            "Origin: http://127.0.0.1:8000",
        ]
        roll = r.random()
        if roll < 0.15:
            del lines[r.randrange(1, len(lines))]
        elif roll < 0.25:
            lines.append("X-Pad: " + "a" * r.choice((10, 5000, 70000)))
        elif roll < 0.3:
            lines[-1] = "Origin: https://example.com"
        elif roll < 0.35:
            lines[0] = "GET / HTTP/1.0"
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def ws_frame(self, payload: bytes) -> bytes:
        """A client frame carrying ``payload``, or a hostile one."""
        r = self.rng
        opcode, fin, masked = 2, True, True
        roll = r.random()
        if roll < 0.05:
            opcode = r.choice((0, 1, 3, 8, 9, 10, 11, 15))
            if opcode in (9, 10):
                payload = r.randbytes(r.choice((0, 10, 125, 126, 300)))
        elif roll < 0.08:
            masked = False
        elif roll < 0.1:
            fin = False
        header = bytearray([(0x80 if fin else 0) | opcode])
        length = len(payload)
        if r.random() < 0.03:
            length = r.choice((126, 0xFFFF, 1 << 20, (1 << 63) - 1))
        bit = 0x80 if masked else 0
        if length < 126:
            header.append(bit | length)
        elif length < 1 << 16:
            header += bytes([bit | 126]) + struct.pack("!H", length)
        else:
            header += bytes([bit | 127]) + struct.pack("!Q", length)
        if masked:
            header += bytes(4)  # a zero key: the payload travels as it is
        return bytes(header) + payload
