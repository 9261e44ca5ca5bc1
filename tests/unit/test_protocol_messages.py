"""Every message we build and every client message we parse, against hand-made bytes."""

from __future__ import annotations

import struct

import pytest

from spice_server.protocol.constants import ChannelType, CursorFlags, ImageType
from spice_server.protocol.errors import LocalProtocolError, RemoteProtocolError
from spice_server.protocol.framing import Message
from spice_server.protocol.messages import parse_client_message
from spice_server.protocol.messages.base import (
    MsgcAck,
    MsgcAckSync,
    MsgcDisconnecting,
    MsgcMigrateData,
    MsgcMigrateFlushMark,
    MsgcPong,
    MsgDisconnecting,
    MsgNotify,
    MsgPing,
    MsgSetAck,
)
from spice_server.protocol.messages.codec import ClientMessage, ServerMessage
from spice_server.protocol.messages.cursor import (
    NO_CURSOR,
    CursorShape,
    MsgCursorHide,
    MsgCursorInit,
    MsgCursorInvalAll,
    MsgCursorMove,
    MsgCursorReset,
    MsgCursorSet,
    MsgCursorTrail,
)
from spice_server.protocol.messages.display import (
    MonitorHead,
    MsgcDisplayGlDrawDone,
    MsgcDisplayInit,
    MsgcDisplayPreferredCompression,
    MsgcDisplayPreferredVideoCodecType,
    MsgcDisplayStreamReport,
    MsgDisplayCopyBits,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayInvalAllPalettes,
    MsgDisplayMark,
    MsgDisplayMonitorsConfig,
    MsgDisplayReset,
    MsgDisplayStreamClip,
    MsgDisplayStreamCreate,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from spice_server.protocol.messages.images import pack_bitmap_image, pack_lz4_image, unpack_image
from spice_server.protocol.messages.inputs import (
    MsgcInputsKeyDown,
    MsgcInputsKeyModifiers,
    MsgcInputsKeyScancode,
    MsgcInputsKeyUp,
    MsgcInputsMouseMotion,
    MsgcInputsMousePosition,
    MsgcInputsMousePress,
    MsgcInputsMouseRelease,
    MsgInputsInit,
    MsgInputsKeyModifiers,
    MsgInputsMouseMotionAck,
)
from spice_server.protocol.messages.main import (
    MsgcMainAgentData,
    MsgcMainAgentStart,
    MsgcMainAgentToken,
    MsgcMainAttachChannels,
    MsgcMainClientInfo,
    MsgcMainMigrateConnected,
    MsgcMainMigrateConnectedSeamless,
    MsgcMainMigrateConnectError,
    MsgcMainMigrateDstDoSeamless,
    MsgcMainMigrateEnd,
    MsgcMainMouseModeRequest,
    MsgcMainQualityIndicator,
    MsgMainAgentConnected,
    MsgMainAgentConnectedTokens,
    MsgMainAgentData,
    MsgMainAgentDisconnected,
    MsgMainAgentToken,
    MsgMainChannelsList,
    MsgMainInit,
    MsgMainMouseMode,
    MsgMainMultiMediaTime,
    MsgMainName,
    MsgMainUuid,
)
from spice_server.protocol.rect import Rect

# -- server to client: exact bytes -------------------------------------------------------------

SERVER_MESSAGES = [
    (MsgSetAck(1, 20), 3, struct.pack("<II", 1, 20)),
    (MsgPing(7, 123456789), 4, struct.pack("<IQ", 7, 123456789)),
    (MsgDisconnecting(99, 0), 6, struct.pack("<QI", 99, 0)),
    (MsgNotify(5, 1, 2, 3, "hi"), 7, struct.pack("<QIIII", 5, 1, 2, 3, 2) + b"hi\0"),
    (
        MsgMainInit(0xABCD, 1, 3, 2, 0, 10, 5000, 0),
        103,
        struct.pack("<8I", 0xABCD, 1, 3, 2, 0, 10, 5000, 0),
    ),
    (
        MsgMainChannelsList(((2, 0), (3, 0), (4, 1))),
        104,
        struct.pack("<I", 3) + bytes([2, 0, 3, 0, 4, 1]),
    ),
    (MsgMainMouseMode(3, 2), 105, struct.pack("<HH", 3, 2)),
    (MsgMainMultiMediaTime(777), 106, struct.pack("<I", 777)),
    (MsgMainAgentConnected(), 107, b""),
    (MsgMainAgentDisconnected(0), 108, struct.pack("<I", 0)),
    (MsgMainAgentData(b"\x01\x02"), 109, b"\x01\x02"),
    (MsgMainAgentToken(4), 110, struct.pack("<I", 4)),
    (MsgMainName("vm"), 113, struct.pack("<I", 3) + b"vm\0"),
    (MsgMainUuid(bytes(range(16))), 114, bytes(range(16))),
    (MsgMainAgentConnectedTokens(10), 115, struct.pack("<I", 10)),
    (MsgDisplayMark(), 102, b""),
    (MsgDisplayReset(), 103, b""),
    (MsgDisplayInvalAllPalettes(), 108, b""),
    (MsgDisplaySurfaceCreate(0, 800, 600, 32, 1), 314, struct.pack("<5I", 0, 800, 600, 32, 1)),
    (MsgDisplaySurfaceDestroy(0), 315, struct.pack("<I", 0)),
    (
        MsgDisplayMonitorsConfig((MonitorHead(0, 0, 800, 600),), 1),
        317,
        struct.pack("<HH", 1, 1) + struct.pack("<7I", 0, 0, 800, 600, 0, 0, 0),
    ),
    (
        MsgDisplayCopyBits(0, Rect(10, 20, 110, 220), 10, 40),
        104,
        struct.pack("<I4iB", 0, 20, 10, 220, 110, 0) + struct.pack("<ii", 10, 40),
    ),
    (  # clipped: type RECTS, then the count and the rectangles inline, as spice.proto has it
        MsgDisplayCopyBits(0, Rect(10, 20, 110, 220), 10, 40, (Rect(10, 20, 110, 30),)),
        104,
        struct.pack("<I4iBI4i", 0, 20, 10, 220, 110, 1, 1, 20, 10, 30, 110)
        + struct.pack("<ii", 10, 40),
    ),
    (  # a stream's clip: uint32 id, then the clip as in a draw's base
        MsgDisplayStreamClip(3, (Rect(0, 0, 64, 32), Rect(0, 32, 16, 48))),
        124,
        struct.pack("<IBI8i", 3, 1, 2, 0, 0, 32, 64, 32, 0, 48, 16),
    ),
    (MsgDisplayStreamClip(3), 124, struct.pack("<IB", 3, 0)),
    (  # the clip is the last field of a stream's creation
        MsgDisplayStreamCreate(0, 1, 1, 64, 48, Rect(8, 8, 72, 56), clip=(Rect(8, 8, 72, 40),)),
        122,
        struct.pack("<IIBBQIIII4iBI", 0, 1, 1, 1, 0, 64, 48, 64, 48, 8, 8, 56, 72, 1, 1)
        + struct.pack("<4i", 8, 8, 40, 72),
    ),
    (MsgInputsInit(4), 101, struct.pack("<H", 4)),
    (MsgInputsKeyModifiers(6), 102, struct.pack("<H", 6)),
    (MsgInputsMouseMotionAck(), 111, b""),
    (MsgCursorReset(), 102, b""),
    (MsgCursorMove(-3, 40), 104, struct.pack("<hh", -3, 40)),
    (MsgCursorHide(), 105, b""),
    (MsgCursorTrail(0, 0), 106, struct.pack("<HH", 0, 0)),
    (MsgCursorInvalAll(), 108, b""),
]


@pytest.mark.parametrize(
    ("message", "msg_type", "body"),
    SERVER_MESSAGES,
    ids=[type(m[0]).__name__ for m in SERVER_MESSAGES],
)
def test_server_message_bytes(message, msg_type, body) -> None:
    assert msg_type == message.TYPE
    assert message.pack() == body
    if hasattr(type(message), "unpack"):
        assert type(message).unpack(body) == message


def test_draw_copy_layout() -> None:
    image = pack_bitmap_image(42, 2, 1, b"\x01\x02\x03\x00\x04\x05\x06\x00")
    body = MsgDisplayDrawCopy(0, Rect(5, 6, 7, 7), image).pack()
    assert body[:21] == struct.pack("<I4iB", 0, 6, 5, 7, 7, 0)  # top, left, bottom, right
    assert struct.unpack_from("<I", body, 21) == (57,)
    assert struct.unpack_from("<4i", body, 25) == (0, 0, 1, 2)  # src_area top,left,bottom,right
    assert struct.unpack_from("<HB", body, 41) == (8, 0)  # OP_PUT, scale mode
    assert body[44:57] == bytes(13)  # no mask
    assert body[57:] == image
    assert struct.unpack_from("<QBBII", body, 57) == (42, ImageType.BITMAP, 0, 2, 1)
    assert struct.unpack_from("<BBIIII", body, 75) == (8, 4, 2, 1, 8, 0)
    assert body[93:] == b"\x01\x02\x03\x00\x04\x05\x06\x00"
    parsed = MsgDisplayDrawCopy.unpack(body)
    assert parsed.box == Rect(5, 6, 7, 7) and parsed.image == image


def test_draw_fill_layout() -> None:
    body = MsgDisplayDrawFill(0, Rect(0, 0, 10, 10), 0x112233).pack()
    assert len(body) == 41
    assert body[21] == 1 and struct.unpack_from("<IH", body, 22) == (0x112233, 8)
    assert body[28:] == bytes(13)
    assert MsgDisplayDrawFill.unpack(body) == MsgDisplayDrawFill(0, Rect(0, 0, 10, 10), 0x112233)


def test_images() -> None:
    with pytest.raises(ValueError):
        pack_bitmap_image(1, 2, 2, bytes(15))
    lz4 = pack_lz4_image(9, 4, 3, [b"abc", b"de"])
    info = unpack_image(lz4)
    assert (info.id, info.type, info.flags, info.width, info.height) == (9, 109, 0, 4, 3)
    payload = struct.pack("<I", 2 + 4 + 3 + 4 + 2) + bytes([1, 7])  # top-down, 24-bit
    payload += struct.pack(">I", 3) + b"abc" + struct.pack(">I", 2) + b"de"
    assert info.payload == payload


def test_cursor_messages() -> None:
    shape = CursorShape(unique=5, width=2, height=1, hot_spot_x=1, hot_spot_y=0, data=bytes(8))
    packed = shape.pack()
    assert packed == struct.pack("<H", 0) + struct.pack("<QBHHHH", 5, 0, 2, 1, 1, 0) + bytes(8)
    assert CursorShape.unpack(packed) == shape
    assert NO_CURSOR.pack() == struct.pack("<H", CursorFlags.NONE)
    assert CursorShape.unpack(NO_CURSOR.pack()) == NO_CURSOR
    init = MsgCursorInit(10, 20, 0, 0, 1, shape)
    assert init.pack() == struct.pack("<hhHHB", 10, 20, 0, 0, 1) + packed
    assert MsgCursorInit.unpack(init.pack()) == init
    cursor_set = MsgCursorSet(1, 2, 1, shape)
    assert cursor_set.pack() == struct.pack("<hhB", 1, 2, 1) + packed
    assert MsgCursorSet.unpack(cursor_set.pack()) == cursor_set
    with pytest.raises(RemoteProtocolError):
        CursorShape.unpack(struct.pack("<H", 0) + bytes(5))


def test_variable_messages_refuse_short_bodies() -> None:
    with pytest.raises(RemoteProtocolError):
        MsgMainChannelsList.unpack(struct.pack("<I", 2) + bytes(3))
    with pytest.raises(RemoteProtocolError):
        MsgMainName.unpack(struct.pack("<I", 9) + b"ab")
    with pytest.raises(RemoteProtocolError):
        MsgNotify.unpack(struct.pack("<QIIII", 0, 0, 0, 0, 50) + b"short")
    with pytest.raises(RemoteProtocolError):
        MsgDisplayMonitorsConfig.unpack(struct.pack("<HH", 2, 2) + bytes(28))
    clipped = struct.pack("<I4iBI", 0, 20, 10, 220, 110, 1, 3) + bytes(16 + 8)  # 1 rect of 3
    with pytest.raises(RemoteProtocolError, match="MsgDisplayCopyBits"):
        MsgDisplayCopyBits.unpack(clipped)
    with pytest.raises(RemoteProtocolError, match="clip type 7"):
        MsgDisplayCopyBits.unpack(struct.pack("<I4iB", 0, 20, 10, 220, 110, 7) + bytes(8))
    with pytest.raises(RemoteProtocolError, match="MsgDisplayStreamClip"):
        MsgDisplayStreamClip.unpack(struct.pack("<IBI", 3, 1, 2) + bytes(16))  # 1 rect of 2
    with pytest.raises(RemoteProtocolError, match="MsgDisplayStreamClip"):
        MsgDisplayStreamClip.unpack(struct.pack("<I", 3))  # no clip
    with pytest.raises(LocalProtocolError, match="MsgMainUuid"):
        MsgMainUuid(b"short")


# -- client to server: parsing -----------------------------------------------------------------

CLIENT_MESSAGES = [
    (ChannelType.MAIN, 1, struct.pack("<I", 3), MsgcAckSync(3)),
    (ChannelType.DISPLAY, 2, b"", MsgcAck()),
    (ChannelType.CURSOR, 3, struct.pack("<IQ", 1, 2), MsgcPong(1, 2)),
    (ChannelType.INPUTS, 4, b"", MsgcMigrateFlushMark()),
    (ChannelType.MAIN, 5, b"blob", MsgcMigrateData(b"blob")),
    (ChannelType.MAIN, 6, struct.pack("<QI", 1, 0), MsgcDisconnecting(1, 0)),
    (ChannelType.MAIN, 101, struct.pack("<Q", 9), MsgcMainClientInfo(9)),
    (ChannelType.MAIN, 102, b"", MsgcMainMigrateConnected()),
    (ChannelType.MAIN, 103, b"", MsgcMainMigrateConnectError()),
    (ChannelType.MAIN, 104, b"", MsgcMainAttachChannels()),
    (ChannelType.MAIN, 105, struct.pack("<H", 2), MsgcMainMouseModeRequest(2)),
    (ChannelType.MAIN, 106, struct.pack("<I", 0xFFFFFFFF), MsgcMainAgentStart(0xFFFFFFFF)),
    (ChannelType.MAIN, 107, b"agent", MsgcMainAgentData(b"agent")),
    (ChannelType.MAIN, 108, struct.pack("<I", 5), MsgcMainAgentToken(5)),
    (ChannelType.MAIN, 109, b"", MsgcMainMigrateEnd()),
    (ChannelType.MAIN, 110, struct.pack("<I", 2), MsgcMainMigrateDstDoSeamless(2)),
    (ChannelType.MAIN, 111, b"", MsgcMainMigrateConnectedSeamless()),
    (ChannelType.MAIN, 112, b"ok", MsgcMainQualityIndicator(b"ok")),
    (
        ChannelType.DISPLAY,
        101,
        struct.pack("<BqBi", 1, 1 << 20, 1, 1 << 22),
        MsgcDisplayInit(1, 1 << 20, 1, 1 << 22),
    ),
    (
        ChannelType.DISPLAY,
        102,
        struct.pack("<IIIIIIiI", 1, 2, 3, 4, 5, 6, -7, 0xFFFFFFFF),
        MsgcDisplayStreamReport(1, 2, 3, 4, 5, 6, -7, 0xFFFFFFFF),
    ),
    (ChannelType.DISPLAY, 103, b"\x07", MsgcDisplayPreferredCompression(7)),
    (ChannelType.DISPLAY, 104, b"", MsgcDisplayGlDrawDone()),
    (ChannelType.DISPLAY, 105, b"\x02\x02\x01", MsgcDisplayPreferredVideoCodecType((2, 1))),
    (ChannelType.INPUTS, 101, struct.pack("<I", 0x1DE0), MsgcInputsKeyDown(0x1DE0)),
    (ChannelType.INPUTS, 102, struct.pack("<I", 0x9E), MsgcInputsKeyUp(0x9E)),
    (ChannelType.INPUTS, 103, struct.pack("<H", 4), MsgcInputsKeyModifiers(4)),
    (ChannelType.INPUTS, 104, b"\x1e\x9e", MsgcInputsKeyScancode(b"\x1e\x9e")),
    (ChannelType.INPUTS, 111, struct.pack("<iiH", -5, 7, 1), MsgcInputsMouseMotion(-5, 7, 1)),
    (
        ChannelType.INPUTS,
        112,
        struct.pack("<IIHB", 100, 200, 4, 0),
        MsgcInputsMousePosition(100, 200, 4, 0),
    ),
    (ChannelType.INPUTS, 113, struct.pack("<BH", 1, 1), MsgcInputsMousePress(1, 1)),
    (ChannelType.INPUTS, 114, struct.pack("<BH", 3, 0), MsgcInputsMouseRelease(3, 0)),
]


@pytest.mark.parametrize(
    ("channel", "msg_type", "body", "expected"),
    CLIENT_MESSAGES,
    ids=[type(m[3]).__name__ for m in CLIENT_MESSAGES],
)
def test_client_message_parsing(channel, msg_type, body, expected) -> None:
    assert parse_client_message(channel, Message(msg_type, body)) == expected
    assert expected.pack() == body  # the same layout both ways
    if body and not isinstance(
        expected,
        (MsgcMigrateData, MsgcMainAgentData, MsgcMainQualityIndicator, MsgcInputsKeyScancode),
    ):
        with pytest.raises(RemoteProtocolError, match="needs"):
            parse_client_message(channel, Message(msg_type, body[:-1]))


def test_trailing_bytes_are_tolerated() -> None:
    parsed = parse_client_message(ChannelType.INPUTS, Message(101, struct.pack("<I", 0x1E) + b"x"))
    assert parsed == MsgcInputsKeyDown(0x1E)


def test_unknown_types_and_channels_are_errors() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown message type 150"):
        parse_client_message(ChannelType.INPUTS, Message(150, b""))
    with pytest.raises(RemoteProtocolError, match="unknown message type 101"):
        parse_client_message(ChannelType.CURSOR, Message(101, b""))
    with pytest.raises(RemoteProtocolError, match="channel type 99"):
        parse_client_message(99, Message(1, b""))


def test_agent_data_is_limited_to_2048_bytes() -> None:
    assert parse_client_message(ChannelType.MAIN, Message(107, bytes(2048))).data == bytes(2048)
    with pytest.raises(RemoteProtocolError, match="2049"):
        parse_client_message(ChannelType.MAIN, Message(107, bytes(2049)))


def test_preferred_codecs_count_is_checked() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_client_message(ChannelType.DISPLAY, Message(105, b"\x05\x01"))


# -- the message bases ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: MsgSetAck(generation=-1, window=1),  # u32
        lambda: MsgSetAck(generation=1 << 32, window=1),
        lambda: MsgInputsKeyModifiers(modifiers=1 << 16),  # u16
        lambda: MsgPing(id=1, timestamp=1 << 64),  # u64
    ],
)
def test_out_of_range_fields_are_refused_at_construction(build: object) -> None:
    with pytest.raises(LocalProtocolError, match=r"^Msg\w+: "):
        build()  # type: ignore[operator]


def test_messages_are_frozen_and_slotted() -> None:
    message = MsgSetAck(generation=1, window=2)
    assert not hasattr(message, "__dict__")
    with pytest.raises(AttributeError):
        message.window = 3  # type: ignore[misc]
    assert message.pack() == struct.pack("<II", 1, 2)


def test_parsed_messages_are_client_messages_and_built_ones_server_messages() -> None:
    pong = Message(MsgcPong.TYPE, struct.pack("<IQ", 7, 9))
    parsed = parse_client_message(ChannelType.MAIN, pong)
    assert isinstance(parsed, ClientMessage) and not isinstance(parsed, ServerMessage)
    assert isinstance(MsgSetAck(generation=1, window=2), ServerMessage)
