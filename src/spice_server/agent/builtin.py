"""The built-in agent: the server plays the guest agent for back ends that have none.

It announces capabilities, passes MONITORS_CONFIG to the displays (client-driven resize)
and runs the lazy clipboard protocol between clients and the back end's
``ClipboardInterface``: grabs announce types, data moves only on request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.agent import (
    AgentCap,
    AgentMessage,
    AgentReplyError,
    AgentStream,
    ClipboardCodec,
    ClipboardSelection,
    ClipboardType,
    FileXferStatus,
    pack_announce_capabilities,
    pack_reply,
    unpack_announce_capabilities,
    unpack_monitors_config,
)
from ..protocol.agent import AgentMessageType as T
from ..protocol.messages.main import MsgMainAgentToken

if TYPE_CHECKING:
    from ..channels.main import MainChannelClient
    from ..server import Server

log = logging.getLogger(__name__)

BASE_CAPS = frozenset(
    {
        AgentCap.MONITORS_CONFIG,
        AgentCap.REPLY,
        AgentCap.MONITORS_CONFIG_POSITION,
        AgentCap.FILE_XFER_DISABLED,
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

    stream: AgentStream = field(default_factory=AgentStream)
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
    def __init__(self, server: Server) -> None:
        self.server = server
        self.peers: dict[MainChannelClient, Peer] = {}
        self._owners: dict[int, MainChannelClient] = {}  # selection -> client that grabbed it
        self._offers: dict[int, tuple[int, ...]] = {}  # selection -> types the back end offers
        self._waiting: dict[tuple[int, int], list[MainChannelClient]] = {}  # client requests

    def caps(self) -> frozenset[int]:
        return BASE_CAPS | (CLIPBOARD_CAPS if self.server.clipboard is not None else frozenset())

    # -- AgentEndpoint ---------------------------------------------------------------------

    def attach(self, client: MainChannelClient) -> None:
        self.peers[client] = Peer()

    def detach(self, client: MainChannelClient) -> None:
        self.peers.pop(client, None)
        for selection, owner in list(self._owners.items()):
            if owner is client:
                del self._owners[selection]
                self._to_clipboard("client_release", ClipboardSelection(selection))
        for waiting in self._waiting.values():
            while client in waiting:
                waiting.remove(client)

    def start(self, client: MainChannelClient, tokens: int) -> None:
        pass  # clients grant unlimited tokens; we never need to wait for them

    def data(self, client: MainChannelClient, data: bytes) -> None:
        peer = self.peers.get(client)
        if peer is None:
            return
        peer.stream.receive_data(data)
        for message in peer.stream:
            self._handle(client, peer, message)
        client.send(MsgMainAgentToken(1))

    def close(self) -> None:
        for client in list(self.peers):
            self.detach(client)

    def announce(self) -> None:
        """Our capabilities changed (a clipboard came or went): tell every client again."""
        for client, peer in self.peers.items():
            if peer.announced:
                self._send_caps(client, peer, request=False)

    # -- from clients ----------------------------------------------------------------------

    def _handle(self, client: MainChannelClient, peer: Peer, message: AgentMessage) -> None:
        kind, payload = message.type, message.payload
        if kind == T.ANNOUNCE_CAPABILITIES:
            request, caps = unpack_announce_capabilities(payload)
            peer.caps = caps
            if request:
                self._send_caps(client, peer, request=False)
            else:
                self._negotiate(peer)
        elif kind == T.MONITORS_CONFIG:
            _flags, monitors = unpack_monitors_config(payload)
            ok = self.server.client_monitors_config(monitors)
            status = AgentReplyError.SUCCESS if ok else AgentReplyError.ERROR
            client.send_agent(AgentMessage(T.REPLY, pack_reply(T.MONITORS_CONFIG, status)))
        elif kind == T.CLIPBOARD_GRAB:
            selection, types = peer.codec.unpack_grab(payload)
            self._owners[selection] = client
            self._offers.pop(selection, None)
            self._to_clipboard("client_grab", _selection(selection), _types(types))
        elif kind == T.CLIPBOARD_REQUEST:
            selection, clip_type = peer.codec.unpack_request(payload)
            self._client_request(client, peer, selection, clip_type)
        elif kind == T.CLIPBOARD:
            selection, clip_type, data = peer.codec.unpack_data(payload)
            self._to_clipboard("client_data", _selection(selection), _type(clip_type), data)
        elif kind == T.CLIPBOARD_RELEASE:
            selection = peer.codec.unpack_release(payload)
            if self._owners.get(selection) is client:
                del self._owners[selection]
                self._to_clipboard("client_release", _selection(selection))
        elif kind == T.MAX_CLIPBOARD:
            if len(payload) >= 4:
                peer.max_clipboard = int.from_bytes(payload[:4], "little", signed=True)
        elif kind == T.FILE_XFER_START:
            refusal = payload[:4] + FileXferStatus.DISABLED.to_bytes(4, "little")
            client.send_agent(AgentMessage(T.FILE_XFER_STATUS, refusal))
        else:
            log.debug("built-in agent ignores message type %d", kind)

    def _send_caps(self, client: MainChannelClient, peer: Peer, *, request: bool) -> None:
        self._negotiate(peer)
        peer.announced = True
        client.send_agent(
            AgentMessage(T.ANNOUNCE_CAPABILITIES, pack_announce_capabilities(request, self.caps()))
        )
        for selection, types in self._offers.items():  # what the back end already offers
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
        self, client: MainChannelClient, peer: Peer, selection: int, clip_type: int
    ) -> None:
        if clip_type not in self._offers.get(selection, ()):
            client.send_agent(
                AgentMessage(T.CLIPBOARD, peer.codec.pack_data(selection, ClipboardType.NONE, b""))
            )
            return
        waiting = self._waiting.setdefault((selection, clip_type), [])
        waiting.append(client)
        if len(waiting) == 1:
            self._to_clipboard("client_request", _selection(selection), _type(clip_type))

    def _to_clipboard(self, method: str, *args: Any) -> None:
        clipboard = self.server.clipboard
        if clipboard is not None:
            self.server.call_backend(getattr(clipboard, method), *args)

    # -- from the back end -----------------------------------------------------------------

    def clipboard_action(self, action: str, selection: int, *args: Any) -> None:
        """Carry out one of the back end's grab / release / request / data calls."""
        if action == "grab":
            types = tuple(int(t) for t in args[0])
            self._offers[selection] = types
            self._owners.pop(selection, None)
            self._each_peer(
                selection, lambda p: (T.CLIPBOARD_GRAB, p.codec.pack_grab(selection, types))
            )
        elif action == "release":
            if self._offers.pop(selection, None) is not None:
                self._each_peer(
                    selection, lambda p: (T.CLIPBOARD_RELEASE, p.codec.pack_release(selection))
                )
        elif action == "request":
            (clip_type,) = args
            owner = self._owners.get(selection)
            peer = self.peers.get(owner) if owner is not None else None
            if owner is None or peer is None:
                self._to_clipboard("client_data", _selection(selection), _type(clip_type), b"")
                return
            owner.send_agent(
                AgentMessage(T.CLIPBOARD_REQUEST, peer.codec.pack_request(selection, clip_type))
            )
        elif action == "data":
            clip_type, data = args
            for client in self._waiting.pop((selection, int(clip_type)), []):
                peer = self.peers.get(client)
                if peer is None:
                    continue
                if 0 <= peer.max_clipboard < len(data):
                    log.info("clipboard data of %d bytes exceeds the client's limit", len(data))
                    clip_type, data = ClipboardType.NONE, b""
                client.send_agent(
                    AgentMessage(T.CLIPBOARD, peer.codec.pack_data(selection, clip_type, data))
                )

    def _each_peer(self, selection: int, build: Any) -> None:
        for client, peer in self.peers.items():
            if peer.announced and peer.can_use(selection):
                client.send_agent(AgentMessage(*build(peer)))


def _selection(value: int) -> ClipboardSelection | int:
    try:
        return ClipboardSelection(value)
    except ValueError:
        return value


def _type(value: int) -> ClipboardType | int:
    try:
        return ClipboardType(value)
    except ValueError:
        return value


def _types(values: list[int]) -> list[ClipboardType | int]:
    return [_type(v) for v in values]
