"""The agent with the real client: the built-in one (clipboard, monitors config) and a bridge
to a real guest agent behind a vdagent char device."""

from __future__ import annotations

import struct

import pytest

from spice_server import ClipboardSelection, ClipboardType, Display, MonitorConfig, MouseMode
from spice_server.protocol.agent import (
    AgentCap,
    AgentMessage,
    AgentStream,
    ChunkStream,
    pack_announce_capabilities,
    pack_chunk,
    unpack_announce_capabilities,
)
from spice_server.protocol.agent import AgentMessageType as T
from spice_server.protocol.events import NEED_DATA

from harness import FakeVdagent, RecordingClipboard, RecordingTablet, wait_until

pytestmark = pytest.mark.realclient

CLIPBOARD, PRIMARY = int(ClipboardSelection.CLIPBOARD), int(ClipboardSelection.PRIMARY)
TEXT = int(ClipboardType.UTF8_TEXT)


class ResizableDisplay(Display):
    """Honours a client's monitors config by resizing at once, width rounded down to 8."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self.requests: list[list[MonitorConfig]] = []

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        self.requests.append(monitors)
        self.resize(monitors[0].width & ~7, monitors[0].height)
        return True


def connect(make_harness, make_client, display=None):
    harness = make_harness()
    clipboard = RecordingClipboard()
    harness.call(harness.server.add_interface, display or Display(320, 200))
    harness.call(harness.server.add_interface, clipboard)
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_for(
        lambda e: e["event"] == "agent" and e["connected"] and e["caps"] & (1 << 5),
        what="agent with clipboard caps",
    )
    return harness, clipboard, client


def test_agent_capabilities_reach_the_client(make_harness, make_client):
    _harness, _clipboard, client = connect(make_harness, make_client)
    caps = client.wait_for(lambda e: e["event"] == "agent" and e["caps"], what="caps")["caps"]
    for cap in (
        AgentCap.MONITORS_CONFIG,
        AgentCap.CLIPBOARD_BY_DEMAND,
        AgentCap.CLIPBOARD_SELECTION,
    ):
        assert caps & (1 << cap), cap


@pytest.mark.parametrize("selection", [CLIPBOARD, PRIMARY])
def test_clipboard_from_client_to_back_end(make_harness, make_client, selection):
    _harness, clipboard, client = connect(make_harness, make_client)
    text = "héllo from the client ✓".encode()
    client.send(cmd="clipboard_set", selection=selection, type=TEXT, data=text.hex())
    wait_until(
        lambda: ("grab", selection, [TEXT]) in clipboard.recorder.snapshot(),
        what="the client's grab",
    )
    clipboard.request(selection, ClipboardType.UTF8_TEXT)
    wait_until(
        lambda: ("data", selection, TEXT, text) in clipboard.recorder.snapshot(),
        what="the client's data",
    )
    client.send(cmd="clipboard_release", selection=selection)
    wait_until(
        lambda: ("release", selection) in clipboard.recorder.snapshot(), what="the client's release"
    )


@pytest.mark.parametrize("selection", [CLIPBOARD, PRIMARY])
def test_clipboard_from_back_end_to_client(make_harness, make_client, selection):
    _harness, clipboard, client = connect(make_harness, make_client)
    text = ("from the back end, " * 300).encode()  # > 2048 bytes: spans AGENT_DATA messages
    clipboard.content[(selection, TEXT)] = text
    clipboard.grab(selection, [ClipboardType.UTF8_TEXT])
    grab = client.wait_for(
        lambda e: e["event"] == "clipboard_grab" and e["selection"] == selection,
        what="our grab at the client",
    )
    assert grab["types"] == [TEXT]
    client.send(cmd="clipboard_request", selection=selection, type=TEXT)
    data = client.wait_for(
        lambda e: e["event"] == "clipboard_data" and e["selection"] == selection,
        what="our data at the client",
    )
    assert bytes.fromhex(data["data"]) == text
    assert ("request", selection, TEXT) in clipboard.recorder.snapshot()
    clipboard.release(selection)
    client.wait_for(
        lambda e: e["event"] == "clipboard_release" and e["selection"] == selection,
        what="our release at the client",
    )


def test_client_monitors_config_resizes_the_display(make_harness, make_client):
    display = ResizableDisplay(320, 200)
    _harness, _clipboard, client = connect(make_harness, make_client, display)
    client.send(cmd="monitor_config", width=645, height=300)
    client.wait_for(lambda e: e["event"] == "primary" and e["width"] == 640, what="new size")
    assert display.requests[-1][0].width == 645 and display.requests[-1][0].height == 300
    client.wait_framebuffer(display.snapshot())


def records_at(device: FakeVdagent, wanted_port: int) -> list[AgentMessage]:
    """The agent records the server has written to the device for one port."""
    chunks, records = ChunkStream(), AgentStream()
    chunks.receive_data(device.written_bytes())
    found = []
    while (chunk := chunks.next_event()) is not NEED_DATA:
        if chunk.port == wanted_port:
            records.receive_data(chunk.data)
            while (record := records.next_event()) is not NEED_DATA:
                found.append(record)
    return found


def test_vdagent_device_passes_bytes_through(make_harness, make_client):
    harness = make_harness()
    harness.call(harness.server.add_interface, Display(320, 200))
    device = FakeVdagent()
    harness.call(harness.server.add_interface, device)
    client = make_client(harness.port)
    client.wait_ready()

    # The client's ANNOUNCE_CAPABILITIES reaches the device as a port-1 chunk.
    announce = wait_until(
        lambda: [r for r in records_at(device, 1) if r.type == T.ANNOUNCE_CAPABILITIES],
        what="the client's capabilities at the device",
    )[0]
    request, client_caps = unpack_announce_capabilities(announce.payload)
    assert request and AgentCap.CLIPBOARD_BY_DEMAND in client_caps
    assert device.states == [True]

    # The guest agent answers, cut into awkward pieces; the client gets whole records.
    reply = AgentMessage(
        T.ANNOUNCE_CAPABILITIES,
        pack_announce_capabilities(
            False, [AgentCap.CLIPBOARD_BY_DEMAND, AgentCap.MOUSE_STATE, AgentCap.MONITORS_CONFIG]
        ),
    )
    grab = AgentMessage(T.CLIPBOARD_GRAB, struct.pack("<I", TEXT))
    stream = pack_chunk(1, reply.pack()[:7]) + pack_chunk(1, reply.pack()[7:] + grab.pack())
    for i in range(0, len(stream), 5):
        device.feed(stream[i : i + 5])
    event = client.wait_for(lambda e: e["event"] == "clipboard_grab", what="the guest's grab")
    assert event["types"] == [TEXT]

    # Without a tablet, client-mode positions go to the agent as MOUSE_STATE on port 2.
    client.wait_mouse_mode(MouseMode.CLIENT)
    client.send(cmd="position", x=33, y=44, display=0, buttons=0)

    def mouse_states():
        records = records_at(device, 2)
        return [struct.unpack("<IIIB", r.payload) for r in records if r.type == T.MOUSE_STATE]

    wait_until(lambda: (33, 44, 0, 0) in mouse_states(), what="MOUSE_STATE at the device")

    # Removing the device brings the built-in agent back for connected clients.
    harness.call(harness.server.remove_interface, device)
    client.wait_for(
        lambda e: (
            e["event"] == "agent"
            and e["connected"]
            and e["caps"]
            and not e["caps"] & (1 << AgentCap.MOUSE_STATE)
        ),
        what="built-in agent",
    )
    tablet = RecordingTablet()
    harness.call(harness.server.add_interface, tablet)
    client.send(cmd="position", x=5, y=6, display=0, buttons=0)
    wait_until(lambda: ("position", 5, 6, 0, 0) in tablet.recorder.snapshot(), what="tablet")
