"""The server's settings, checked once and then frozen.

Everything a client's treatment depends on (codecs, compression, streaming, exclusivity)
is decided here, at construction, so a wrong setting fails at once with a clear message
and the channels read a value that cannot change under them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .display.video import parse_codecs
from .protocol.agent import DEFAULT_MAX_CLIPBOARD
from .protocol.constants import ImageCompression, VideoCodec

StreamingVideo = Literal["filter", "all", "off"]
JpegCompression = Literal["auto", "always", "never"]
STREAMING_VIDEO: tuple[StreamingVideo, ...] = ("filter", "all", "off")
JPEG_COMPRESSION: tuple[JpegCompression, ...] = ("auto", "always", "never")


class ConfigurationError(ValueError):
    """The server was asked for something unsafe or impossible (an open port, no password)."""


@dataclass(frozen=True)
class Limits:
    """What one client, or one address, may make the server hold or do.

    Clients are untrusted until their ticket is checked, and some never are (no
    password): each of these bounds what a hostile one costs the others.
    """

    max_clipboard: int = DEFAULT_MAX_CLIPBOARD  # bytes of one clipboard record, either way
    max_sessions: int = 64  # sessions at once
    max_sessions_per_address: int = 16
    # Unfinished link handshakes from one address: a spice-gtk client opens six or more
    # channels at once, and several may start together from one host or NAT.
    max_pending_links_per_address: int = 32
    free_ticket_failures: int = 3  # wrong tickets from one address before answers are delayed
    max_ticket_delay: float = 30.0  # seconds; the delay doubles from 0.5 s per failure

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_sessions_per_address", "max_pending_links_per_address"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        if self.max_clipboard < 0 or self.free_ticket_failures < 0 or self.max_ticket_delay < 0:
            raise ConfigurationError("limits cannot be negative")


@dataclass(frozen=True)
class ServerConfig:
    """See ``Server.__init__`` for what each setting means."""

    addr: str = "127.0.0.1"
    port: int | None = 5900
    allow_insecure: bool = False
    name: str | None = None
    uuid: bytes | None = None
    exclusive: bool = False
    image_compression: ImageCompression = ImageCompression.AUTO_LZ
    link_timeout: float = 10.0
    max_pending_links: int = 64
    builtin_agent: bool = True
    streaming_video: StreamingVideo = "filter"
    jpeg_compression: JpegCompression = "auto"
    video_codecs: tuple[VideoCodec, ...] = field(
        default=(VideoCodec.MJPEG, VideoCodec.H264, VideoCodec.VP8)
    )
    websocket: bool = True
    playback_compression: bool = True
    limits: Limits = field(default_factory=Limits)
    websocket_origins: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.uuid is not None and len(self.uuid) != 16:
            raise ConfigurationError("uuid must be 16 bytes")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port {self.port} out of range")
        if self.streaming_video not in STREAMING_VIDEO:
            raise ConfigurationError(
                f"streaming_video {self.streaming_video!r}: filter, all or off"
            )
        if self.jpeg_compression not in JPEG_COMPRESSION:
            raise ConfigurationError(
                f"jpeg_compression {self.jpeg_compression!r}: auto, always or never"
            )
        if self.max_pending_links < 1:
            raise ConfigurationError("max_pending_links must be at least 1")
        try:
            object.__setattr__(self, "image_compression", ImageCompression(self.image_compression))
        except ValueError:
            raise ConfigurationError(
                f"image_compression {self.image_compression!r} is not a SPICE image compression"
            ) from None


def codecs_setting(names: Sequence[str]) -> tuple[VideoCodec, ...]:
    """Codec names (``"h264"``, ``"vp8"``, ``"mjpeg"``) as the configuration holds them."""
    try:
        return parse_codecs(names)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
