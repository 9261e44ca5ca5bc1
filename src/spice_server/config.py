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
from .protocol.constants import ChannelType, ImageCompression, VideoCodec

StreamingVideo = Literal["filter", "all", "off"]
JpegCompression = Literal["auto", "always", "never"]
STREAMING_VIDEO: tuple[StreamingVideo, ...] = ("filter", "all", "off")
JPEG_COMPRESSION: tuple[JpegCompression, ...] = ("auto", "always", "never")
ALL_CHANNELS = ("all", "default")  # the second is QEMU's name for "every other channel"
ChannelSecurity = Literal["tls", "plain", "any"]


class ConfigurationError(ValueError):
    """The server was asked for something unsafe or impossible (an open port, no password)."""


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
    tls_port: int | None = None
    tls_channels: frozenset[int] = frozenset()
    plaintext_channels: frozenset[int] = frozenset()
    tls_by_default: bool = False

    def __post_init__(self) -> None:
        if self.uuid is not None and len(self.uuid) != 16:
            raise ConfigurationError("uuid must be 16 bytes")
        for name, port in (("port", self.port), ("tls port", self.tls_port)):
            if port is not None and not 0 <= port <= 65535:
                raise ConfigurationError(f"{name} {port} out of range")
        if self.tls_port is None and (self.tls_channels or self.tls_by_default):
            raise ConfigurationError("channels required over TLS need a TLS port (--tls-port)")
        if self.tls_channels & self.plaintext_channels:
            raise ConfigurationError("a channel cannot be both TLS-only and plaintext-only")
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

    def channel_security(self, channel_type: int) -> ChannelSecurity:
        """Whether a channel must come over TLS, must not, or may do either."""
        if channel_type in self.tls_channels:
            return "tls"
        if channel_type in self.plaintext_channels:
            return "plain"
        return "tls" if self.tls_by_default else "any"


def channel_security_setting(
    tls: Sequence[str], plaintext: Sequence[str]
) -> tuple[frozenset[int], frozenset[int], bool]:
    """The channel types that must use TLS, those that must not, and whether all the others
    must use TLS (``all``, or QEMU's ``default``, among the ``tls`` names)."""
    secure, all_secure = _channel_types(tls)
    plain, all_plain = _channel_types(plaintext)
    if all_plain:
        raise ConfigurationError("plaintext channels are named one by one, not 'all'")
    return secure, plain, all_secure


def _channel_types(names: Sequence[str]) -> tuple[frozenset[int], bool]:
    types: set[int] = set()
    everything = False
    for name in names:
        if name.lower() in ALL_CHANNELS:
            everything = True
            continue
        try:
            types.add(ChannelType[name.upper()])
        except KeyError:
            known = ", ".join(t.name.lower() for t in ChannelType)
            raise ConfigurationError(f"unknown channel {name!r}: {known} or all") from None
    return frozenset(types), everything


def codecs_setting(names: Sequence[str]) -> tuple[VideoCodec, ...]:
    """Codec names (``"h264"``, ``"vp8"``, ``"mjpeg"``) as the configuration holds them."""
    try:
        return parse_codecs(names)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
