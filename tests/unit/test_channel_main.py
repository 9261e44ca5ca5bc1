"""The main channel against a fake context: MAIN_INIT, the channel list, mouse modes, agents."""

from __future__ import annotations

import pytest

from spice_server.agent.builtin import BuiltinAgent
from spice_server.channels.main import AGENT_TOKENS, MM_TIME_DELTA_MS, MainChannel
from spice_server.config import Limits
from spice_server.protocol.agent import (
    AgentCap,
    AgentMessage,
    AgentMessageType,
    pack_announce_capabilities,
    unpack_announce_capabilities,
)
from spice_server.protocol.constants import ChannelType, MainCap, MouseMode
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.messages.main import (
    MsgcMainAgentData,
    MsgcMainAgentStart,
    MsgcMainAgentToken,
    MsgcMainAttachChannels,
    MsgcMainMouseModeRequest,
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

from fakes import FakeContext, link

UUID = bytes(range(16))


def test_main_init_opens_the_session_on_the_media_clock() -> None:
    context = FakeContext(name="desk", uuid=UUID)
    context.supported_mouse_modes = MouseMode.SERVER | MouseMode.CLIENT
    client, transport = link(MainChannel(context), caps=frozenset({MainCap.NAME_AND_UUID}))
    init, name, uuid, *_ = transport.take()
    assert init == MsgMainInit(
        session_id=client.session.id,
        display_channels_hint=1,
        supported_mouse_modes=3,
        current_mouse_mode=MouseMode.SERVER,
        agent_connected=0,
        agent_tokens=AGENT_TOKENS,
        multi_media_time=(context.clock.mm_time() - MM_TIME_DELTA_MS) & 0xFFFFFFFF,
        ram_hint=0,
    )
    assert name == MsgMainName("desk") and uuid == MsgMainUuid(UUID)


def test_name_and_uuid_only_for_clients_that_take_them() -> None:
    context = FakeContext(name="desk", uuid=UUID)
    _client, transport = link(MainChannel(context))
    kinds = {type(m) for m in transport.take()}
    assert MsgMainName not in kinds and MsgMainUuid not in kinds


def test_attach_channels_lists_them_and_later_ones_are_announced() -> None:
    context = FakeContext()
    context.channels = [(ChannelType.DISPLAY, 0), (ChannelType.INPUTS, 0)]
    channel = MainChannel(context)
    _client, transport = link(channel)
    transport.take()
    channel.announce_channel(ChannelType.PLAYBACK, 0)
    assert transport.take() == []  # not attached yet: it will get the whole list
    transport.feed(MsgcMainAttachChannels())
    assert transport.take() == [MsgMainChannelsList(((2, 0), (3, 0)))]
    channel.announce_channel(ChannelType.PLAYBACK, 0)
    assert transport.take() == [MsgMainChannelsList(((5, 0),))]


def test_mouse_mode_requests_go_to_the_server_and_changes_reach_every_client() -> None:
    context = FakeContext()
    channel = MainChannel(context)
    _, first = link(channel)
    _, second = link(channel)
    first.feed(MsgcMainMouseModeRequest(MouseMode.CLIENT))
    assert context.mouse_requests == [MouseMode.CLIENT]
    first.take(), second.take()
    channel.broadcast_mouse_mode(3, MouseMode.CLIENT)
    assert first.take() == second.take() == [MsgMainMouseMode(3, MouseMode.CLIENT)]


def agent_record(kind: int, payload: bytes) -> bytes:
    return AgentMessage(kind, payload).pack()


def records(messages: list) -> list[AgentMessage]:
    """The agent records carried by these messages' AGENT_DATA bodies."""
    data = b"".join(m.data for m in messages if isinstance(m, MsgMainAgentData))
    out = []
    while data:
        kind, size = int.from_bytes(data[4:8], "little"), int.from_bytes(data[16:20], "little")
        out.append(AgentMessage(kind, data[20 : 20 + size]))
        data = data[20 + size :]
    return out


def test_agent_data_is_consumed_and_each_message_returns_its_token() -> None:
    context = FakeContext()
    context.agent = BuiltinAgent(context)
    channel = MainChannel(context)
    _client, transport = link(channel)
    assert transport.take_of(MsgMainInit)[0].agent_connected == 1
    transport.feed(MsgcMainAgentStart(AGENT_TOKENS))
    announce = agent_record(
        AgentMessageType.ANNOUNCE_CAPABILITIES,
        pack_announce_capabilities(True, frozenset({AgentCap.MONITORS_CONFIG})),
    )
    # One record in two AGENT_DATA messages: two tokens back, one answer once it is whole.
    transport.feed(MsgcMainAgentData(announce[:10]))
    assert transport.take_of(MsgMainAgentToken) == [MsgMainAgentToken(1)]
    transport.feed(MsgcMainAgentData(announce[10:]))
    messages = transport.take()
    assert MsgMainAgentToken(1) in messages
    (reply,) = records(messages)
    assert reply.type == AgentMessageType.ANNOUNCE_CAPABILITIES
    request, caps = unpack_announce_capabilities(reply.payload)
    assert not request and AgentCap.MONITORS_CONFIG in caps


def test_an_agent_that_comes_and_goes_is_announced_to_every_client() -> None:
    context = FakeContext()
    channel = MainChannel(context)
    _, old_client = link(channel, caps=frozenset({MainCap.AGENT_CONNECTED_TOKENS}))
    old_client.take()
    agent = BuiltinAgent(context)
    channel.agent_changed(None, agent)
    assert old_client.take() == [MsgMainAgentConnectedTokens(AGENT_TOKENS)]
    channel.agent_changed(agent, None)
    assert old_client.take() == [MsgMainAgentDisconnected(0)]


def test_tokens_pace_agent_data_both_ways() -> None:
    """A client sends only what we granted; we send only what it granted, and what waits
    for its tokens is bounded."""
    context = FakeContext(limits=Limits(max_clipboard=10_000))
    context.agent = agent = BuiltinAgent(context)
    _client, transport = link(MainChannel(context))
    transport.take()
    peer = _client
    # Before AGENT_START nothing goes out; two tokens let two AGENT_DATA messages out.
    agent.peers[peer].announced = True
    agent.clipboard_changed()  # one record
    assert records(transport.take()) == []
    transport.feed(MsgcMainAgentStart(0))
    assert transport.take() == []
    transport.feed(MsgcMainAgentToken(1))
    assert len(records(transport.take())) == 1
    # The client's side: AGENT_TOKENS messages, then one more only for a token returned.
    context.agent = None  # nobody consumes them: no token comes back
    for _ in range(AGENT_TOKENS):
        transport.feed(MsgcMainAgentData(b"x"))
    with pytest.raises(RemoteProtocolError, match="beyond the tokens granted"):
        transport.feed(MsgcMainAgentData(b"x"))


def test_a_client_that_grants_no_tokens_is_dropped_once_its_backlog_is_full() -> None:
    context = FakeContext(limits=Limits(max_clipboard=10_000))
    context.agent = agent = BuiltinAgent(context)
    client, transport = link(MainChannel(context))
    transport.feed(MsgcMainAgentStart(0))
    agent.peers[client].announced = True
    for _ in range(10_000):  # records of 30 bytes, against 75 kB of backlog
        agent.clipboard_changed()
        if transport.closed:
            break
    assert transport.closed and "tokens the client does not give" in transport.close_reason
