"""The main channel: opens the session, lists the other channels, negotiates the mouse mode.

Order matters to clients: MAIN_INIT is the first message (it carries the session id every
other channel links with), CHANNELS_LIST only answers ATTACH_CHANNELS, and channels added
later are announced to attached clients one by one.

Agent data is paced by tokens both ways, one per AGENT_DATA message: a client may send
only as many as we granted (AGENT_TOKENS, then one back per message consumed), and we
send only as many as it granted (AGENT_START, then AGENT_TOKEN); what waits for its
tokens is bounded, and a client that lets it grow past that is dropped.
"""

from __future__ import annotations

import logging
from collections import deque

from ..agent.base import AgentEndpoint
from ..core.clock import MM_TIME_MASK
from ..protocol.agent import MAX_DATA_SIZE, AgentMessage, split_for_client
from ..protocol.constants import ChannelType, LinkError, MainCap
from ..protocol.errors import RemoteProtocolError
from ..protocol.messages.codec import ClientMessage
from ..protocol.messages.main import (
    MsgcMainAgentData,
    MsgcMainAgentStart,
    MsgcMainAgentToken,
    MsgcMainAttachChannels,
    MsgcMainMouseModeRequest,
    MsgMainAgentConnected,
    MsgMainAgentConnectedTokens,
    MsgMainAgentData,
    MsgMainAgentDisconnected,
    MsgMainAgentToken,
    MsgMainChannelsList,
    MsgMainInit,
    MsgMainMouseMode,
    MsgMainName,
    MsgMainUuid,
)
from .base import Channel, ChannelClient, Transport
from .context import ClientLink
from .session import Session

log = logging.getLogger(__name__)

AGENT_TOKENS = 10
MAX_TOKENS = 0xFFFFFFFF
MM_TIME_DELTA_MS = 400  # the client's media clock runs this far behind ours (libspice's value)


class MainChannel(Channel):
    type = ChannelType.MAIN

    def caps(self) -> frozenset[int]:
        return frozenset({MainCap.NAME_AND_UUID, MainCap.AGENT_CONNECTED_TOKENS})

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> MainChannelClient:
        client = MainChannelClient(self, session, transport, link)
        session.main = client
        return client

    def broadcast_mouse_mode(self, supported: int, current: int) -> None:
        for client in list(self.clients):  # a send may close one
            client.send(MsgMainMouseMode(supported, current))

    def agent_changed(self, old: AgentEndpoint | None, new: AgentEndpoint | None) -> None:
        """The agent came, went or was replaced: tell every client, then attach them."""
        for client in list(self.clients):  # a send may close one
            assert isinstance(client, MainChannelClient)
            if old is not None:
                client.send(MsgMainAgentDisconnected(LinkError.OK))
            client.agent_reset()
            if new is not None:
                if MainCap.AGENT_CONNECTED_TOKENS in client.client_caps:
                    client.send(MsgMainAgentConnectedTokens(AGENT_TOKENS))
                else:
                    client.send(MsgMainAgentConnected())
                new.attach(client)

    def announce_channel(self, channel_type: int, channel_id: int) -> None:
        for client in list(self.clients):  # a send may close one
            if isinstance(client, MainChannelClient) and client.attached:
                client.send(MsgMainChannelsList(((channel_type, channel_id),)))


class MainChannelClient(ChannelClient):
    """One client's main channel; also its end of the agent conversation (an AgentPeer)."""

    max_message_size = 8 * 1024

    def __init__(
        self, channel: Channel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        self.attached = False
        self._tokens_in = AGENT_TOKENS  # AGENT_DATA messages the client may still send us
        self._tokens_out: int | None = None  # what we may send it; None until AGENT_START
        self._held: deque[bytes] = deque()  # AGENT_DATA bodies waiting for its tokens
        self._held_bytes = 0

    def start(self) -> None:
        super().start()
        context, config = self.context, self.context.config
        self.send(
            MsgMainInit(
                session_id=self.session.id,
                display_channels_hint=context.display_count,
                supported_mouse_modes=context.supported_mouse_modes,
                current_mouse_mode=context.mouse_mode,
                agent_connected=int(context.agent is not None),
                agent_tokens=AGENT_TOKENS,
                multi_media_time=(self.clock.mm_time() - MM_TIME_DELTA_MS) & MM_TIME_MASK,
                ram_hint=0,
            )
        )
        if MainCap.NAME_AND_UUID in self.client_caps:
            if config.name is not None:
                self.send(MsgMainName(config.name))
            if config.uuid is not None:
                self.send(MsgMainUuid(config.uuid))
        if context.agent is not None:
            context.agent.attach(self)
        self.start_keepalive()

    def on_closed(self) -> None:
        if self.context.agent is not None:
            self.context.agent.detach(self)

    # -- AgentPeer -------------------------------------------------------------------------

    @property
    def takes_replies(self) -> bool:
        """spice-html5, the WebSocket client, announces VD_AGENT_CAP_REPLY but has no
        handler for REPLY records: it logs each as an unknown message, and nothing else."""
        return self.connection.websocket is None

    def send_agent(self, message: AgentMessage) -> None:
        """One agent record to this client, cut into AGENT_DATA messages sent as its
        tokens allow."""
        for chunk in split_for_client(message):
            self._held.append(chunk)
            self._held_bytes += len(chunk)
        limit = self.context.config.limits.max_clipboard + 32 * MAX_DATA_SIZE
        if self._held_bytes > limit:
            self.close(f"agent data waits for tokens the client does not give ({limit} bytes)")
            return
        self._send_held()

    def return_tokens(self, count: int) -> None:
        self._tokens_in += count
        self.send(MsgMainAgentToken(count))

    def agent_reset(self) -> None:
        """The agent was replaced: the client counts fresh tokens (and sends AGENT_START
        again); messages it sent before it heard of it may still arrive."""
        self._tokens_in += AGENT_TOKENS
        self._tokens_out = None
        self._held.clear()
        self._held_bytes = 0

    def _send_held(self) -> None:
        while self._held and self._tokens_out and not self.closed:
            chunk = self._held.popleft()
            self._held_bytes -= len(chunk)
            self._tokens_out -= 1
            self.send(MsgMainAgentData(chunk))

    def _grant(self, tokens: int) -> None:
        self._tokens_out = min(MAX_TOKENS, (self._tokens_out or 0) + tokens)
        self._send_held()

    def handle_message(self, message: ClientMessage) -> None:
        match message:
            case MsgcMainAttachChannels():
                self.attached = True
                self.send(MsgMainChannelsList(tuple(self.context.channel_list())))
            case MsgcMainMouseModeRequest(mode=mode):
                self.context.request_mouse_mode(mode)
            case MsgcMainAgentStart(num_tokens=tokens):
                self._tokens_out = 0
                if self.context.agent is not None:
                    self.context.agent.start(self, tokens)
                self._grant(tokens)
            case MsgcMainAgentData(data=data):
                if self._tokens_in <= 0:
                    raise RemoteProtocolError("main: agent data beyond the tokens granted")
                self._tokens_in -= 1
                if self.context.agent is not None:
                    self.context.agent.data(self, data)
                else:
                    self.quiet_log.debug(
                        "%r: no agent; dropping %d bytes of agent data", self, len(data)
                    )
            case MsgcMainAgentToken(num_tokens=tokens):
                if self._tokens_out is not None:
                    self._grant(tokens)
            case _:
                super().handle_message(message)
