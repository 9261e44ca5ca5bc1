"""Admission under attack: one address's floods and guesses cost that address only.

The attacker speaks from 127.0.0.2 (on Linux all of 127.0.0.0/8 is loopback), the real
clients from 127.0.0.1: spice-gtk and a raw client must get in at once meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time

import numpy as np
import pytest

from spice_server import Display, Limits
from spice_server.net.auth import encrypt_ticket
from spice_server.protocol.constants import MAGIC, ChannelType, LinkError, MsgMain
from spice_server.protocol.link import LinkRequest
from spice_server.protocol.messages.main import MsgMainInit

from harness import wait_until
from rawclient import CLIENT_COMMON_CAPS, RawClient
from wsframes import upgrade_request

pytestmark = pytest.mark.realclient

ATTACKER = "127.0.0.2"
WIDTH, HEIGHT = 160, 120


def raw_from(port: int, source: str, timeout: float = 10.0) -> RawClient:
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )
    return RawClient(sock=sock, timeout=timeout)


def timed_link(port: int, source: str, password: str, **kwargs: int) -> tuple[int, float]:
    """The link result and how long the whole handshake took."""
    started = time.monotonic()
    raw = raw_from(port, source)
    result = raw.link(password=password, **kwargs)
    elapsed = time.monotonic() - started
    raw.close()
    return result, elapsed


@pytest.fixture
def server(make_harness, caplog):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness(password="pw", link_timeout=3.0)
    display = Display(WIDTH, HEIGHT)
    display.update(np.full((HEIGHT, WIDTH), 0x336699, dtype=np.uint32))
    harness.call(harness.server.add_interface, display)
    return harness, display


def test_wrong_passwords_slow_their_address_and_no_other(server, make_client) -> None:
    harness, display = server
    delays = []
    for _ in range(7):
        result, elapsed = timed_link(harness.port, ATTACKER, "guess")
        assert result == LinkError.PERMISSION_DENIED
        delays.append(elapsed)
    # Three are free, the fourth too; then 0.5 s, 1 s, 2 s: the delays double.
    assert max(delays[:4]) < 0.4, delays
    assert delays[4] > 0.4 and delays[5] > 0.9 and delays[6] > 1.9, delays
    # Meanwhile another address gets in at once, the right password or not...
    result, elapsed = timed_link(harness.port, "127.0.0.1", "pw")
    assert result == LinkError.OK and elapsed < 0.5
    client = make_client(harness.port, "pw")
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    # ...and the attacker's next one, right or wrong, waits its 4 s (the server's clock).
    result, elapsed = timed_link(harness.port, ATTACKER, "pw")
    assert result == LinkError.OK and elapsed > 3.5
    assert harness.call(lambda: harness.server._admission.throttle.failures(ATTACKER)) == 0


def test_a_flood_of_half_open_handshakes_does_not_keep_others_out(server, make_client, caplog):
    harness, display = server
    flood = []
    for i in range(200):
        sock = socket.create_connection(
            ("127.0.0.1", harness.port), timeout=5, source_address=(ATTACKER, 0)
        )
        if i % 2:
            sock.sendall(MAGIC + b"\x02\x00")  # half a header, then silence
        flood.append(sock)
    wait_until(lambda: logged(caplog, "too many unfinished link handshakes"), what="a drop")
    # The flood holds at most its address's share; real clients from elsewhere get in.
    for _ in range(5):
        result, elapsed = timed_link(harness.port, "127.0.0.1", "pw")
        assert result == LinkError.OK and elapsed < 0.5
    client = make_client(harness.port, "pw")
    client.wait_ready()
    display.update(np.full((HEIGHT, WIDTH), 0xABCDEF, dtype=np.uint32))
    client.wait_framebuffer(display.snapshot())
    pending = harness.call(lambda: harness.server.pending_links)
    assert pending <= Limits().max_pending_links_per_address + 1
    for sock in flood:
        sock.close()


def test_sessions_per_address_are_limited(make_harness) -> None:
    harness = make_harness(password="pw", limits=Limits(max_sessions_per_address=2))
    held = []
    for _ in range(2):
        raw = raw_from(harness.port, ATTACKER)
        assert raw.link(password="pw") == LinkError.OK
        held.append(raw)
    assert timed_link(harness.port, ATTACKER, "pw")[0] == LinkError.ERROR
    assert timed_link(harness.port, "127.0.0.1", "pw")[0] == LinkError.OK
    held[0].close()
    wait_until(lambda: harness.call(lambda: harness.server.session_count) <= 1, what="gone")
    assert timed_link(harness.port, ATTACKER, "pw")[0] == LinkError.OK


def test_a_guessed_session_id_gets_the_answer_of_a_wrong_ticket(server) -> None:
    harness, _ = server
    raw = RawClient(harness.port)
    assert raw.link(password="pw") == LinkError.OK
    real_id = MsgMainInit.unpack(raw.read_until(MsgMain.INIT).body).session_id
    answers = {
        session_id: RawClient(harness.port).link(
            ChannelType.INPUTS, 0, session_id, password="guess"
        )
        for session_id in (real_id, real_id ^ 0x5A5A)
    }
    assert set(answers.values()) == {LinkError.PERMISSION_DENIED}
    # Only with the password does a wrong id say so.
    other = RawClient(harness.port)
    assert other.link(ChannelType.INPUTS, 0, real_id ^ 0x5A5A, "pw") == LinkError.BAD_CONNECTION_ID


def test_a_foreign_page_cannot_open_a_websocket_even_with_a_password(server, caplog) -> None:
    harness, _ = server
    raw = RawClient(harness.port)
    raw.send(upgrade_request(origin="https://example.com"))
    response = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := raw.sock.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 403 ")
    wait_until(lambda: logged(caplog, "only pages from a loopback address"), what="reason")


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def test_the_channels_of_several_clients_starting_together_all_get_in(server, caplog) -> None:
    """Each spice-gtk opens six channels at once, and several may start together from one
    host: the per-address cap must not drop their handshakes (a soak run once lost a
    display channel to a cap of 8). Fourteen handshakes are under way at once here."""
    harness, _ = server
    raws = [RawClient(harness.port) for _ in range(14)]
    for raw in raws:
        raw.send(LinkRequest(0, ChannelType.MAIN, 0, CLIENT_COMMON_CAPS, frozenset()).pack())
    replies = [raw.read_reply() for raw in raws]
    for raw, reply in zip(raws, replies, strict=True):
        raw.send(struct.pack("<I", 1) + encrypt_ticket(reply.public_key, "pw"))
    results = [raw.read_link_event() for raw in raws]
    assert [r.error for r in results] == [LinkError.OK] * 14
    assert not logged(caplog, "too many unfinished link handshakes")
