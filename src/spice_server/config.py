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

from .display.video import parse_codecs
from .protocol.agent import DEFAULT_MAX_CLIPBOARD
from .protocol.constants import ChannelType, ImageCompression, VideoCodec

StreamingVideo = Literal["filter", "all", "off"]
JpegCompression = Literal["auto", "always", "never"]
STREAMING_VIDEO: tuple[StreamingVideo, ...] = ("filter", "all", "off")
JPEG_COMPRESSION: tuple[JpegCompression, ...] = ("auto", "always", "never")
ALL_CHANNELS = ("all", "default")  # the second is QEMU's name for "every other channel"
ChannelSecurity = Literal["tls", "plain", "any"]


DEFAULT_MAX_FILE_SIZE = 4 * 1024**3


class ConfigurationError(ValueError):
    """The server was asked for something unsafe or impossible (an open port, no password)."""


@dataclass(frozen=True)
class FileTransferSettings:
    """Where files clients send go, and how large one may be."""

    directory: Path
    max_size: int = DEFAULT_MAX_FILE_SIZE


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
    """The settings of a ``Server`` (its keywords of the same names).

    ``addr``, ``port``: where to listen (``port`` None: no plain port; clients may still
    come through ``Server.add_client``). Without a password
    only a loopback address is allowed, unless ``allow_insecure``, which also admits
    WebSocket clients from any web page (see ``net.exposure``); ``websocket_origins`` are
    web origins (``"https://host:port"``) whose pages may connect besides loopback ones.
    ``exclusive`` makes a new client replace the connected one (libspice's behaviour); by
    default several clients share the devices.
    ``streaming_video`` says which fast-changing areas become lossy video streams:
    ``"filter"`` (photographic content only, the default), ``"all"`` or ``"off"``.
    ``video_codecs`` are the stream codecs in order of preference (``"mjpeg"``,
    ``"h264"``, ``"vp8"``); each client gets the first it decodes.
    ``image_compression`` is libspice's setting of the lossless images: ``AUTO_GLZ`` (the
    default) codes text and UI that a palette does not hold as GLZ for clients that keep
    a GLZ window (spice-gtk: LZ against the images they keep), ``AUTO_LZ`` as LZ4
    instead; photographs as QUIC under both (see README, How the display travels).
    ``jpeg_compression`` says when photographic still images may go as JPEG: ``"always"``,
    ``"never"``, or ``"auto"`` (the default): for clients that decode no LZ4, and while a
    client's link is measured as the bottleneck.
    ``builtin_agent`` lets the server answer for the guest agent (client-driven resize,
    clipboard) while no real one is registered as a ``vdagent`` char device.
    ``websocket`` also serves browser clients (spice-html5) on the same port: a connection
    that starts with an HTTP request rather than the SPICE magic.
    ``playback_compression`` sends the playback interface's sound as Opus to clients that
    decode it (at 48000 Hz); off, every client gets raw PCM (libspice's
    ``spice_server_set_playback_compression``).
    ``limits`` bounds what one client or address may cost (see ``Limits``).
    ``tls_port`` is a TLS port beside ``port``; ``tls_channels`` must come over TLS,
    ``plaintext_channels`` must not, the others may use either port (``Server`` takes
    channel names, like ``"inputs"`` or ``"all"``).
    ``file_transfer`` (None: off) lets clients send files (dropped on their window)
    through the built-in agent into a directory (``Server``'s ``file_transfer_dir``,
    default the user's Downloads, created when the first file comes), none over
    ``file_transfer_max_size`` bytes.
    ``switch_interval``: at ``init`` Python's thread switch interval is lowered to this
    (seconds; None leaves it). At CPython's 5 ms, a loop answering a flood of requests
    kept the host program's other threads from the interpreter for 100 to 270 ms at a
    time, while the loop itself answered within 2 ms; at 1 ms they waited under 10.
    """

    addr: str = "127.0.0.1"
    port: int | None = 5900
    allow_insecure: bool = False
    name: str | None = None
    uuid: bytes | None = None
    exclusive: bool = False
    image_compression: ImageCompression = ImageCompression.AUTO_GLZ
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
    tls_port: int | None = None
    tls_channels: frozenset[int] = frozenset()
    plaintext_channels: frozenset[int] = frozenset()
    tls_by_default: bool = False
    file_transfer: FileTransferSettings | None = None
    switch_interval: float | None = 0.001

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
        if self.switch_interval is not None and not self.switch_interval > 0:
            raise ConfigurationError(f"switch interval {self.switch_interval} is not above 0")
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
