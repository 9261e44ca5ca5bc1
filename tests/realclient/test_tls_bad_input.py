"""Bad input on the TLS port, while a real spice-gtk client stays connected over TLS.

A flood of ClientHellos, a client that stops half way through the handshake, bytes that are
not TLS, and a renegotiation request (from ``openssl s_client``, a real TLS peer): each
closes only its own connection, with a logged reason; unfinished TLS handshakes count
against the same cap and deadline as unfinished link handshakes. After each case the real
client's framebuffer still follows the display.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import subprocess
import time

import numpy as np
import pytest

from spice_server import Display
from spice_server.protocol.constants import LinkError

from harness import wait_until
from rawclient import RawClient

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 320, 200


@pytest.fixture
def setup(make_harness, make_client, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness(
        port=None,
        tls_port=0,
        state_dir=tmp_path / "state",
        password="pw",
        link_timeout=2.0,
        max_pending_links=32,
    )
    display = Display(WIDTH, HEIGHT)
    display.update(np.full((HEIGHT, WIDTH), 0x123456, dtype=np.uint32))
    harness.call(harness.server.add_interface, display)
    tls = harness.server.tls_setup
    client = make_client(
        None,
        "pw",
        tls_port=harness.tls_port,
        ca_file=tls.credentials.ca_file,
        host_subject=tls.host_subject,
    )
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    yield harness, display, client
    frame = np.random.default_rng(7).integers(0, 1 << 24, (HEIGHT, WIDTH), dtype=np.uint32)
    display.update(frame)
    client.wait_framebuffer(display.snapshot())
    assert harness.call(lambda: harness.server.session_count) == 1


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def client_hello() -> bytes:
    """The first flight of a real TLS client (Python's ssl), as bytes."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = ssl.create_default_context()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Reads (and skips) what the server sends until it closes; False if it does not."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except TimeoutError:
        return False
    return True


def tls_raw_client(harness) -> RawClient:
    context = ssl.create_default_context(cafile=str(harness.server.tls_setup.credentials.ca_file))
    plain = socket.create_connection(("127.0.0.1", harness.tls_port), timeout=5)
    return RawClient(sock=context.wrap_socket(plain, server_hostname="localhost"))


def test_a_flood_of_client_hellos(setup, caplog):
    harness, display, client = setup
    hello = client_hello()
    flood = []
    for i in range(120):
        sock = socket.create_connection(("127.0.0.1", harness.tls_port), timeout=5)
        sock.sendall(hello if i % 2 else hello[:20])  # a whole hello, or half of one
        flood.append(sock)
    display.update(np.full((HEIGHT, WIDTH), 0xABCDEF, dtype=np.uint32))
    client.wait_framebuffer(display.snapshot())
    late = tls_raw_client(harness)  # a new client still gets in while the flood is open
    assert late.link(password="pw") == LinkError.OK
    late.close()
    deadline = time.monotonic() + 10
    for sock in flood:
        assert closed_by_server(sock, max(0.1, deadline - time.monotonic()))
        sock.close()
    assert logged(caplog, "too many unfinished link handshakes")
    assert logged(caplog, "link handshake timed out")
    assert harness.call(lambda: harness.server.pending_links) == 0


def test_a_client_that_stops_mid_handshake_times_out(setup, caplog):
    harness, _, _ = setup
    sock = socket.create_connection(("127.0.0.1", harness.tls_port), timeout=5)
    sock.sendall(client_hello())
    assert sock.recv(5)[:1] == b"\x16"  # the server's hello: a handshake record
    started = time.monotonic()
    assert closed_by_server(sock, 6)
    assert 1.0 < time.monotonic() - started < 5.0  # the 2 s link deadline covers TLS
    wait_until(lambda: logged(caplog, "link handshake timed out"), what="logged reason")


@pytest.mark.parametrize(
    "garbage",
    [b"REDQ\x02\x00\x00\x00\x02\x00\x00\x00" + bytes(40), b"GET / HTTP/1.1\r\n\r\n", bytes(300)],
)
def test_bytes_that_are_not_tls_close_the_connection(setup, caplog, garbage):
    harness, _, _ = setup
    sock = socket.create_connection(("127.0.0.1", harness.tls_port), timeout=5)
    sock.sendall(garbage)
    assert closed_by_server(sock, 5)
    wait_until(lambda: logged(caplog, "TLS handshake failed"), what="logged reason")


def test_a_renegotiation_request_is_refused(setup, caplog):
    harness, _, _ = setup
    proc = subprocess.Popen(
        [
            "openssl", "s_client", "-connect", f"127.0.0.1:{harness.tls_port}", "-tls1_2",
            "-CAfile", str(harness.server.tls_setup.credentials.ca_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdin is not None and proc.stdout is not None
        output = []
        for line in proc.stdout:
            output.append(line)
            if "Verify return code" in line:
                break
        assert "Verify return code: 0 (ok)" in "".join(output)
        proc.stdin.write("R\n")  # s_client's command: renegotiate
        proc.stdin.flush()
        rest, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "RENEGOTIATING" in rest and "no renegotiation" in rest
    wait_until(lambda: logged(caplog, "TLS session failed"), what="logged reason")
