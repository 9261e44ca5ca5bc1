"""The server: configuration, the core it runs on, its interfaces, channels and sessions.

Usage mirrors libspice-server::

    server = Server(port=5900)
    server.init(core)               # the core interface: AsyncioCore, SelectorCore, your own
    server.add_interface(display)   # and keyboard, mouse, tablet...

``init`` starts listening through the core's watches; the caller's loop runs everything.
Nothing here blocks and nothing runs on another thread, except what back ends call on their
interfaces (pixels, LEDs), which reaches the loop through a doorbell.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .agent.base import AgentEndpoint
from .agent.builtin import BuiltinAgent
from .agent.vdagent import VdagentBridge
from .channels.base import Channel, ChannelClient
from .channels.cursor import CursorChannel
from .channels.display import DisplayChannel
from .channels.inputs import InputsChannel
from .channels.main import MainChannel
from .channels.playback import PlaybackChannel
from .channels.record import RecordChannel
from .core.base import ChannelEvent, ChannelEventInfo, Core
from .core.doorbell import Doorbell
from .display.video import parse_codecs
from .interfaces.base import Change, Interface, InterfaceError
from .interfaces.char_device import SUBTYPES, CharDeviceInterface
from .interfaces.clipboard import ClipboardInterface
from .interfaces.display import Display
from .interfaces.keyboard import KeyboardInterface
from .interfaces.mouse import MouseInterface
from .interfaces.playback import PlaybackInterface
from .interfaces.record import RecordInterface
from .interfaces.tablet import TabletInterface
from .net.auth import TicketAuthority
from .net.connection import Connection, configure_client_socket
from .net.handshake import Handshake
from .net.listener import Listener
from .protocol.agent import MonitorConfig
from .protocol.constants import (
    ChannelType,
    CommonCap,
    ImageCompression,
    LinkError,
    MouseMode,
    NotifySeverity,
    NotifyVisibility,
)
from .protocol.link import LinkRequest, ServerLink
from .protocol.messages.base import MsgNotify
from .session import Session

log = logging.getLogger(__name__)

# The interface types this server implements, with the version of each.
INTERFACE_VERSIONS: dict[str, tuple[type[Interface], int, int]] = {
    "keyboard": (KeyboardInterface, 1, 1),
    "mouse": (MouseInterface, 1, 1),
    "tablet": (TabletInterface, 1, 1),
    "display": (Display, 1, 0),
    "clipboard": (ClipboardInterface, 1, 0),
    "char_device": (CharDeviceInterface, 1, 3),
    "playback": (PlaybackInterface, 1, 0),
    "record": (RecordInterface, 1, 0),
}
CORE_MAJOR_VERSION = 1
ENCODER_THREADS = 2


class ConfigurationError(ValueError):
    """The server was asked for something unsafe or impossible (an open port, no password)."""


class Server:
    """A SPICE server. See the module docstring for the life cycle."""

    common_caps: frozenset[int] = frozenset(
        {CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER}
    )

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
        image_compression: ImageCompression = ImageCompression.AUTO_LZ,
        link_timeout: float = 10.0,
        max_pending_links: int = 64,
        builtin_agent: bool = True,
        streaming_video: str = "filter",
        jpeg_compression: str = "auto",
        video_codecs: Sequence[str] = ("h264", "vp8", "mjpeg"),
        websocket: bool = True,
        playback_compression: bool = True,
    ) -> None:
        """Configure; nothing is opened until ``init``.

        ``password=None`` lets any client in, which is only allowed on a loopback address
        unless ``allow_insecure``; it also limits WebSocket clients to pages served from a
        loopback address, unless ``allow_insecure`` (see ``websocket_origin_refusal``).
        ``exclusive`` makes a new client replace the connected one (libspice's behaviour);
        by default several clients share the devices.
        ``port=None`` opens no listening socket: clients come through ``add_client``.
        ``streaming_video`` says which fast-changing areas become lossy video streams:
        ``"filter"`` (photographic content only, the default), ``"all"`` or ``"off"``.
        ``video_codecs`` are the stream codecs in order of preference (``"h264"``,
        ``"vp8"``, ``"mjpeg"``); each client gets the first it decodes.
        ``jpeg_compression`` says when photographic still images may go as JPEG:
        ``"always"``, ``"never"``, or ``"auto"`` (the default): only for clients that
        decode no LZ4, for which the lossless choice is raw pixels.
        ``builtin_agent`` lets the server answer for the guest agent (client-driven resize,
        clipboard) while no real one is registered as a ``vdagent`` char device.
        ``websocket`` also serves browser clients (spice-html5) on the same port: a
        connection that starts with an HTTP request rather than the SPICE magic.
        ``playback_compression`` sends the playback interface's sound as Opus to clients
        that decode it (at 48000 Hz); off, every client gets raw PCM (libspice's
        ``spice_server_set_playback_compression``).
        """
        if uuid is not None and len(uuid) != 16:
            raise ConfigurationError("uuid must be 16 bytes")
        if port is not None and not 0 <= port <= 65535:
            raise ConfigurationError(f"port {port} out of range")
        self.addr = addr
        self.port = port
        self.allow_insecure = allow_insecure
        self.name = name
        self.uuid = uuid
        self.exclusive = exclusive
        self.image_compression = ImageCompression(image_compression)
        self.link_timeout = link_timeout
        self.max_pending_links = max_pending_links
        self.builtin_agent = builtin_agent
        if streaming_video not in ("filter", "all", "off"):
            raise ConfigurationError(f"streaming_video {streaming_video!r}: filter, all or off")
        self.streaming_video = streaming_video
        if jpeg_compression not in ("auto", "always", "never"):
            raise ConfigurationError(
                f"jpeg_compression {jpeg_compression!r}: auto, always or never"
            )
        self.jpeg_compression = jpeg_compression
        try:
            self.video_codecs = parse_codecs(video_codecs)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self.websocket = websocket
        self.playback_compression = playback_compression
        self.auth = TicketAuthority(password, ticket_lifetime)
        self.public_key = self.auth.public_key

        self.core: Core | None = None
        self.keyboard: KeyboardInterface | None = None
        self.mouse: MouseInterface | None = None
        self.tablet: TabletInterface | None = None
        self.clipboard: ClipboardInterface | None = None
        self.vdagent: CharDeviceInterface | None = None
        self.playback: PlaybackInterface | None = None
        self.record: RecordInterface | None = None
        self.agent: AgentEndpoint | None = None
        self.displays: dict[int, Display] = {}
        self.mouse_mode = MouseMode.SERVER
        self._listener: Listener | None = None
        self._doorbell: Doorbell | None = None
        self._channels: dict[tuple[int, int], Channel] = {}
        self._sessions: dict[int, Session] = {}
        self._handshakes: dict[Handshake, None] = {}
        self._connections: set[Connection] = set()
        self._changes: dict[int, tuple[Interface, list[Change]]] = {}
        self._changes_lock = threading.Lock()
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._encoders: ThreadPoolExecutor | None = None
        self._main: MainChannel | None = None
        self._inputs: InputsChannel | None = None

    # -- life cycle ----------------------------------------------------------------------

    def init(self, core: Core) -> None:
        """Attach to ``core`` and start listening (libspice's ``spice_server_init``)."""
        if self.core is not None:
            raise ConfigurationError("the server is already initialised")
        if getattr(core, "major_version", None) != CORE_MAJOR_VERSION:
            raise InterfaceError(
                f"core interface major version {getattr(core, 'major_version', None)}, "
                f"this server needs {CORE_MAJOR_VERSION}"
            )
        if self.port is not None:
            self._check_exposure()
            # Bind first: a port in use must leave the server as it was, ready to retry.
            listener = Listener.bind(core, self.addr, self.port, self.add_client)
            self._listener = listener
            log.info("listening on %s:%d", *listener.address)
        self.core = core
        self._doorbell = Doorbell(core, self._apply_changes)
        self._main = MainChannel(self)
        self._inputs = InputsChannel(self)
        for channel in (self._main, self._inputs):
            self._channels[(channel.type, channel.id)] = channel
        for display in self.displays.values():
            self._open_display_channels(display)
        for device in (self.playback, self.record):
            if device is not None:
                self._open_audio_channel(device)
        self._set_agent(self._new_agent())

    def destroy(self) -> None:
        """Close every connection and the listening socket; the server cannot be reused."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in list(self._connections):
            connection.close("server shutting down")
        if self._doorbell is not None:
            self._doorbell.close()
            self._doorbell = None
        if self._encoders is not None:
            self._encoders.shutdown(wait=False, cancel_futures=True)
            self._encoders = None

    @property
    def address(self) -> tuple[str, int]:
        """The listening address; with ``port=0`` this tells the port the system chose."""
        if self._listener is None:
            raise ConfigurationError("the server is not listening")
        return self._listener.address

    def uri(self) -> str:
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"spice://{host}:{port}"

    def set_ticket(self, password: str | None, lifetime: float | None = None) -> None:
        """Change the password new clients must give (None: none), valid ``lifetime`` seconds."""
        if password is None and self._listener is not None:
            self._check_exposure()
        self.auth.set_ticket(password, lifetime)

    def _check_exposure(self) -> None:
        if self.auth.enabled or self.allow_insecure or _is_loopback(self.addr):
            return
        raise ConfigurationError(
            f"refusing to listen on {self.addr} without a password; set one, bind a "
            "loopback address, or pass allow_insecure=True if the network is trusted"
        )

    # -- clients -------------------------------------------------------------------------

    def add_client(self, sock: socket.socket, skip_auth: bool = False) -> None:
        """Serve a connected socket (libspice's ``spice_server_add_client``)."""
        core = self._require_core()
        configure_client_socket(sock)
        connection = Connection(
            core, sock, websocket=self.websocket, check_origin=self.websocket_origin_refusal
        )
        connection.on_closed = self._connection_closed
        self._connections.add(connection)
        self._emit(ChannelEvent.CONNECTED, connection.info)
        while len(self._handshakes) >= self.max_pending_links:
            oldest = next(iter(self._handshakes))
            oldest.connection.close("too many unfinished link handshakes", logging.WARNING)
        handshake = Handshake(connection, self, int(self.link_timeout * 1000), skip_auth)
        self._handshakes[handshake] = None

    def websocket_origin_refusal(self, origin: str | None) -> str | None:
        """Why a WebSocket from a page of ``origin`` is refused, or None to accept it.

        Any web site open in a browser on this machine can open a WebSocket to a loopback
        port, so without a password "loopback only" would not keep strangers out. Browsers
        always send the page's origin and pages cannot forge it, so without a password only
        pages from a loopback host may connect. Clients that send no origin are not
        browsers; they could open the plain TCP port just as well.
        """
        if origin is None or self.auth.enabled or self.allow_insecure:
            return None
        host = urllib.parse.urlsplit(origin).hostname or ""
        if host == "localhost" or _is_loopback_literal(host):
            return None
        return "without a password only pages from a loopback address may connect"

    def disconnect_clients(self, reason: str) -> None:
        """Tell every client why (a NOTIFY it may show), then end their sessions."""
        for client in self.channel_clients(ChannelType.MAIN):
            client.send(
                MsgNotify(
                    int(time.time() * 1000), NotifySeverity.ERROR, NotifyVisibility.HIGH, 0, reason
                )
            )
        for session in list(self._sessions.values()):
            session.close(reason)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def pending_links(self) -> int:
        """Connections still in the link handshake."""
        return len(self._handshakes)

    def channel_clients(self, channel_type: int | None = None) -> list[ChannelClient]:
        """The connected channel clients, optionally of one channel type."""
        return [
            client
            for (kind, _), channel in self._channels.items()
            if channel_type is None or kind == channel_type
            for client in channel.clients
        ]

    def _connection_closed(self, connection: Connection, reason: str) -> None:
        self._connections.discard(connection)
        self._emit(ChannelEvent.DISCONNECTED, connection.info)

    def _emit(self, event: ChannelEvent, info: ChannelEventInfo) -> None:
        if self.core is not None:
            self.call_backend(self.core.channel_event, event, info)

    # LinkPolicy, for the handshakes:

    def check_request(
        self, request: LinkRequest, connection: Connection
    ) -> tuple[LinkError, Iterable[int]]:
        channel = self._channels.get((request.channel_type, request.channel_id))
        if channel is None:
            return LinkError.CHANNEL_NOT_AVAILABLE, ()
        if request.channel_type == ChannelType.MAIN:
            if request.connection_id != 0:
                return LinkError.BAD_CONNECTION_ID, ()  # a migration target: not supported
        elif request.connection_id not in self._sessions:
            return LinkError.BAD_CONNECTION_ID, ()
        return LinkError.OK, channel.caps()

    def check_ticket(self, ciphertext: bytes) -> tuple[LinkError, str]:
        return self.auth.check(ciphertext)

    def handshake_finished(self, handshake: Handshake) -> None:
        self._handshakes.pop(handshake, None)

    def linked(self, connection: Connection, link: ServerLink, trailing: bytes) -> None:
        request = link.request
        assert request is not None
        channel = self._channels.get((request.channel_type, request.channel_id))
        if channel is None:
            connection.close("the channel went away during the handshake")
            return
        if request.channel_type == ChannelType.MAIN:
            if self.exclusive:
                for other in list(self._sessions.values()):
                    other.close("replaced by a new client")
            session = Session(self._new_session_id(), self._session_closed)
            self._sessions[session.id] = session
        else:
            found = self._sessions.get(request.connection_id)
            if found is None:
                connection.close("the session ended during the handshake")
                return
            session = found
        client = channel.connect(session, connection, link)
        info = connection.info
        info.connection_id, info.type, info.id = session.id, channel.type, channel.id
        log.debug("%s linked %s (session %08x)", connection.name, channel.name, session.id)
        self._emit(ChannelEvent.INITIALIZED, info)
        client.start()
        if trailing and not client.closed:
            client.data_received(trailing)

    def _new_session_id(self) -> int:
        while True:
            session_id = secrets.randbits(32)
            if session_id and session_id not in self._sessions:
                return session_id

    def _session_closed(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    # -- interfaces ----------------------------------------------------------------------

    def add_interface(self, instance: Interface) -> None:
        """Register a device. Raises InterfaceError, changing nothing, if it cannot be."""
        kind = self._check_interface(instance)
        if kind == "keyboard":
            self._claim_slot("keyboard", instance)
            self.keyboard = instance  # type: ignore[assignment]
        elif kind == "mouse":
            self._claim_slot("mouse", instance)
            self.mouse = instance  # type: ignore[assignment]
        elif kind == "tablet":
            self._claim_slot("tablet", instance)
            self.tablet = instance  # type: ignore[assignment]
        elif kind == "display":
            assert isinstance(instance, Display)
            if instance.display_id in self.displays:
                raise InterfaceError(f"a display with id {instance.display_id} is registered")
            self.displays[instance.display_id] = instance
        elif kind == "clipboard":
            self._claim_slot("clipboard", instance)
            self.clipboard = instance  # type: ignore[assignment]
        elif kind == "char_device":
            assert isinstance(instance, CharDeviceInterface)
            if instance.subtype not in SUBTYPES:
                raise InterfaceError(
                    f"char device subtype {instance.subtype!r} is not served; "
                    f"known: {', '.join(SUBTYPES)}"
                )
            self._claim_slot("vdagent", instance)
            self.vdagent = instance
        elif kind in ("playback", "record"):
            self._claim_slot(kind, instance)
            setattr(self, kind, instance)
        instance._notify = self._notify
        log.info("added %s interface %r", kind, instance.description or type(instance).__name__)
        if self.core is None:
            return
        if isinstance(instance, Display):
            self._open_display_channels(instance)
        elif isinstance(instance, PlaybackInterface | RecordInterface):
            self._open_audio_channel(instance)
        if kind == "tablet":
            self._update_logical_size()
            self._mouse_modes_changed()
        elif kind == "clipboard" and isinstance(self.agent, BuiltinAgent):
            self.agent.announce()
        elif kind == "char_device":
            self._set_agent(self._new_agent())
            self._mouse_modes_changed()

    def remove_interface(self, instance: Interface) -> None:
        """Unregister a device, also while clients use it; its events are dropped from now on."""
        kind = instance.type
        if kind == "display":
            assert isinstance(instance, Display)
            if self.displays.get(instance.display_id) is not instance:
                raise InterfaceError("this display is not registered")
            del self.displays[instance.display_id]
            for channel_type in (ChannelType.DISPLAY, ChannelType.CURSOR):
                channel = self._channels.pop((channel_type, instance.display_id), None)
                if channel is not None:
                    channel.close("the display was removed")
        elif (
            kind in ("keyboard", "mouse", "tablet", "clipboard") and getattr(self, kind) is instance
        ):
            setattr(self, kind, None)
            if kind == "tablet":
                self._mouse_modes_changed()
            elif kind == "clipboard" and isinstance(self.agent, BuiltinAgent):
                self.agent.announce()
        elif kind == "char_device" and self.vdagent is instance:
            self.vdagent = None
            self._set_agent(self._new_agent())
            self._mouse_modes_changed()
        elif kind in ("playback", "record") and getattr(self, kind) is instance:
            setattr(self, kind, None)
            channel_type = ChannelType.PLAYBACK if kind == "playback" else ChannelType.RECORD
            channel = self._channels.pop((channel_type, 0), None)
            if channel is not None:
                channel.close(f"the {kind} device was removed")
        else:
            raise InterfaceError(f"this {kind} interface is not registered")
        instance._notify = None
        log.info("removed %s interface", kind)

    def _check_interface(self, instance: Interface) -> str:
        kind = getattr(instance, "type", None)
        if kind not in INTERFACE_VERSIONS:
            raise InterfaceError(
                f"unknown interface type {kind!r}; this server knows "
                f"{', '.join(sorted(INTERFACE_VERSIONS))}"
            )
        cls, major, minor = INTERFACE_VERSIONS[kind]
        if not isinstance(instance, cls):
            raise InterfaceError(f"a {kind} interface must be a {cls.__name__}")
        if instance.major_version != major:
            raise InterfaceError(
                f"{kind} interface version {instance.major_version}.{instance.minor_version}: "
                f"major version must be {major}"
            )
        if instance.minor_version > minor:
            raise InterfaceError(
                f"{kind} interface version {instance.major_version}.{instance.minor_version} "
                f"is newer than this server's {major}.{minor}"
            )
        return kind

    def _claim_slot(self, kind: str, instance: Interface) -> None:
        current = getattr(self, kind)
        if current is instance:
            raise InterfaceError(f"this {kind} is already registered")
        if current is not None:
            raise InterfaceError(f"a {kind} is already registered; remove it first")

    def _open_display_channels(self, display: Display) -> None:
        for channel in (DisplayChannel(self, display), CursorChannel(self, display)):
            self._channels[(channel.type, channel.id)] = channel
            if self._main is not None:
                self._main.announce_channel(channel.type, channel.id)
        if display.display_id == 0:
            self._update_logical_size()

    def _open_audio_channel(self, device: PlaybackInterface | RecordInterface) -> None:
        channel: PlaybackChannel | RecordChannel
        if isinstance(device, PlaybackInterface):
            channel = PlaybackChannel(self, device)
        else:
            channel = RecordChannel(self, device)
        device._take_events()  # what happened before the channel existed is in its state
        self._channels[(channel.type, channel.id)] = channel
        if self._main is not None:
            self._main.announce_channel(channel.type, channel.id)

    def channel_list(self) -> list[tuple[int, int]]:
        """Every channel but MAIN, in the order clients should connect them."""
        return sorted(key for key in self._channels if key[0] != ChannelType.MAIN)

    @property
    def display_count(self) -> int:
        return len(self.displays)

    # -- changes from back ends (any thread) ---------------------------------------------

    def _notify(self, instance: Interface, what: Change) -> None:
        with self._changes_lock:
            entry = self._changes.setdefault(id(instance), (instance, []))
            if isinstance(what, tuple) or what not in entry[1]:
                entry[1].append(what)
        doorbell = self._doorbell
        if doorbell is not None:
            doorbell.ring()

    @property
    def encoders(self) -> ThreadPoolExecutor:
        """The threads that encode large images (the codecs release the GIL)."""
        if self._encoders is None:
            self._encoders = ThreadPoolExecutor(ENCODER_THREADS, "spice-encoder")
        return self._encoders

    def call_soon_threadsafe(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` on the server's loop; callable from any thread."""
        self._calls.append((func, args))
        doorbell = self._doorbell
        if doorbell is not None:
            doorbell.ring()

    def _apply_changes(self) -> None:
        while self._calls:
            func, args = self._calls.popleft()
            self.call_backend(func, *args)
        with self._changes_lock:
            changes, self._changes = self._changes, {}
        for instance, whats in changes.values():
            if instance._notify is None:
                continue  # removed meanwhile
            if isinstance(instance, KeyboardInterface) and "leds" in whats:
                if self._inputs is not None:
                    self._inputs.broadcast_leds(self.keyboard_leds())
            elif isinstance(instance, Display):
                self._display_changed(instance, set(w for w in whats if isinstance(w, str)))
            elif isinstance(instance, ClipboardInterface) and isinstance(self.agent, BuiltinAgent):
                for action in whats:
                    assert isinstance(action, tuple)
                    self.agent.clipboard_action(*action)  # type: ignore[arg-type]
            elif isinstance(self.agent, VdagentBridge) and self.agent.device is instance:
                self.agent.wakeup()
            elif isinstance(instance, PlaybackInterface | RecordInterface):
                self._audio_changed(instance)

    def _display_changed(self, display: Display, whats: set[Change]) -> None:
        key = display.display_id
        display_channel = self._channels.get((ChannelType.DISPLAY, key))
        if isinstance(display_channel, DisplayChannel) and whats & {"pixels", "resize"}:
            display_channel.distribute()
        cursor_channel = self._channels.get((ChannelType.CURSOR, key))
        if isinstance(cursor_channel, CursorChannel) and "cursor" in whats:
            cursor_channel.distribute()
        if "resize" in whats and key == 0:
            self._update_logical_size()

    def _audio_changed(self, device: PlaybackInterface | RecordInterface) -> None:
        channel_type = (
            ChannelType.PLAYBACK if isinstance(device, PlaybackInterface) else ChannelType.RECORD
        )
        channel = self._channels.get((channel_type, 0))
        if isinstance(channel, PlaybackChannel | RecordChannel):
            channel.distribute()

    # -- devices, as the channels see them ------------------------------------------------

    def keyboard_leds(self) -> int:
        if self.keyboard is None:
            return 0
        leds = self.call_backend(self.keyboard.get_leds)
        return int(leds or 0)

    @property
    def supported_mouse_modes(self) -> MouseMode:
        absolute = self.tablet is not None or isinstance(self.agent, VdagentBridge)
        return MouseMode.SERVER | (MouseMode.CLIENT if absolute else 0)

    def request_mouse_mode(self, mode: int) -> None:
        """A client asked for a mouse mode; grant it if we can and tell every client."""
        if mode not in (MouseMode.SERVER, MouseMode.CLIENT):
            log.warning("ignoring a request for unknown mouse mode %d", mode)
            return
        if not mode & self.supported_mouse_modes:
            log.info("client mouse mode requested, but no tablet is registered")
            return
        if mode != self.mouse_mode:
            self.mouse_mode = MouseMode(mode)
            log.info("mouse mode is now %s", self.mouse_mode.name)
        self._broadcast_mouse_mode()

    def _mouse_modes_changed(self) -> None:
        if not self.mouse_mode & self.supported_mouse_modes:
            self.mouse_mode = MouseMode.SERVER
            log.info("mouse mode is now server (the tablet went away)")
        self._broadcast_mouse_mode()

    def _broadcast_mouse_mode(self) -> None:
        if self._main is not None:
            self._main.broadcast_mouse_mode(self.supported_mouse_modes, self.mouse_mode)

    # -- the agent -------------------------------------------------------------------------

    def _new_agent(self) -> AgentEndpoint | None:
        if self.vdagent is not None:
            return VdagentBridge(self, self.vdagent)
        return BuiltinAgent(self) if self.builtin_agent else None

    def _set_agent(self, agent: AgentEndpoint | None) -> None:
        old, self.agent = self.agent, agent
        if old is not None:
            old.close()
        if self._main is not None and (old is not None or agent is not None):
            self._main.agent_changed(old, agent)
        if isinstance(agent, VdagentBridge):
            agent.wakeup()

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        """A client asked for these monitors: one display takes them all, else one each."""
        if len(self.displays) == 1:
            (only,) = self.displays.values()
            return bool(self.call_backend(only.client_monitors_config, monitors))
        handled = False
        for index, monitor in enumerate(monitors):
            display = self.displays.get(index)
            if display is not None:
                handled |= bool(self.call_backend(display.client_monitors_config, [monitor]))
        return handled

    def _update_logical_size(self) -> None:
        display = self.displays.get(0)
        if self.tablet is not None and display is not None:
            self.call_backend(self.tablet.set_logical_size, display.width, display.height)

    @staticmethod
    def mm_time() -> int:
        """The multimedia clock: monotonic milliseconds, as a wrapping u32."""
        return int(time.monotonic() * 1000) & 0xFFFFFFFF

    def call_backend(self, func: Callable[..., Any], *args: Any) -> Any:
        """Call into the caller's code; its exceptions are logged, never let loose on us."""
        try:
            return func(*args)
        except Exception:
            log.exception("%s raised; carrying on", getattr(func, "__qualname__", func))
            return None

    def _require_core(self) -> Core:
        if self.core is None:
            raise ConfigurationError("call init(core) first")
        return self.core


def _is_loopback_literal(host: str) -> bool:
    """Whether ``host`` is a loopback IP address as written (no name lookup)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback(addr: str) -> bool:
    try:
        infos = socket.getaddrinfo(addr, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )
