"""SASL with an unmodified spice-gtk (its Cyrus libsasl2 client and Debian's
libsasl2-modules): SCRAM-SHA-256 and PLAIN over TLS, a wrong password, and no password
in clear without TLS.

The users are in a password file read by the ready back end, as ``--sasl-users`` reads it.
"""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spice_server import Display
from spice_server.net.sasl import PLAIN, SCRAM_SHA_256, PasswordFile, Sasl
from spice_server.protocol.constants import CommonCap, LinkError
from spice_server.protocol.link import LinkRequest

from harness import GtkClient, wait_until
from rawclient import CLIENT_COMMON_CAPS, RawClient
from test_secrets import Command

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 160, 120


@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users"
    path.write_text("# user:password\nalice:wonder land\nbob:builder\n")
    path.chmod(0o600)
    return PasswordFile(path)


def serve(make_harness, tmp_path, sasl, **options):
    options.setdefault("port", None)
    harness = make_harness(tls_port=0, state_dir=tmp_path / "state", sasl=sasl, **options)
    display = Display(WIDTH, HEIGHT)
    display.update(np.full((HEIGHT, WIDTH), 0x3366CC, dtype=np.uint32))
    harness.call(harness.server.add_interface, display)
    return harness, display


def tls_client(make_client, harness, username, password):
    setup = harness.server.tls_setup
    return make_client(
        None,
        password,
        tls_port=harness.tls_port,
        ca_file=setup.credentials.ca_file,
        host_subject=setup.host_subject,
        username=username,
    )


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, PLAIN])
def test_the_right_password_gets_in_over_tls(
    make_harness, make_client, tmp_path, users, caplog, mechanism
):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness, display = serve(make_harness, tmp_path, Sasl(users, [mechanism]))
    client = tls_client(make_client, harness, "alice", "wonder land")
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    assert logged(caplog, f"SASL {mechanism} login of 'alice'")


def test_spice_gtk_prefers_scram(make_harness, make_client, tmp_path, users, caplog):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness, _ = serve(make_harness, tmp_path, Sasl(users))
    client = tls_client(make_client, harness, "bob", "builder")
    client.wait_ready()
    assert logged(caplog, f"SASL {SCRAM_SHA_256} login of 'bob'")
    assert not logged(caplog, f"SASL {PLAIN} login")


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, PLAIN])
def test_a_wrong_password_is_refused(make_harness, make_client, tmp_path, users, caplog, mechanism):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness, _ = serve(make_harness, tmp_path, Sasl(users, [mechanism]))
    wrong = tls_client(make_client, harness, "alice", "wonderland")
    wrong.wait_for(
        lambda e: e["event"] == "channel" and e["state"] == "error-auth", what="auth refused"
    )
    wait_until(lambda: logged(caplog, "SASL authentication failed"), what="logged reason")
    assert harness.call(lambda: harness.server.session_count) == 0
    unknown = tls_client(make_client, harness, "mallory", "wonder land")
    unknown.wait_for(
        lambda e: e["event"] == "channel" and e["state"] == "error-auth", what="auth refused"
    )
    assert harness.call(lambda: harness.server.session_count) == 0


def test_no_password_in_clear_without_tls(make_harness, make_client, tmp_path, users, caplog):
    """On the plain port PLAIN is not offered, and refused if asked for; spice-gtk, which
    wants a SASL security layer without TLS, declines SCRAM there and so does not get in."""
    caplog.set_level(logging.INFO, logger="spice_server")
    harness, _ = serve(make_harness, tmp_path, Sasl(users), port=0)
    client = make_client(harness.port, "wonder land", username="alice")
    client.wait_for(
        lambda e: e["event"] == "channel" and e["state"].startswith("error"), what="refusal"
    )
    assert harness.call(lambda: harness.server.session_count) == 0

    raw = RawClient(harness.port)
    caps = CLIENT_COMMON_CAPS | {CommonCap.AUTH_SASL}
    raw.send(LinkRequest(0, 1, 0, caps).pack())
    reply = raw.read_reply()
    assert CommonCap.AUTH_SASL in reply.common_caps
    assert CommonCap.AUTH_SPICE not in reply.common_caps
    raw.send(struct.pack("<I", CommonCap.AUTH_SASL))
    (length,) = struct.unpack("<I", raw.sock.recv(4))
    assert raw.sock.recv(length) == SCRAM_SHA_256.encode()  # no PLAIN here
    secret = b"\0alice\0wonder land"
    raw.send(struct.pack("<I", 5) + b"PLAIN" + struct.pack("<I", len(secret) + 1) + secret + b"\0")
    refusal = b"Authentication failed\0"
    answer = b""
    while len(answer) < 13 + len(refusal):
        answer += raw.sock.recv(64)
    # No data, "done"; then the verdict 1 and its message.
    assert answer == struct.pack("<IBII", 0, 1, 1, len(refusal)) + refusal
    assert raw.is_closed_by_server()
    wait_until(lambda: logged(caplog, "PLAIN is not offered without TLS"), what="logged reason")
    assert harness.call(lambda: harness.server.session_count) == 0


def test_a_ticket_is_not_enough_when_sasl_is_on(make_harness, tmp_path, users):
    harness, _ = serve(make_harness, tmp_path, Sasl(users), port=0, password="pw")
    raw = RawClient(harness.port)  # offers no SASL and picks the ticket
    assert raw.link(password="pw") != LinkError.OK
    assert raw.is_closed_by_server()
    assert harness.call(lambda: harness.server.session_count) == 0


def test_the_command_with_sasl(real_client, tmp_path, users):
    server = Command(
        "--port", "off", "--tls-port", "0", "--state-dir", str(tmp_path / "state"),
        "--sasl", "--sasl-users", str(users.path),
    )  # fmt: skip
    try:
        match = server.wait_line(
            r"--spice-ca-file=(\S+) --spice-host-subject='([^']+)'.*tls-port=(\d+)"
        )
        client = GtkClient(
            None,
            "builder",
            tmp_path,
            tls_port=int(match.group(3)),
            ca_file=Path(match.group(1)),
            host_subject=match.group(2),
            username="bob",
        )
        try:
            client.wait_ready()
        finally:
            client.close()
        server.wait_line(r"SASL SCRAM-SHA-256 login of 'bob'")
    finally:
        server.stop()
    refused = subprocess.run(
        [sys.executable, "-m", "spice_server", "demo", "--sasl"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2 and "--sasl needs --sasl-users FILE" in refused.stderr
