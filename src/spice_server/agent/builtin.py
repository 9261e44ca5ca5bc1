"""The built-in agent: the server plays the guest agent for back ends that have none.

It announces capabilities, passes MONITORS_CONFIG to the displays (client-driven resize),
runs the lazy clipboard protocol between clients and the back end's
``ClipboardInterface`` (grabs announce types, data moves only on request) and receives
the files clients send into a directory (:mod:`.file_transfer`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import FileTransferSettings
from ..interfaces.clipboard import ClipboardInterface
from ..interfaces.events import (
    ClipboardAction,
    ClipboardData,
    ClipboardGrab,
    ClipboardRelease,
    ClipboardRequest,
)
from ..protocol.agent import (
    AgentCap,
    AgentMessage,
    AgentReplyError,
    AgentStream,
    ClipboardCodec,
    ClipboardSelection,
    ClipboardType,
    pack_announce_capabilities,
    pack_reply,
    unpack_announce_capabilities,
    unpack_monitors_config,
)
from ..protocol.agent import AgentMessageType as T
from ..protocol.events import NEED_DATA
from .base import AgentContext, AgentPeer
from .file_transfer import FileReceiver

log = logging.getLogger(__name__)

BASE_CAPS = frozenset(
    {
        AgentCap.MONITORS_CONFIG,
        AgentCap.REPLY,
        AgentCap.MONITORS_CONFIG_POSITION,
    }
)
CLIPBOARD_CAPS = frozenset(
    {
        AgentCap.CLIPBOARD_BY_DEMAND,
        AgentCap.CLIPBOARD_SELECTION,
        AgentCap.MAX_CLIPBOARD,
        AgentCap.CLIPBOARD_NO_RELEASE_ON_REGRAB,
    }
)


@dataclass
class Peer:
    """One client's agent conversation."""

    files: FileReceiver
    stream: AgentStream
    caps: frozenset[int] = frozenset()
    announced: bool = False
    codec: ClipboardCodec = field(default_factory=ClipboardCodec)
    max_clipboard: int = -1

    def has_clipboard(self) -> bool:
        return AgentCap.CLIPBOARD_BY_DEMAND in self.caps

    def can_use(self, selection: int) -> bool:
        return self.has_clipboard() and (
            selection == ClipboardSelection.CLIPBOARD or self.codec.selection
        )


class BuiltinAgent:
    takes_mouse_state = False  # no guest pointer to move

    def __init__(self, context: AgentContext, files: FileTransferSettings | None = None) -> None:
        """``files`` says where files sent by clients go; None refuses them (DISABLED)."""
        self.context = context
        self.files = files
        self.peers: dict[AgentPeer, Peer] = {}
        self._owners: dict[int, AgentPeer] = {}  # selection -> client that grabbed it
        self._offers: dict[int, tuple[int, ...]] = {}  # selection -> types the back end offers
        self._waiting: dict[tuple[int, int], list[AgentPeer]] = {}  # client requests

    def caps(self) -> frozenset[int]:
        has_clipboard = self.context.devices.clipboard is not None
        files = AgentCap.FILE_XFER_DETAILED_ERRORS if self.files else AgentCap.FILE_XFER_DISABLED
        return BASE_CAPS | {files} | (CLIPBOARD_CAPS if has_clipboard else frozenset())

    # -- AgentEndpoint ---------------------------------------------------------------------

    def attach(self, client: AgentPeer) -> None:
        self.peers[client] = Peer(
            FileReceiver(self.files, client.send_agent),
            AgentStream(self.context.config.limits.max_clipboard),
        )

    def detach(self, client: AgentPeer) -> None:
        peer = self.peers.pop(client, None)
        if peer is not None:
            peer.files.close()
        for selection, owner in list(self._owners.items()):
            if owner is client:
                del self._owners[selection]
                self._release_for(selection)
        for waiting in self._waiting.values():
            while client in waiting:
                waiting.remove(client)

    def start(self, client: AgentPeer, tokens: int) -> None:
        pass  # clients grant unlimited tokens; we never need to wait for them

    def data(self, client: AgentPeer, data: bytes) -> None:
        peer = self.peers.get(client)
        if peer is None:
            return
        peer.stream.receive_data(data)
        while (message := peer.stream.next_event()) is not NEED_DATA:
            self._handle(client, peer, message)
        client.return_tokens(1)

    def close(self) -> None:
        for client, peer in list(self.peers.items()):
            peer.files.cancel()
            self.detach(client)

    def mouse_state(self, x: int, y: int, buttons: int, display_id: int) -> None:
        pass  # never asked: takes_mouse_state is False

    def wakeup(self) -> None:
        pass  # no device behind it

    def clipboard_changed(self) -> None:
        """Our capabilities changed (a clipboard came or went): tell every client again."""
        for client, peer in list(self.peers.items()):
            if peer.announced:
                self._send_caps(client, peer, request=False)

    # -- from clients ----------------------------------------------------------------------

    def _handle(self, client: AgentPeer, peer: Peer, message: AgentMessage) -> None:
        kind, payload = message.type, message.payload
        if kind == T.ANNOUNCE_CAPABILITIES:
            request, caps = unpack_announce_capabilities(payload)
            peer.caps = caps
            peer.files.detailed = AgentCap.FILE_XFER_DETAILED_ERRORS in caps
            if request:
                self._send_caps(client, peer, request=False)
            else:
                self._negotiate(peer)
        elif kind == T.MONITORS_CONFIG:
            _flags, monitors = unpack_monitors_config(payload)
            ok = self.context.client_monitors_config(monitors)
            if AgentCap.REPLY in peer.caps and client.takes_replies:
                status = AgentReplyError.SUCCESS if ok else AgentReplyError.ERROR
                client.send_agent(AgentMessage(T.REPLY, pack_reply(T.MONITORS_CONFIG, status)))
        elif kind == T.CLIPBOARD_GRAB:
            if self.context.devices.clipboard is None:
                return  # nothing to tell; we announced no clipboard
            selection, types = peer.codec.unpack_grab(payload)
            self._owners[selection] = client
            self._offers.pop(selection, None)
            grabbed = _selection(selection)
            if grabbed is not None:
                offered = [t for t in map(_type, types) if t is not None]
                self._to_clipboard(functools.partial(_grab, grabbed, offered))
        elif kind == T.CLIPBOARD_REQUEST:
            selection, clip_type = peer.codec.unpack_request(payload)
            self._client_request(client, peer, selection, clip_type)
        elif kind == T.CLIPBOARD:
            selection, clip_type, data = peer.codec.unpack_data(payload)
            known, known_type = _selection(selection), _type(clip_type)
            if known is not None and known_type is not None:
                self._to_clipboard(lambda c: c.client_data(known, known_type, data))
        elif kind == T.CLIPBOARD_RELEASE:
            selection = peer.codec.unpack_release(payload)
            if self._owners.get(selection) is client:
                del self._owners[selection]
                self._release_for(selection)
        elif kind == T.MAX_CLIPBOARD:
            if len(payload) >= 4:
                peer.max_clipboard = int.from_bytes(payload[:4], "little", signed=True)
        elif kind == T.FILE_XFER_START:
            peer.files.start(payload)
        elif kind == T.FILE_XFER_DATA:
            peer.files.data(payload)
        elif kind == T.FILE_XFER_STATUS:
            peer.files.status(payload)
        else:
            log.debug("built-in agent ignores message type %d", kind)

    def _send_caps(self, client: AgentPeer, peer: Peer, *, request: bool) -> None:
        self._negotiate(peer)
        peer.announced = True
        client.send_agent(
            AgentMessage(T.ANNOUNCE_CAPABILITIES, pack_announce_capabilities(request, self.caps()))
        )
        # What the back end already offers; a copy, since a send can close this client
        # and its teardown can reach the back end, which may change the offers.
        for selection, types in list(self._offers.items()):
            if peer.can_use(selection):
                client.send_agent(
                    AgentMessage(T.CLIPBOARD_GRAB, peer.codec.pack_grab(selection, types))
                )

    def _negotiate(self, peer: Peer) -> None:
        ours = self.caps()
        peer.codec = ClipboardCodec(
            selection=AgentCap.CLIPBOARD_SELECTION in peer.caps & ours,
            grab_serial=AgentCap.CLIPBOARD_GRAB_SERIAL in peer.caps & ours,
        )

    def _client_request(
        self, client: AgentPeer, peer: Peer, selection: int, clip_type: int
    ) -> None:
        known, known_type = _selection(selection), _type(clip_type)
        if known is None or known_type is None or clip_type not in self._offers.get(selection, ()):
            client.send_agent(
                AgentMessage(T.CLIPBOARD, peer.codec.pack_data(selection, ClipboardType.NONE, b""))
            )
            return
        waiting = self._waiting.setdefault((selection, clip_type), [])
        waiting.append(client)
        if len(waiting) == 1:
            self._to_clipboard(lambda c: c.client_request(known, known_type))

    def _release_for(self, selection: int) -> None:
        known = _selection(selection)
        if known is not None:
            self._to_clipboard(lambda c: c.client_release(known))

    def _to_clipboard(self, call: Callable[[ClipboardInterface], None]) -> None:
        clipboard = self.context.devices.clipboard
        if clipboard is not None:
            self.context.call_backend(call, clipboard)

    # -- from the back end -----------------------------------------------------------------

    def clipboard_action(self, action: ClipboardAction) -> None:
        """Carry out one of the back end's grab / release / request / data calls."""
        selection = int(action.selection)
        match action:
            case ClipboardGrab(types=offered):
                types = tuple(int(t) for t in offered)
                self._offers[selection] = types
                self._owners.pop(selection, None)
                self._each_peer(
                    selection, lambda p: (T.CLIPBOARD_GRAB, p.codec.pack_grab(selection, types))
                )
            case ClipboardRelease():
                if self._offers.pop(selection, None) is not None:
                    self._each_peer(
                        selection, lambda p: (T.CLIPBOARD_RELEASE, p.codec.pack_release(selection))
                    )
            case ClipboardRequest(clip_type=clip_type):
                owner = self._owners.get(selection)
                peer = self.peers.get(owner) if owner is not None else None
                if owner is None or peer is None:
                    known = action.selection
                    self._to_clipboard(lambda c: c.client_data(known, clip_type, b""))
                    return
                owner.send_agent(
                    AgentMessage(T.CLIPBOARD_REQUEST, peer.codec.pack_request(selection, clip_type))
                )
            case ClipboardData(clip_type=clip_type, data=data):
                for client in self._waiting.pop((selection, int(clip_type)), []):
                    peer = self.peers.get(client)
                    if peer is None:
                        continue
                    sent_type, sent = clip_type, data
                    if 0 <= peer.max_clipboard < len(data):
                        log.info("clipboard data of %d bytes exceeds the client's limit", len(data))
                        sent_type, sent = ClipboardType.NONE, b""
                    client.send_agent(
                        AgentMessage(T.CLIPBOARD, peer.codec.pack_data(selection, sent_type, sent))
                    )

    def _each_peer(self, selection: int, build: Callable[[Peer], tuple[int, bytes]]) -> None:
        for client, peer in list(self.peers.items()):
            if peer.announced and peer.can_use(selection):
                client.send_agent(AgentMessage(*build(peer)))


def _grab(
    selection: ClipboardSelection, types: list[ClipboardType], clipboard: ClipboardInterface
) -> None:
    clipboard.client_grab(selection, types)


def _selection(value: int) -> ClipboardSelection | None:
    """A selection the back end knows, or None for values the protocol does not define."""
    try:
        return ClipboardSelection(value)
    except ValueError:
        return None


def _type(value: int) -> ClipboardType | None:
    try:
        return ClipboardType(value)
    except ValueError:
        return None
