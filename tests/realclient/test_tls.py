"""The TLS port with an unmodified spice-gtk: all channels over TLS, secure channels beside
plain ones, and clients that must refuse us (wrong CA, wrong host subject).

The certificates are the server's own self-signed set-up, made in the test's directory the
way ``--tls-port`` without certificates makes it; the client is given only what the server
prints for remote-viewer (the TLS port, the CA file, the host subject).
"""

from __future__ import annotations

import logging
import socket
import ssl

import numpy as np
import pytest

from spice_server import ChannelEvent, ChannelEventFlags, ConfigurationError, Display
from spice_server.net.certificates import self_signed
from spice_server.protocol.constants import ChannelType, LinkError

from harness import RecordingKeyboard, wait_until
from rawclient import RawClient

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 320, 200


def pattern() -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.uint32)
    return ((x * 255 // WIDTH) << 16) | ((y * 255 // HEIGHT) << 8) | ((x ^ y) & 0xFF)


def serve(make_harness, tmp_path, **options):
    harness = make_harness(state_dir=tmp_path / "state", tls_port=0, **options)
    display = Display(WIDTH, HEIGHT)
    display.update(pattern())
    harness.call(harness.server.add_interface, display)
    keyboard = RecordingKeyboard()
    harness.call(harness.server.add_interface, keyboard)
    return harness, keyboard


def initialized(harness) -> dict[int, ChannelEventFlags]:
    """The TLS flag of every linked channel, by channel type."""
    return {
        e[2]: e[5] & ChannelEventFlags.TLS
        for e in harness.events.snapshot()
        if e[0] == ChannelEvent.INITIALIZED
    }


def trusted_client(make_client, harness, port=None, subject=True):
    """spice-gtk given the TLS port and the CA, and the host subject unless ``subject`` is
    False (then it checks the certificate's names against the host, 127.0.0.1)."""
    setup = harness.server.tls_setup
    return make_client(
        port,
        tls_port=harness.tls_port,
        ca_file=setup.credentials.ca_file,
        host_subject=setup.host_subject if subject else None,
    )


@pytest.mark.parametrize("subject", [True, False], ids=["host-subject", "host-name"])
def test_all_channels_over_tls_only(make_harness, make_client, tmp_path, subject):
    harness, keyboard = serve(make_harness, tmp_path, port=None)
    assert harness.port is None
    client = trusted_client(make_client, harness, subject=subject)
    client.wait_ready()
    client.wait_framebuffer(pattern())
    client.send(cmd="key_press_and_release", scancode=0x1E)
    wait_until(lambda: keyboard.scancodes() == [0x1E, 0x9E], what="key over TLS")
    flags = initialized(harness)
    assert set(flags) >= {ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS}
    assert all(flags.values()), flags


def test_secure_inputs_channel_beside_plain_display(make_harness, make_client, tmp_path):
    harness, keyboard = serve(make_harness, tmp_path, tls_channels=["inputs"])
    client = trusted_client(make_client, harness, harness.port)
    client.wait_ready()
    client.wait_framebuffer(pattern())
    client.send(cmd="key_press_and_release", scancode=0x10)
    wait_until(lambda: keyboard.scancodes() == [0x10, 0x90], what="key over TLS")
    flags = initialized(harness)
    assert flags[ChannelType.INPUTS], "the inputs channel did not arrive over TLS"
    assert not flags[ChannelType.DISPLAY], "the display channel should have stayed plain"
    assert not flags[ChannelType.MAIN]


@pytest.mark.parametrize("mistake", ["ca", "subject"])
def test_a_client_refuses_an_untrusted_server(make_harness, make_client, tmp_path, caplog, mistake):
    harness, _ = serve(make_harness, tmp_path, port=None)
    setup = harness.server.tls_setup
    ca_file, subject = setup.credentials.ca_file, setup.host_subject
    if mistake == "ca":
        ca_file = self_signed(tmp_path / "other").credentials.ca_file
    else:
        subject = "O=spice-server,CN=somebody-else"
    with caplog.at_level(logging.INFO, logger="spice_server"):
        wrong = make_client(None, tls_port=harness.tls_port, ca_file=ca_file, host_subject=subject)
        wrong.wait_for(
            lambda e: e["event"] == "channel" and e["state"].startswith("error"),
            what="the client to refuse the server",
        )
        wait_until(
            lambda: any("TLS handshake failed" in r.getMessage() for r in caplog.records),
            what="the server to log the failed handshake",
        )
    assert harness.call(lambda: harness.server.session_count) == 0
    # The server goes on serving clients that trust it.
    good = trusted_client(make_client, harness)
    good.wait_ready()
    good.wait_framebuffer(pattern())


def test_add_client_serves_a_socket_over_tls(make_harness, tmp_path):
    """libspice's spice_server_add_ssl_client: a socket the caller accepted, TLS first."""
    harness, _ = serve(make_harness, tmp_path, port=None)
    ours, theirs = socket.socketpair()
    harness.call(lambda: harness.server.add_client(ours, tls=True))
    context = ssl.create_default_context(cafile=str(harness.server.tls_setup.credentials.ca_file))
    raw = RawClient(sock=context.wrap_socket(theirs, server_hostname="localhost"))
    assert raw.link() == LinkError.OK
    wait_until(lambda: initialized(harness).get(ChannelType.MAIN), what="main linked over TLS")
    raw.close()
    plain = make_harness(port=None)
    with socket.socket() as unused, pytest.raises(ConfigurationError, match="TLS port"):
        plain.call(lambda: plain.server.add_client(unused, tls=True))
