"""Numbers of the SPICE protocol (version 2.2), as the public protocol headers define them.

Message type enums are named after the spec: ``Msg*`` travel server to client, ``Msgc*``
client to server. Each channel numbers its own messages from 101; 1-100 are common to all.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

MAGIC = b"REDQ"
VERSION_MAJOR = 2
VERSION_MINOR = 2
TICKET_PUBKEY_BYTES = 162
TICKET_CIPHERTEXT_BYTES = 128


class ChannelType(IntEnum):
    MAIN = 1
    DISPLAY = 2
    INPUTS = 3
    CURSOR = 4
    PLAYBACK = 5
    RECORD = 6
    TUNNEL = 7
    SMARTCARD = 8
    USBREDIR = 9
    PORT = 10
    WEBDAV = 11


class LinkError(IntEnum):
    OK = 0
    ERROR = 1
    INVALID_MAGIC = 2
    INVALID_DATA = 3
    VERSION_MISMATCH = 4
    NEED_SECURED = 5
    NEED_UNSECURED = 6
    PERMISSION_DENIED = 7
    BAD_CONNECTION_ID = 8
    CHANNEL_NOT_AVAILABLE = 9


class CommonCap(IntEnum):
    PROTOCOL_AUTH_SELECTION = 0
    AUTH_SPICE = 1
    AUTH_SASL = 2
    MINI_HEADER = 3


class MainCap(IntEnum):
    SEMI_SEAMLESS_MIGRATE = 0
    NAME_AND_UUID = 1
    AGENT_CONNECTED_TOKENS = 2
    SEAMLESS_MIGRATE = 3


class DisplayCap(IntEnum):
    SIZED_STREAM = 0
    MONITORS_CONFIG = 1
    COMPOSITE = 2
    A8_SURFACE = 3
    STREAM_REPORT = 4
    LZ4_COMPRESSION = 5
    PREF_COMPRESSION = 6
    GL_SCANOUT = 7
    MULTI_CODEC = 8
    CODEC_MJPEG = 9
    CODEC_VP8 = 10
    CODEC_H264 = 11
    PREF_VIDEO_CODEC_TYPE = 12
    CODEC_VP9 = 13
    CODEC_H265 = 14


class InputsCap(IntEnum):
    KEY_SCANCODE = 0


class PlaybackCap(IntEnum):
    CELT_0_5_1 = 0
    VOLUME = 1
    LATENCY = 2
    OPUS = 3


class RecordCap(IntEnum):
    CELT_0_5_1 = 0
    VOLUME = 1
    OPUS = 2


class MsgBase(IntEnum):
    MIGRATE = 1
    MIGRATE_DATA = 2
    SET_ACK = 3
    PING = 4
    WAIT_FOR_CHANNELS = 5
    DISCONNECTING = 6
    NOTIFY = 7
    LIST = 8


class MsgcBase(IntEnum):
    ACK_SYNC = 1
    ACK = 2
    PONG = 3
    MIGRATE_FLUSH_MARK = 4
    MIGRATE_DATA = 5
    DISCONNECTING = 6


class MsgMain(IntEnum):
    MIGRATE_BEGIN = 101
    MIGRATE_CANCEL = 102
    INIT = 103
    CHANNELS_LIST = 104
    MOUSE_MODE = 105
    MULTI_MEDIA_TIME = 106
    AGENT_CONNECTED = 107
    AGENT_DISCONNECTED = 108
    AGENT_DATA = 109
    AGENT_TOKEN = 110
    MIGRATE_SWITCH_HOST = 111
    MIGRATE_END = 112
    NAME = 113
    UUID = 114
    AGENT_CONNECTED_TOKENS = 115
    MIGRATE_BEGIN_SEAMLESS = 116
    MIGRATE_DST_SEAMLESS_ACK = 117
    MIGRATE_DST_SEAMLESS_NACK = 118


class MsgcMain(IntEnum):
    CLIENT_INFO = 101
    MIGRATE_CONNECTED = 102
    MIGRATE_CONNECT_ERROR = 103
    ATTACH_CHANNELS = 104
    MOUSE_MODE_REQUEST = 105
    AGENT_START = 106
    AGENT_DATA = 107
    AGENT_TOKEN = 108
    MIGRATE_END = 109
    MIGRATE_DST_DO_SEAMLESS = 110
    MIGRATE_CONNECTED_SEAMLESS = 111
    QUALITY_INDICATOR = 112


class MsgDisplay(IntEnum):
    MODE = 101
    MARK = 102
    RESET = 103
    COPY_BITS = 104
    INVAL_LIST = 105
    INVAL_ALL_PIXMAPS = 106
    INVAL_PALETTE = 107
    INVAL_ALL_PALETTES = 108
    STREAM_CREATE = 122
    STREAM_DATA = 123
    STREAM_CLIP = 124
    STREAM_DESTROY = 125
    STREAM_DESTROY_ALL = 126
    DRAW_FILL = 302
    DRAW_OPAQUE = 303
    DRAW_COPY = 304
    DRAW_BLEND = 305
    DRAW_BLACKNESS = 306
    DRAW_WHITENESS = 307
    DRAW_INVERS = 308
    DRAW_ROP3 = 309
    DRAW_STROKE = 310
    DRAW_TEXT = 311
    DRAW_TRANSPARENT = 312
    DRAW_ALPHA_BLEND = 313
    SURFACE_CREATE = 314
    SURFACE_DESTROY = 315
    STREAM_DATA_SIZED = 316
    MONITORS_CONFIG = 317
    DRAW_COMPOSITE = 318
    STREAM_ACTIVATE_REPORT = 319
    GL_SCANOUT_UNIX = 320
    GL_DRAW = 321
    QUALITY_INDICATOR = 322


class MsgcDisplay(IntEnum):
    INIT = 101
    STREAM_REPORT = 102
    PREFERRED_COMPRESSION = 103
    GL_DRAW_DONE = 104
    PREFERRED_VIDEO_CODEC_TYPE = 105


class MsgInputs(IntEnum):
    INIT = 101
    KEY_MODIFIERS = 102
    MOUSE_MOTION_ACK = 111


class MsgcInputs(IntEnum):
    KEY_DOWN = 101
    KEY_UP = 102
    KEY_MODIFIERS = 103
    KEY_SCANCODE = 104
    MOUSE_MOTION = 111
    MOUSE_POSITION = 112
    MOUSE_PRESS = 113
    MOUSE_RELEASE = 114


class MsgCursor(IntEnum):
    INIT = 101
    RESET = 102
    SET = 103
    MOVE = 104
    HIDE = 105
    TRAIL = 106
    INVAL_ONE = 107
    INVAL_ALL = 108


class MsgPlayback(IntEnum):
    DATA = 101
    MODE = 102
    START = 103
    STOP = 104
    VOLUME = 105
    MUTE = 106
    LATENCY = 107


class MsgRecord(IntEnum):
    START = 101
    STOP = 102
    VOLUME = 103
    MUTE = 104


class MsgcRecord(IntEnum):
    DATA = 101
    MODE = 102
    START_MARK = 103


class AudioDataMode(IntEnum):
    """How audio frames travel: raw PCM or Opus packets (CELT is obsolete)."""

    INVALID = 0
    RAW = 1
    CELT_0_5_1 = 2
    OPUS = 3


class AudioFormat(IntEnum):
    S16 = 1


class MouseMode(IntFlag):
    """Mouse modes: SERVER sends relative motion, CLIENT sends absolute positions."""

    SERVER = 1
    CLIENT = 2


class KeyboardModifier(IntFlag):
    """Lock-key LEDs, as carried by the inputs channel's KEY_MODIFIERS and INIT."""

    SCROLL_LOCK = 1
    NUM_LOCK = 2
    CAPS_LOCK = 4


class MouseButton(IntEnum):
    """Button numbers of MOUSE_PRESS / MOUSE_RELEASE; UP and DOWN are the wheel."""

    LEFT = 1
    MIDDLE = 2
    RIGHT = 3
    UP = 4
    DOWN = 5
    SIDE = 6
    EXTRA = 7


class ButtonMask(IntFlag):
    """The buttons_state mask that comes with every mouse message."""

    LEFT = 1
    MIDDLE = 2
    RIGHT = 4
    UP = 8
    DOWN = 16
    SIDE = 32
    EXTRA = 64


class SurfaceFormat(IntEnum):
    A1 = 1
    A8 = 8
    RGB16_555 = 16
    RGB16_565 = 80
    XRGB32 = 32
    ARGB32 = 96


class SurfaceFlags(IntFlag):
    PRIMARY = 1
    STREAMING_MODE = 2


class ImageType(IntEnum):
    BITMAP = 0
    QUIC = 1
    LZ_PLT = 100
    LZ_RGB = 101
    GLZ_RGB = 102
    FROM_CACHE = 103
    SURFACE = 104
    JPEG = 105
    FROM_CACHE_LOSSLESS = 106
    ZLIB_GLZ_RGB = 107
    JPEG_ALPHA = 108
    LZ4 = 109


class BitmapFormat(IntEnum):
    BIT_24 = 7
    BIT_32 = 8
    RGBA = 9


class BitmapFlags(IntFlag):
    PAL_CACHE_ME = 1
    PAL_FROM_CACHE = 2
    TOP_DOWN = 4


class ClipType(IntEnum):
    NONE = 0
    RECTS = 1


class BrushType(IntEnum):
    NONE = 0
    SOLID = 1
    PATTERN = 2


class RopDescriptor(IntFlag):
    INVERS_SRC = 1
    INVERS_BRUSH = 2
    INVERS_DEST = 4
    OP_PUT = 8
    OP_OR = 16
    OP_AND = 32
    OP_XOR = 64
    OP_BLACKNESS = 128
    OP_WHITENESS = 256
    OP_INVERS = 512
    INVERS_RES = 1024


class ImageCompression(IntEnum):
    """SpiceImageCompression: the server setting and the client's PREFERRED_COMPRESSION."""

    INVALID = 0
    OFF = 1
    AUTO_GLZ = 2
    AUTO_LZ = 3
    QUIC = 4
    GLZ = 5
    LZ = 6
    LZ4 = 7


class VideoCodec(IntEnum):
    """Stream codecs (STREAM_CREATE codec_type, PREFERRED_VIDEO_CODEC_TYPE)."""

    MJPEG = 1
    VP8 = 2
    H264 = 3
    VP9 = 4
    H265 = 5


class StreamFlags(IntFlag):
    TOP_DOWN = 1


class CursorType(IntEnum):
    ALPHA = 0
    MONO = 1
    COLOR4 = 2
    COLOR8 = 3
    COLOR16 = 4
    COLOR24 = 5
    COLOR32 = 6


class CursorFlags(IntFlag):
    NONE = 1
    CACHE_ME = 2
    FROM_CACHE = 4


class NotifySeverity(IntEnum):
    INFO = 0
    WARN = 1
    ERROR = 2


class NotifyVisibility(IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2
