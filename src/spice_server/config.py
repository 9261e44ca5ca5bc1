"""The server's settings, checked once and then frozen.

Everything a client's treatment depends on (codecs, compression, streaming, exclusivity)
is decided here, at construction, so a wrong setting fails at once with a clear message
and the channels read a value that cannot change under them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs

from .agent.file_transfer import FileTransferSettings
from .display.video import parse_codecs
from .protocol.constants import ImageCompression, VideoCodec

StreamingVideo = Literal["filter", "all", "off"]
JpegCompression = Literal["auto", "always", "never"]
STREAMING_VIDEO: tuple[StreamingVideo, ...] = ("filter", "all", "off")
JPEG_COMPRESSION: tuple[JpegCompression, ...] = ("auto", "always", "never")


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
    file_transfer: FileTransferSettings | None = None

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


def file_transfer_setting(
    enabled: bool, directory: str | os.PathLike[str] | None, max_size: int
) -> FileTransferSettings | None:
    """Where files sent by clients go: ``directory``, by default the user's Downloads
    directory (XDG's, as ``xdg-user-dir DOWNLOAD`` names it); None when disabled."""
    if max_size < 0:
        raise ConfigurationError(f"file_transfer_max_size {max_size} is negative")
    if not enabled:
        return None
    path = Path(directory) if directory is not None else Path(platformdirs.user_downloads_dir())
    return FileTransferSettings(path.expanduser(), max_size)
