"""The bridge to a real guest agent (spice-vdagent) behind a ``vdagent`` char device.

Client agent data goes to the device as port-1 chunks, as it came. What the device sends
back is reassembled into whole agent records before it goes to the clients, so a client
that connects later never starts in the middle of one. Client-mode mouse positions go to
the agent as MOUSE_STATE (port 2) when no tablet takes them.
"""

from __future__ import annotations

import logging
import struct

from ..interfaces.char_device import CharDeviceInterface
from ..interfaces.events import ClipboardAction
from ..protocol.agent import (
    PORT_CLIENT,
    PORT_SERVER,
    AgentMessage,
    AgentStream,
    ChunkStream,
    pack_chunk,
)
from ..protocol.agent import AgentMessageType as T
from ..protocol.errors import RemoteProtocolError
from ..protocol.events import NEED_DATA
from .base import AgentContext, AgentPeer

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
WRITE_SIZE = 64 * 1024  # offered to the device at a time: never a copy of all that waits
MAX_PENDING = 1024 * 1024  # bytes for the device beyond which clients' tokens are held back
RETRY_MS = 20


class VdagentBridge:
    takes_mouse_state = True  # the guest agent moves the guest's pointer

    def __init__(self, context: AgentContext, device: CharDeviceInterface) -> None:
        self.context = context
        self.device = device
        self.clients: list[AgentPeer] = []
        self._to_device = bytearray()
        self._held_tokens: dict[AgentPeer, int] = {}
        self._chunks = ChunkStream()
        self._records = AgentStream(context.config.limits.max_clipboard)
        self._core = context.core
        self._retry = self._core.timer_add(lambda _: self.wakeup())

    # -- AgentEndpoint ---------------------------------------------------------------------

    def attach(self, client: AgentPeer) -> None:
        self.clients.append(client)
        if len(self.clients) == 1:
            self.context.call_backend(self.device.state, True)

    def detach(self, client: AgentPeer) -> None:
        if client in self.clients:
            self.clients.remove(client)
        self._held_tokens.pop(client, None)
        if not self.clients:
            self._write(pack_chunk(PORT_SERVER, AgentMessage(T.CLIENT_DISCONNECTED, b"").pack()))
            self.context.call_backend(self.device.state, False)

    def start(self, client: AgentPeer, tokens: int) -> None:
        pass

    def data(self, client: AgentPeer, data: bytes) -> None:
        self._write(pack_chunk(PORT_CLIENT, data))
        if len(self._to_device) > MAX_PENDING:
            self._held_tokens[client] = self._held_tokens.get(client, 0) + 1
        else:
            client.return_tokens(1)

    def close(self) -> None:
        self._core.timer_remove(self._retry)
        if self.clients:
            self.context.call_backend(self.device.state, False)
        self.clients.clear()

    def clipboard_changed(self) -> None:
        pass  # the guest agent owns the guest's clipboard; the back end's is not used

    def clipboard_action(self, action: ClipboardAction) -> None:
        pass

    # -- the device ------------------------------------------------------------------------

    def mouse_state(self, x: int, y: int, buttons: int, display_id: int) -> None:
        """A client-mode position for the agent; its button mask is SPICE's shifted by one.

        Dropped while the device is behind: the next position replaces it anyway, and
        positions come without tokens, so they must not queue."""
        if len(self._to_device) > MAX_PENDING:
            return
        payload = struct.pack("<IIIB", x, y, buttons << 1, display_id)
        self._write(pack_chunk(PORT_SERVER, AgentMessage(T.MOUSE_STATE, payload).pack()))

    def wakeup(self) -> None:
        """The device can be read, or written again."""
        self._flush()
        for _ in range(64):  # bounded, so a chatty device cannot hold the loop
            data = self.context.call_backend(self.device.read, READ_SIZE)
            if not data:
                break
            self._from_device(bytes(data))

    def _from_device(self, data: bytes) -> None:
        try:
            self._chunks.receive_data(data)
            while (chunk := self._chunks.next_event()) is not NEED_DATA:
                if chunk.port != PORT_CLIENT:
                    log.debug(
                        "ignoring a %d-byte chunk for port %d from the agent",
                        len(chunk.data),
                        chunk.port,
                    )
                    continue
                self._records.receive_data(chunk.data)
                while (record := self._records.next_event()) is not NEED_DATA:
                    for client in list(self.clients):
                        client.send_agent(record)
        except RemoteProtocolError as exc:
            log.error("the vdagent device sent bad data (%s); dropping what it had sent", exc)
            self._chunks = ChunkStream()
            self._records = AgentStream(self.context.config.limits.max_clipboard)

    def _write(self, data: bytes) -> None:
        self._to_device += data
        self._flush()

    def _flush(self) -> None:
        while self._to_device:
            piece = bytes(self._to_device[:WRITE_SIZE])
            taken = max(0, int(self.context.call_backend(self.device.write, piece) or 0))
            del self._to_device[:taken]
            if taken < len(piece):
                break
        if self._to_device:
            self._core.timer_start(self._retry, RETRY_MS)
        elif self._held_tokens:
            held, self._held_tokens = self._held_tokens, {}
            for client, count in held.items():
                client.return_tokens(count)

    def __repr__(self) -> str:
        return f"<VdagentBridge {self.device!r}>"
