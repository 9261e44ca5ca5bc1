"""The server: a facade over configuration, the core, the devices, admission and channels.

Usage mirrors libspice-server: ``server = Server(port=5900)``, ``server.init(core)`` (the
core interface: AsyncioCore, SelectorCore, your own), ``server.add_interface(display)``.
``init`` starts listening through the core's watches; the caller's loop runs everything.
Nothing here blocks and nothing runs on another thread, except what back ends call on their
interfaces (pixels, LEDs), which reaches the loop through the dispatch's doorbell.

The server is also the channels' :class:`~spice_server.channels.context.ChannelContext`
and the agents' context, seen only through those protocols. The jobs behind the facade
have their own modules: ``config``, ``listening`` (ports, who may reach them), ``admission``
(handshakes), ``dispatch`` (threads to loop), ``interfaces.registry``, ``policy``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import ParamSpec, TypeVar

from .admission import Admission
from .agent.base import AgentEndpoint
from .channels.base import Channel, ChannelClient
from .channels.cursor import CursorChannel
from .channels.display import DisplayChannel
from .channels.inputs import InputsChannel
from .channels.main import MainChannel
from .channels.playback import PlaybackChannel
from .channels.record import RecordChannel
from .config import (
    DEFAULT_MAX_FILE_SIZE,
    ConfigurationError,
    JpegCompression,
    Limits,
    ServerConfig,
    StreamingVideo,
    channel_security_setting,
    codecs_setting,
    file_transfer_setting,
)
from .core.base import ChannelEvent, ChannelEventInfo, Core
from .core.clock import Clock, SystemClock
from .dispatch import BackendDispatch, call_backend
from .interfaces.base import Interface, InterfaceError
from .interfaces.display import Display
from .interfaces.events import (
    AudioQueued,
    Change,
    ClipboardData,
    ClipboardGrab,
    ClipboardRelease,
    ClipboardRequest,
    CursorChanged,
    DeviceWakeup,
    LedsChanged,
    PixelsChanged,
    Resized,
)
from .interfaces.playback import PlaybackInterface
from .interfaces.record import RecordInterface
from .interfaces.registry import DeviceRegistry
from .listening import Ports
from .net.auth import TicketAuthority
from .net.certificates import SelfSigned
from .net.sasl import Sasl
from .net.tls import TlsCredentials
from .policy import DevicePolicy
from .protocol.agent import MonitorConfig
from .protocol.constants import (
    ChannelType,
    ImageCompression,
    MouseMode,
    NotifySeverity,
    NotifyVisibility,
)
from .protocol.messages.base import MsgNotify

__all__ = ["ConfigurationError", "Limits", "Server"]

log = logging.getLogger(__name__)

CORE_MAJOR_VERSION = 1
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class Server:
    """A SPICE server. See the module docstring for the life cycle."""

    def __init__(
        self,
        *,
        addr: str = "127.0.0.1",
        port: int | None = 5900,
        password: str | None = None,
        ticket_lifetime: float | None = None,
        allow_insecure: bool = False,
        name: str | None = None,
        uuid: bytes | None = None,
        exclusive: bool = False,
        image_compression: ImageCompression = ImageCompression.AUTO_GLZ,
        link_timeout: float = 10.0,
        max_pending_links: int = 64,
        builtin_agent: bool = True,
        streaming_video: StreamingVideo = "filter",
        jpeg_compression: JpegCompression = "auto",
        video_codecs: Sequence[str] = ("mjpeg", "h264", "vp8"),
        websocket: bool = True,
        playback_compression: bool = True,
        limits: Limits | None = None,
        websocket_origins: Sequence[str] = (),
        tls_port: int | None = None,
        tls: TlsCredentials | None = None,
        tls_ciphers: str | None = None,
        tls_channels: Sequence[str] = (),
        plaintext_channels: Sequence[str] = (),
        state_dir: Path | None = None,
        sasl: Sasl | None = None,
        file_transfer: bool = True,
        file_transfer_dir: str | os.PathLike[str] | None = None,
        file_transfer_max_size: int = DEFAULT_MAX_FILE_SIZE,
        switch_interval: float | None = 0.001,
        clock: Clock | None = None,
    ) -> None:
        """Configure; nothing opens until ``init``. The settings are explained where they
        are kept, ``config.ServerConfig``; besides: ``password``, ``ticket_lifetime`` (the
        ticket, ``net.auth``), ``tls`` (QEMU's x509 files, else a self-signed set-up made
        once in ``state_dir``: ``tls_setup``), ``tls_ciphers`` (OpenSSL's list), ``sasl``
        (mechanisms and credentials instead of the ticket), ``clock`` (for tests)."""
        secure, plain, all_secure = channel_security_setting(tls_channels, plaintext_channels)
        self.config = ServerConfig(
            tls_port=tls_port,
            tls_channels=secure,
            plaintext_channels=plain,
            tls_by_default=all_secure,
            addr=addr,
            port=port,
            allow_insecure=allow_insecure,
            name=name,
            uuid=uuid,
            exclusive=exclusive,
            image_compression=image_compression,
            link_timeout=link_timeout,
            max_pending_links=max_pending_links,
            builtin_agent=builtin_agent,
            streaming_video=streaming_video,
            jpeg_compression=jpeg_compression,
            video_codecs=codecs_setting(video_codecs),
            websocket=websocket,
            playback_compression=playback_compression,
            limits=limits or Limits(),
            websocket_origins=frozenset(o.rstrip("/").lower() for o in websocket_origins),
            file_transfer=file_transfer_setting(
                file_transfer, file_transfer_dir, file_transfer_max_size
            ),
            switch_interval=switch_interval,
        )
        self._clock = clock or SystemClock()
        self.auth = TicketAuthority(password, ticket_lifetime, self._clock)
        self.devices = DeviceRegistry()
        self._core: Core | None = None
        self._ports = Ports(self.config, tls, tls_ciphers, state_dir)
        self._channels: dict[tuple[int, int], Channel] = {}
        self._dispatch = BackendDispatch(self._on_changes)
        self._admission = Admission(
            self.config,
            self.auth,
            self._channel,
            self._emit,
            self._clock,
            sasl,
            idle=self._dispatch.release_free_memory,
        )
        self._policy = DevicePolicy(self)
        self._main: MainChannel | None = None
        self._inputs: InputsChannel | None = None

    # -- life cycle ----------------------------------------------------------------------

    def init(self, core: Core) -> None:
        """Attach to ``core`` and start listening (libspice's ``spice_server_init``)."""
        if self._core is not None:
            raise ConfigurationError("the server is already initialised")
        if getattr(core, "major_version", None) != CORE_MAJOR_VERSION:
            raise InterfaceError(
                f"core interface major version {getattr(core, 'major_version', None)}, "
                f"this server needs {CORE_MAJOR_VERSION}"
            )
        self._ports.open(  # first: a port in use leaves the server as it was
            core,
            lambda sock, tls: self.add_client(sock, tls=tls),
            password=self._admission.authenticates,
        )
        self._core = core
        if (interval := self.config.switch_interval) and interval < sys.getswitchinterval():
            sys.setswitchinterval(interval)  # the host's threads take turns with the loop
        self._dispatch.open(core)
        self._main = MainChannel(self)
        self._inputs = InputsChannel(self)
        for channel in (self._main, self._inputs):
            self._channels[(channel.type, channel.id)] = channel
        for display in self.devices.displays.values():
            self._open_display_channels(display)
        for device in (self.devices.playback, self.devices.record):
            if device is not None:
                self._open_audio_channel(device)
        self._policy.replace_agent()

    def destroy(self) -> None:
        """Close every connection and the listening socket; the server cannot be reused."""
        self._ports.close()
        self._admission.close_all("server shutting down")
        self._dispatch.close()

    @property
    def address(self) -> tuple[str, int]:
        """The plain port's address; with ``port=0`` this tells the port the system chose."""
        return self._ports.address

    @property
    def tls_address(self) -> tuple[str, int]:
        return self._ports.tls_address

    @property
    def tls_setup(self) -> SelfSigned | None:
        """The self-signed set-up the TLS port uses, when it was given no certificates."""
        return self._ports.self_signed

    def uri(self) -> str:
        """The address for remote-viewer, with both ports: the first of ``uris()``."""
        return self._ports.uri()

    def uris(self) -> list[str]:
        """The URIs clients can connect to, with both ports; for a wildcard address, one
        per address of this machine (those other machines can reach first, loopback last)."""
        return self._ports.uris()

    def set_ticket(self, password: str | None, lifetime: float | None = None) -> None:
        """Change the password new clients must give (None: none), valid ``lifetime`` seconds."""
        if password is None and self._ports.listening:
            self._ports.check_exposure(password=self._admission.sasl is not None)
        self.auth.set_ticket(password, lifetime)

    def websocket_origin_refusal(self, origin: str | None) -> str | None:
        """Why a WebSocket from a page of ``origin`` is refused, or None to accept it."""
        return self._admission.origin_refusal(origin)

    # -- clients -------------------------------------------------------------------------

    def add_client(
        self, sock: socket.socket, skip_auth: bool = False, *, tls: bool = False
    ) -> None:
        """Serve a connected socket (libspice's ``spice_server_add_client``, or with ``tls``
        its ``spice_server_add_ssl_client``: TLS first, on the TLS port's certificate)."""
        context = self._ports.tls_context if tls else None
        if tls and context is None:
            raise ConfigurationError("TLS clients need a TLS port's certificate (tls_port)")
        self._admission.add_client(self.core, sock, skip_auth, context)

    def disconnect_clients(self, reason: str) -> None:
        """Tell every client why (a NOTIFY it may show), then end their sessions."""
        stamp = int(time.time() * 1000)
        for client in self.channel_clients(ChannelType.MAIN):
            client.send(MsgNotify(stamp, NotifySeverity.ERROR, NotifyVisibility.HIGH, 0, reason))
        self._admission.end_sessions(reason)

    @property
    def session_count(self) -> int:
        return len(self._admission.sessions)

    @property
    def pending_links(self) -> int:
        """Connections still in the link handshake."""
        return self._admission.pending_links

    def channel_clients(self, channel_type: int | None = None) -> list[ChannelClient]:
        """The connected channel clients, optionally of one channel type."""
        return [
            client
            for (kind, _), channel in self._channels.items()
            if channel_type is None or kind == channel_type
            for client in channel.clients
        ]

    def _channel(self, channel_type: int, channel_id: int) -> Channel | None:
        return self._channels.get((channel_type, channel_id))

    def _emit(self, event: ChannelEvent, info: ChannelEventInfo) -> None:
        if self._core is not None:
            call_backend(self._core.channel_event, event, info)

    # -- interfaces ----------------------------------------------------------------------

    def add_interface(self, instance: Interface) -> None:
        """Register a device. Raises InterfaceError, changing nothing, if it cannot be."""
        kind = self.devices.add(instance)
        instance._notify = self._dispatch.notify
        log.info(
            "added %s interface %r", kind.name, instance.description or type(instance).__name__
        )
        if self._core is None:
            return  # init() opens the channels of what is registered by then
        if isinstance(instance, Display):
            self._open_display_channels(instance)
        elif isinstance(instance, PlaybackInterface | RecordInterface):
            self._open_audio_channel(instance)
        self._policy.devices_changed(kind.name, added=True)

    def remove_interface(self, instance: Interface) -> None:
        """Unregister a device, also while clients use it; its events are dropped from now on."""
        kind = self.devices.remove(instance)
        instance._notify = None
        if isinstance(instance, Display):
            for channel_type in (ChannelType.DISPLAY, ChannelType.CURSOR):
                self._close_channel(channel_type, instance.display_id, "the display was removed")
        elif isinstance(instance, PlaybackInterface):
            self._close_channel(ChannelType.PLAYBACK, 0, "the playback device was removed")
        elif isinstance(instance, RecordInterface):
            self._close_channel(ChannelType.RECORD, 0, "the record device was removed")
        self._policy.devices_changed(kind.name, added=False)
        log.info("removed %s interface", kind.name)

    def _open_display_channels(self, display: Display) -> None:
        for channel in (DisplayChannel(self, display), CursorChannel(self, display)):
            self._add_channel(channel)
        if display.display_id == 0:
            self._policy.update_logical_size()

    def _open_audio_channel(self, device: PlaybackInterface | RecordInterface) -> None:
        channel: PlaybackChannel | RecordChannel
        if isinstance(device, PlaybackInterface):
            channel = PlaybackChannel(self, device)
        else:
            channel = RecordChannel(self, device)
        device.take_events()  # what happened before the channel existed is in its state
        self._add_channel(channel)

    def _add_channel(self, channel: Channel) -> None:
        self._channels[(channel.type, channel.id)] = channel
        if self._main is not None:
            self._main.announce_channel(channel.type, channel.id)

    def _close_channel(self, channel_type: int, channel_id: int, reason: str) -> None:
        channel = self._channels.pop((channel_type, channel_id), None)
        if channel is not None:
            channel.close(reason)

    # -- changes from back ends, on the loop --------------------------------------------

    def _on_changes(self, instance: Interface, events: list[Change]) -> None:
        for event in events:
            match event:
                case PixelsChanged() | Resized() if isinstance(instance, Display):
                    self._distribute(ChannelType.DISPLAY, instance.display_id)
                    if isinstance(event, Resized) and instance.display_id == 0:
                        self._policy.update_logical_size()
                case CursorChanged() if isinstance(instance, Display):
                    self._distribute(ChannelType.CURSOR, instance.display_id)
                case LedsChanged():
                    if self._inputs is not None:
                        self._inputs.broadcast_leds(self.keyboard_leds())
                case AudioQueued():
                    channel_type = (
                        ChannelType.PLAYBACK
                        if isinstance(instance, PlaybackInterface)
                        else ChannelType.RECORD
                    )
                    self._distribute(channel_type, 0)
                case DeviceWakeup():
                    if self.agent is not None and instance is self.devices.vdagent:
                        self.agent.wakeup()
                case ClipboardGrab() | ClipboardRelease() | ClipboardRequest() | ClipboardData():
                    if self.agent is not None:
                        self.agent.clipboard_action(event)

    def _distribute(self, channel_type: int, channel_id: int) -> None:
        channel = self._channels.get((channel_type, channel_id))
        if isinstance(channel, DisplayChannel | CursorChannel | PlaybackChannel | RecordChannel):
            channel.distribute()

    # -- the channels' and agents' context ------------------------------------------------

    @property
    def core(self) -> Core:
        if self._core is None:
            raise ConfigurationError("call init(core) first")
        return self._core

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def agent(self) -> AgentEndpoint | None:
        return self._policy.agent

    @property
    def mouse_mode(self) -> MouseMode:
        return self._policy.mouse_mode

    @property
    def supported_mouse_modes(self) -> MouseMode:
        return self._policy.supported_mouse_modes

    @property
    def display_count(self) -> int:
        return len(self.devices.displays)

    @property
    def playback_active(self) -> bool:
        playback = self.devices.playback
        return playback is not None and playback.active

    @property
    def main_channel(self) -> MainChannel | None:
        return self._main

    def request_mouse_mode(self, mode: int) -> None:
        self._policy.request_mouse_mode(mode)

    def keyboard_leds(self) -> int:
        keyboard = self.devices.keyboard
        if keyboard is None:
            return 0
        return int(call_backend(keyboard.get_leds) or 0)

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        return self._policy.client_monitors_config(monitors)

    def call_backend(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """Call into the caller's code; its exceptions are logged, never let loose on us."""
        return call_backend(func, *args, **kwargs)

    def offload(self, work: Callable[[], T], done: Callable[[Future[T]], None]) -> None:
        self._dispatch.offload(work, done)

    def call_soon_threadsafe(self, func: Callable[[], None]) -> None:
        """Run ``func()`` on the server's loop; callable from any thread."""
        self._dispatch.call_soon_threadsafe(func)

    def channel_list(self) -> list[tuple[int, int]]:
        """Every channel but MAIN, in the order clients should connect them."""
        return sorted(key for key in self._channels if key[0] != ChannelType.MAIN)
