"""Bad input over raw sockets, while a real spice-gtk client stays connected and working.

Every case must end with the right link error or a closed connection and a logged reason,
and must not disturb the real client: after each case its framebuffer still follows.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time

import numpy as np
import pytest

from spice_server import Display
from spice_server.protocol.constants import (
    MAGIC,
    ChannelType,
    CommonCap,
    LinkError,
    MsgcMain,
    MsgMain,
)
from spice_server.protocol.link import LINK_HEADER, ClientLink, LinkReply
from spice_server.protocol.messages.main import MsgMainChannelsList, MsgMainInit

from harness import wait_until
from rawclient import RawClient
from wsframes import BINARY, CLOSE, client_frame, parse_server_frames, upgrade_request

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 320, 200


@pytest.fixture
def setup(make_harness, make_client, caplog):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness(password="pw", link_timeout=2.0, max_pending_links=32)
    display = Display(WIDTH, HEIGHT)
    display.update(np.full((HEIGHT, WIDTH), 0x123456, dtype=np.uint32))
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port, "pw")
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    yield harness, display, client
    # Whatever the case did, the real client still gets new pixels.
    frame = np.random.default_rng(7).integers(0, 1 << 24, (HEIGHT, WIDTH), dtype=np.uint32)
    display.update(frame)
    client.wait_framebuffer(display.snapshot())


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def link_error_of(raw: RawClient) -> int:
    return raw.read_reply().error


def test_wrong_magic_gets_invalid_magic(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(b"HTTP" + bytes(12))
    assert link_error_of(raw) == LinkError.INVALID_MAGIC
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "bad magic"), what="logged reason")


def test_oversized_link_message_gets_invalid_data(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(LINK_HEADER.pack(MAGIC, 2, 2, 1_000_000))
    assert link_error_of(raw) == LinkError.INVALID_DATA
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "link message size 1000000 out of range"), what="reason")


def test_wrong_major_version_gets_version_mismatch(setup):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(LINK_HEADER.pack(MAGIC, 3, 0, 18) + bytes(18))
    assert link_error_of(raw) == LinkError.VERSION_MISMATCH
    assert raw.is_closed_by_server()


def test_caps_outside_the_link_message_get_invalid_data(setup):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    body = struct.pack("<IBBIII", 0, 1, 0, 200, 0, 18)  # 200 cap words announced, none sent
    raw.send(LINK_HEADER.pack(MAGIC, 2, 2, len(body)) + body)
    assert link_error_of(raw) == LinkError.INVALID_DATA
    assert raw.is_closed_by_server()


def test_unknown_channel_and_unknown_session_are_refused(setup):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    assert (
        raw.link(channel_type=ChannelType.DISPLAY, channel_id=7, password="pw")
        == LinkError.CHANNEL_NOT_AVAILABLE
    )
    assert raw.is_closed_by_server()
    raw = RawClient(harness.port)
    assert (
        raw.link(channel_type=ChannelType.INPUTS, connection_id=0xDEAD, password="pw")
        == LinkError.BAD_CONNECTION_ID
    )
    assert raw.is_closed_by_server()


def test_wrong_ticket_and_unknown_auth_mechanism(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    assert raw.link(password="nope") == LinkError.PERMISSION_DENIED
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "wrong password"), what="logged reason")
    raw = RawClient(harness.port)
    assert raw.link(password="pw", mechanism=CommonCap.AUTH_SASL) == LinkError.INVALID_DATA
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "unsupported auth mechanism 2"), what="logged reason")


def linked_main(harness) -> RawClient:
    raw = RawClient(harness.port)
    assert raw.link(password="pw") == LinkError.OK
    init = MsgMainInit.unpack(raw.read_until(MsgMain.INIT).body)
    assert init.session_id != 0
    return raw


def test_truncated_message_closes_the_connection(setup, caplog):
    harness, _, _ = setup
    raw = linked_main(harness)
    raw.send_message(MsgcMain.MOUSE_MODE_REQUEST, b"\x02")  # needs a u16
    assert raw.is_closed_by_server()
    wait_until(
        lambda: logged(caplog, "MsgcMainMouseModeRequest: body of 1 bytes, needs 2"),
        what="logged reason",
    )


def test_oversized_message_closes_the_connection_before_its_body(setup, caplog):
    harness, _, _ = setup
    raw = linked_main(harness)
    raw.send(struct.pack("<HI", MsgcMain.AGENT_DATA, 50_000_000))  # header only
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "of 50000000 bytes exceeds the limit"), what="reason")


def test_unknown_message_type_closes_the_connection(setup, caplog):
    harness, _, _ = setup
    raw = linked_main(harness)
    raw.send_message(999, b"hello")
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "unknown message type 999"), what="logged reason")


def test_garbage_after_link_on_inputs_closes_only_that_connection(setup, caplog):
    harness, _, client = setup
    raw = linked_main(harness)
    raw.send_message(MsgcMain.ATTACH_CHANNELS)
    channels = MsgMainChannelsList.unpack(raw.read_until(MsgMain.CHANNELS_LIST).body)
    assert (ChannelType.INPUTS, 0) in channels.channels
    inputs = RawClient(harness.port)
    session_id = harness.call(
        lambda: harness.server.channel_clients(ChannelType.MAIN)[-1].session.id
    )
    assert inputs.link(ChannelType.INPUTS, 0, session_id, "pw") == LinkError.OK
    inputs.send(b"\xff" * 64)  # type 0xffff with a 4 GB size
    assert inputs.is_closed_by_server()
    # The raw session's main channel and the real client are untouched.
    raw.send_message(MsgcMain.ATTACH_CHANNELS)
    raw.read_until(MsgMain.CHANNELS_LIST)
    assert client.proc.poll() is None


def test_add_client_hands_over_a_connected_socket_and_can_skip_auth(setup):
    harness, _, _ = setup
    for skip_auth, expected in ((True, LinkError.OK), (False, LinkError.PERMISSION_DENIED)):
        ours, theirs = socket.socketpair()
        harness.call(harness.server.add_client, ours, skip_auth)
        raw = RawClient(sock=theirs)
        assert raw.link(password="not the password") == expected
        raw.close()


def test_full_header_client_is_served(setup):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    caps = frozenset({CommonCap.PROTOCOL_AUTH_SELECTION})  # no MINI_HEADER
    assert raw.link(password="pw", common_caps=caps) == LinkError.OK
    assert raw.stream is not None and not raw.stream.mini_header
    init = MsgMainInit.unpack(raw.read_until(MsgMain.INIT).body)
    assert init.display_channels_hint == 1
    raw.send_message(MsgcMain.ATTACH_CHANNELS)
    listed = MsgMainChannelsList.unpack(raw.read_until(MsgMain.CHANNELS_LIST).body)
    assert set(listed.channels) == {(2, 0), (3, 0), (4, 0)}


def test_flood_of_unfinished_handshakes(setup, caplog):
    harness, display, client = setup
    flood = []
    for i in range(120):
        sock = socket.create_connection(("127.0.0.1", harness.port), timeout=5)
        if i % 2:
            sock.sendall(MAGIC + b"\x02\x00")  # half a header, then silence
        flood.append(sock)
    # Meanwhile the connected client keeps working...
    display.update(np.full((HEIGHT, WIDTH), 0xABCDEF, dtype=np.uint32))
    client.wait_framebuffer(display.snapshot())
    # ...and a new one can still get in, while the flood is still open.
    late = RawClient(harness.port)
    assert late.link(password="pw") == LinkError.OK
    # Only max_pending_links handshakes are kept; the others are dropped, oldest first, and
    # the rest time out: every flood socket ends up closed by the server.
    deadline = time.monotonic() + 10
    for sock in flood:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(100) == b""
        sock.close()
    assert logged(caplog, "too many unfinished link handshakes")
    assert logged(caplog, "link handshake timed out")
    assert harness.call(lambda: harness.server.pending_links) == 0


# -- over WebSocket, on the same port ---------------------------------------------------


def read_all(raw: RawClient) -> bytes:
    """Everything the server sends until it closes."""
    data = raw.buffer
    with contextlib.suppress(ConnectionResetError):
        while chunk := raw.sock.recv(65536):
            data += chunk
    return data


def test_broken_http_request_gets_400(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # a page request, not an upgrade
    assert read_all(raw).startswith(b"HTTP/1.1 400 ")
    wait_until(lambda: logged(caplog, "bad WebSocket handshake"), what="logged reason")


def test_bad_websocket_frame_gets_a_close_frame(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(upgrade_request())
    raw.send(client_frame(MAGIC, mask=False))  # clients must mask
    response = read_all(raw)
    head, _, frames = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    ((opcode, payload),) = parse_server_frames(frames)
    assert opcode == CLOSE and payload[:2] == struct.pack("!H", 1002)
    wait_until(lambda: logged(caplog, "bad WebSocket frame"), what="logged reason")


def test_bad_link_inside_websocket_gets_the_same_link_error(setup):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(upgrade_request())
    raw.send(client_frame(b"HTTP" + bytes(12)))
    _, _, frames = read_all(raw).partition(b"\r\n\r\n")
    sent = parse_server_frames(frames)
    assert [opcode for opcode, _ in sent] == [BINARY, CLOSE]
    link = ClientLink()
    link.receive_data(sent[0][1])
    refused = LinkReply(LinkError.INVALID_MAGIC, bytes(162), frozenset(), frozenset())
    assert link.next_event() == refused


def test_unfinished_upgrade_times_out_like_a_link(setup, caplog):
    harness, _, _ = setup
    raw = RawClient(harness.port)
    raw.send(b"GET /websockify HTTP/1.1\r\n")  # and nothing more
    assert raw.is_closed_by_server(timeout=5)
    wait_until(lambda: logged(caplog, "link handshake timed out"), what="logged reason")
