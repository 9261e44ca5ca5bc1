"""The agents against a fake context and fake peers: tokens, clipboard, the vdagent bridge."""

from __future__ import annotations

import pytest

from spice_server.agent.builtin import BuiltinAgent
from spice_server.agent.vdagent import MAX_PENDING, WRITE_SIZE, VdagentBridge
from spice_server.interfaces.char_device import CharDeviceInterface
from spice_server.interfaces.clipboard import ClipboardInterface
from spice_server.interfaces.events import ClipboardData, ClipboardGrab, ClipboardRelease
from spice_server.protocol.agent import (
    PORT_CLIENT,
    AgentCap,
    AgentChunk,
    AgentMessage,
    ChunkStream,
    ClipboardCodec,
    ClipboardSelection,
    ClipboardType,
    MonitorConfig,
    pack_announce_capabilities,
    pack_chunk,
    pack_monitors_config,
)
from spice_server.protocol.agent import AgentMessageType as T
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.events import NEED_DATA

from fakes import FakeContext


class Peer:
    """A client's main channel as an agent sees it."""

    def __init__(self, takes_replies: bool = True) -> None:
        self.records: list[AgentMessage] = []
        self.tokens = 0
        self.takes_replies = takes_replies

    def send_agent(self, message: AgentMessage) -> None:
        self.records.append(message)

    def return_tokens(self, count: int) -> None:
        self.tokens += count


class Clipboard(ClipboardInterface):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def client_grab(self, selection, types) -> None:
        self.calls.append(("grab", selection, list(types)))

    def client_release(self, selection) -> None:
        self.calls.append(("release", selection))

    def client_request(self, selection, clip_type) -> None:
        self.calls.append(("request", selection, clip_type))

    def client_data(self, selection, clip_type, data) -> None:
        self.calls.append(("data", selection, clip_type, data))


CODEC = ClipboardCodec(selection=True)
CLIENT_CAPS = frozenset({AgentCap.CLIPBOARD_BY_DEMAND, AgentCap.CLIPBOARD_SELECTION})


def announced(
    agent: BuiltinAgent, caps: frozenset[int] = CLIENT_CAPS, peer: Peer | None = None
) -> Peer:
    peer = peer or Peer()
    agent.attach(peer)
    agent.data(
        peer, AgentMessage(T.ANNOUNCE_CAPABILITIES, pack_announce_capabilities(True, caps)).pack()
    )
    return peer


def test_every_agent_data_message_returns_one_token() -> None:
    agent = BuiltinAgent(FakeContext())
    peer = announced(agent)
    assert peer.tokens == 1
    config = AgentMessage(T.MONITORS_CONFIG, pack_monitors_config([MonitorConfig(640, 480)])).pack()
    agent.data(peer, config[:7])
    agent.data(peer, config[7:])
    assert peer.tokens == 3
    assert agent.context.monitors == [[MonitorConfig(640, 480)]]


@pytest.mark.parametrize(
    ("caps", "takes_replies", "replied"),
    [
        (CLIENT_CAPS | {AgentCap.REPLY}, True, True),
        (CLIENT_CAPS, True, False),  # a client that did not announce REPLY gets none
        (CLIENT_CAPS | {AgentCap.REPLY}, False, False),  # spice-html5 announces but drops it
    ],
    ids=["announced", "not-announced", "html5"],
)
def test_a_monitors_config_is_answered_only_where_replies_are_taken(
    caps, takes_replies, replied
) -> None:
    agent = BuiltinAgent(FakeContext())
    peer = announced(agent, caps, Peer(takes_replies))
    config = AgentMessage(T.MONITORS_CONFIG, pack_monitors_config([MonitorConfig(640, 480)]))
    agent.data(peer, config.pack())
    assert agent.context.monitors == [[MonitorConfig(640, 480)]]
    assert (T.REPLY in [record.type for record in peer.records]) is replied


def test_the_clipboard_is_offered_only_when_a_back_end_has_one() -> None:
    context = FakeContext()
    agent = BuiltinAgent(context)
    assert AgentCap.CLIPBOARD_BY_DEMAND not in agent.caps()
    context.devices.add(Clipboard())
    assert AgentCap.CLIPBOARD_BY_DEMAND in agent.caps()


def test_grabs_and_data_flow_between_a_client_and_the_back_end() -> None:
    context = FakeContext()
    clipboard = Clipboard()
    context.devices.add(clipboard)
    agent = BuiltinAgent(context)
    peer = announced(agent)
    grab = CODEC.pack_grab(ClipboardSelection.CLIPBOARD, [ClipboardType.UTF8_TEXT, 999])
    agent.data(peer, AgentMessage(T.CLIPBOARD_GRAB, grab).pack())
    # The unknown type is not passed on: the back end could not serve it anyway.
    assert clipboard.calls == [("grab", ClipboardSelection.CLIPBOARD, [ClipboardType.UTF8_TEXT])]
    agent.clipboard_action(ClipboardGrab(ClipboardSelection.PRIMARY, (ClipboardType.UTF8_TEXT,)))
    assert peer.records[-1].type == T.CLIPBOARD_GRAB
    request = CODEC.pack_request(ClipboardSelection.PRIMARY, ClipboardType.UTF8_TEXT)
    agent.data(peer, AgentMessage(T.CLIPBOARD_REQUEST, request).pack())
    assert clipboard.calls[-1] == ("request", ClipboardSelection.PRIMARY, ClipboardType.UTF8_TEXT)
    agent.clipboard_action(
        ClipboardData(ClipboardSelection.PRIMARY, ClipboardType.UTF8_TEXT, b"hello")
    )
    answer = peer.records[-1]
    assert answer.type == T.CLIPBOARD
    assert CODEC.unpack_data(answer.payload)[2] == b"hello"


def test_a_client_that_leaves_releases_what_it_grabbed() -> None:
    context = FakeContext()
    clipboard = Clipboard()
    context.devices.add(clipboard)
    agent = BuiltinAgent(context)
    peer = announced(agent)
    grab = CODEC.pack_grab(ClipboardSelection.CLIPBOARD, [ClipboardType.UTF8_TEXT])
    agent.data(peer, AgentMessage(T.CLIPBOARD_GRAB, grab).pack())
    agent.detach(peer)
    assert clipboard.calls[-1] == ("release", ClipboardSelection.CLIPBOARD)


def test_a_grab_is_not_parsed_without_a_clipboard_and_its_types_are_capped() -> None:
    context = FakeContext()
    agent = BuiltinAgent(context)
    peer = announced(agent)
    many = CODEC.pack_grab(ClipboardSelection.CLIPBOARD, [ClipboardType.UTF8_TEXT] * 33)
    agent.data(peer, AgentMessage(T.CLIPBOARD_GRAB, many).pack())  # no clipboard: ignored
    context.devices.add(Clipboard())
    with pytest.raises(RemoteProtocolError, match=r"CLIPBOARD_GRAB with 3[34] types"):
        agent.data(peer, AgentMessage(T.CLIPBOARD_GRAB, many).pack())


def test_a_client_closed_by_a_send_while_capabilities_go_out_again() -> None:
    """Teardown from inside a send reaches the back end, which changes its offers: the
    announcement must not be iterating over them (it once raised "dictionary changed
    size during iteration" and skipped the rest of the teardown)."""
    context = FakeContext()
    agent = BuiltinAgent(context)

    class ReleasingClipboard(Clipboard):
        def client_release(self, selection) -> None:
            super().client_release(selection)
            agent.clipboard_action(ClipboardRelease(ClipboardSelection.PRIMARY))

    class ClosingPeer(Peer):
        closing = False

        def send_agent(self, message: AgentMessage) -> None:
            super().send_agent(message)
            if self.closing and len(self.records) == 2:
                agent.detach(self)  # the connection closed: its queue was over the limit

    context.devices.add(ReleasingClipboard())
    peer = ClosingPeer()
    agent.attach(peer)
    caps = pack_announce_capabilities(True, CLIENT_CAPS)
    agent.data(peer, AgentMessage(T.ANNOUNCE_CAPABILITIES, caps).pack())
    for selection in (ClipboardSelection.CLIPBOARD, ClipboardSelection.PRIMARY):
        agent.clipboard_action(ClipboardGrab(selection, (ClipboardType.UTF8_TEXT,)))
    grab = CODEC.pack_grab(ClipboardSelection.CLIPBOARD, [ClipboardType.UTF8_TEXT])
    agent.data(peer, AgentMessage(T.CLIPBOARD_GRAB, grab).pack())
    peer.records.clear()
    peer.closing = True
    agent.clipboard_changed()  # announces the capabilities, then the PRIMARY offer
    assert peer not in agent.peers
    assert [r.type for r in peer.records] == [T.ANNOUNCE_CAPABILITIES, T.CLIPBOARD_GRAB]


class Device(CharDeviceInterface):
    def __init__(self, room: int = 1 << 30) -> None:
        super().__init__("vdagent")
        self.room = room
        self.written = bytearray()
        self.incoming = bytearray()
        self.states: list[bool] = []

    def write(self, data: bytes) -> int:
        taken = min(len(data), self.room)
        self.written += data[:taken]
        self.room -= taken
        return taken

    def read(self, size: int) -> bytes:
        out = bytes(self.incoming[:size])
        del self.incoming[:size]
        return out

    def state(self, connected: bool) -> None:
        self.states.append(connected)


def test_the_bridge_passes_client_data_to_the_device_and_returns_tokens() -> None:
    context = FakeContext()
    device = Device()
    bridge = VdagentBridge(context, device)
    peer = Peer()
    bridge.attach(peer)
    assert device.states == [True]
    bridge.data(peer, b"abc")
    chunks = ChunkStream()
    chunks.receive_data(bytes(device.written))
    assert chunks.next_event() == AgentChunk(PORT_CLIENT, b"abc")
    assert chunks.next_event() is NEED_DATA
    assert peer.tokens == 1


def test_a_stalled_device_holds_tokens_back_until_it_drains() -> None:
    context = FakeContext()
    device = Device(room=0)
    bridge = VdagentBridge(context, device)
    peer = Peer()
    bridge.attach(peer)
    blob = bytes(64 * 1024 - 100)
    sent = 0
    while peer.tokens == sent:
        bridge.data(peer, blob)
        sent += 1
        if sent * len(blob) > 2 * MAX_PENDING:
            break
    assert peer.tokens < sent  # past MAX_PENDING the client's tokens are withheld
    device.room = 1 << 30
    context.core.advance(0.05)  # the retry timer writes again
    assert peer.tokens == sent


def test_a_stalled_device_is_offered_bounded_pieces_and_no_pointer_backlog() -> None:
    """Each write offers at most WRITE_SIZE bytes (never a copy of all that waits), and
    pointer positions, which need no tokens, are dropped while the device is behind."""
    context = FakeContext()
    offered: list[int] = []

    class Slow(Device):
        def write(self, data: bytes) -> int:
            offered.append(len(data))
            return super().write(data)

    device = Slow(room=0)
    bridge = VdagentBridge(context, device)
    peer = Peer()
    bridge.attach(peer)
    for _ in range(40):
        bridge.data(peer, bytes(60_000))
    waiting = len(bridge._to_device)
    assert waiting > MAX_PENDING
    for _ in range(10_000):
        bridge.mouse_state(1, 2, 0, 0)
    assert len(bridge._to_device) == waiting
    assert max(offered) <= WRITE_SIZE
    device.room = 1 << 30
    context.core.advance(0.05)
    assert not bridge._to_device and len(device.written) >= 40 * 60_000


def test_records_from_the_device_reach_clients_whole() -> None:
    context = FakeContext()
    device = Device()
    bridge = VdagentBridge(context, device)
    peer = Peer()
    bridge.attach(peer)
    record = AgentMessage(T.CLIPBOARD_RELEASE, bytes(4)).pack()
    wire = pack_chunk(PORT_CLIENT, record)
    for i in range(0, len(wire), 5):
        device.incoming += wire[i : i + 5]
        bridge.wakeup()
    assert peer.records == [AgentMessage(T.CLIPBOARD_RELEASE, bytes(4))]
