"""TLS sans I/O: the server's TlsTransport against a client SSLObject, bytes handed across
in memory; the self-signed set-up; which channels must be secure; the .vv file; passwords."""

from __future__ import annotations

import argparse
import contextlib
import logging
import ssl
import stat
from pathlib import Path

import pytest

from spice_server import cli_network
from spice_server.config import ConfigurationError, ServerConfig, channel_security_setting
from spice_server.net.certificates import self_signed
from spice_server.net.exposure import exposure_refusal
from spice_server.net.tls import TlsCredentials, TlsTransport, server_context
from spice_server.protocol.constants import ChannelType
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.vvfile import ConnectionFile


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    return self_signed(tmp_path_factory.mktemp("state"), "testhost")


class Client:
    """A TLS client on memory BIOs, as spice-gtk would be on the other end of the socket."""

    def __init__(self, ca_file: Path, hostname: str = "localhost", **versions) -> None:
        context = ssl.create_default_context(cafile=str(ca_file))
        for name, value in versions.items():
            setattr(context, name, value)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)

    def step(self) -> bytes:
        with contextlib.suppress(ssl.SSLWantReadError):
            self.tls.do_handshake()
        return self.outgoing.read()


def handshake(client: Client, server: TlsTransport) -> None:
    for _ in range(10):
        data = client.step()
        if data:
            assert server.receive_data(data) == b""
        client.incoming.write(server.data_to_send())
        if server.handshake_done:
            client.step()
            return
    raise AssertionError("the handshake did not finish")


def test_handshake_then_data_both_ways(setup) -> None:
    server = TlsTransport(server_context(setup.credentials))
    client = Client(setup.credentials.ca_file)
    handshake(client, server)
    assert server.version in ("TLSv1.2", "TLSv1.3")
    client.tls.write(b"REDQ" + bytes(100))
    assert server.receive_data(client.outgoing.read()) == b"REDQ" + bytes(100)
    big = bytes(range(256)) * 4000
    client.incoming.write(server.send(big))
    received = b""
    while len(received) < len(big):
        received += client.tls.read(len(big))
    assert received == big


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_older_than_1_2_is_refused(setup) -> None:
    server = TlsTransport(server_context(setup.credentials))
    client = Client(
        setup.credentials.ca_file,
        minimum_version=ssl.TLSVersion.TLSv1_1,
        maximum_version=ssl.TLSVersion.TLSv1_1,
    )
    client.tls.context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that the client can offer it
    with pytest.raises(RemoteProtocolError, match="UNSUPPORTED_PROTOCOL"):
        handshake(client, server)


def test_garbage_before_the_hello_is_a_protocol_error(setup) -> None:
    server = TlsTransport(server_context(setup.credentials))
    with pytest.raises(RemoteProtocolError, match="TLS handshake failed"):
        server.receive_data(b"REDQ\x02\x00\x00\x00" + bytes(64))


def test_the_certificate_names_the_host_and_loopback(setup) -> None:
    assert setup.host_subject == "O=spice-server,CN=testhost"
    for hostname in ("testhost", "localhost", "127.0.0.1"):
        handshake(
            Client(setup.credentials.ca_file, hostname),
            TlsTransport(server_context(setup.credentials)),
        )
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(
            Client(setup.credentials.ca_file, "elsewhere"),
            TlsTransport(server_context(setup.credentials)),
        )


def test_the_set_up_is_made_once_with_a_private_key(tmp_path: Path) -> None:
    first = self_signed(tmp_path)
    second = self_signed(tmp_path)
    assert first.created and not second.created
    assert first.fingerprint == second.fingerprint and len(first.fingerprint) == 95
    assert stat.S_IMODE(first.credentials.key_file.stat().st_mode) == 0o600
    (tmp_path / "x509" / "ca-cert.pem").unlink()  # an incomplete set is made anew
    third = self_signed(tmp_path)
    assert third.created and third.fingerprint != first.fingerprint
    assert sorted(p.name for p in (tmp_path / "x509").iterdir()) == [
        "ca-cert.pem", "server-cert.pem", "server-key.pem"
    ]  # fmt: skip


def test_bad_certificates_and_ciphers_fail_at_configuration(setup, tmp_path: Path) -> None:
    from spice_server import Server

    with pytest.raises(ConfigurationError, match="missing"):
        Server(port=0, tls_port=0, tls=TlsCredentials(tmp_path / "no.pem", tmp_path / "no.key"))
    with pytest.raises(ConfigurationError, match="cipher"):
        Server(port=0, tls_port=0, tls=setup.credentials, tls_ciphers="NO-SUCH-CIPHER")
    with pytest.raises(ConfigurationError, match="--tls-port"):
        Server(port=0, tls_channels=["inputs"])


def test_channel_security() -> None:
    secure, plain, everything = channel_security_setting(["inputs", "main"], ["display"])
    config = ServerConfig(
        tls_port=0, tls_channels=secure, plaintext_channels=plain, tls_by_default=everything
    )
    assert config.channel_security(ChannelType.INPUTS) == "tls"
    assert config.channel_security(ChannelType.DISPLAY) == "plain"
    assert config.channel_security(ChannelType.CURSOR) == "any"
    secure, _, everything = channel_security_setting(["all"], [])
    assert everything and not secure
    assert ServerConfig(tls_port=0, tls_by_default=True).channel_security(3) == "tls"
    with pytest.raises(ConfigurationError, match="unknown channel"):
        channel_security_setting(["keyboard"], [])
    with pytest.raises(ConfigurationError, match="both"):
        ServerConfig(tls_port=0, tls_channels=frozenset({3}), plaintext_channels=frozenset({3}))


def test_exposure_needs_a_password_or_tls() -> None:
    refusal = exposure_refusal("0.0.0.0", password=False)
    assert refusal and "--password-file" in refusal and "--tls-port" in refusal
    assert exposure_refusal("0.0.0.0", password=False, tls=True) is None
    assert exposure_refusal("0.0.0.0", password=True) is None
    assert exposure_refusal("127.0.0.1", password=False) is None


def test_vv_file_escapes_and_is_private(tmp_path: Path) -> None:
    vv = ConnectionFile(
        "host", 5900, 5901, "A\nB\n", "O=x,CN=y", ("main", "inputs"), password="p\\w"
    )
    text = vv.render()
    assert text.startswith("[virt-viewer]\ntype=spice\nhost=host\nport=5900\ntls-port=5901\n")
    assert "ca=A\\nB\\n\n" in text and "secure-channels=main;inputs\n" in text
    assert "password=p\\\\w\n" in text
    path = tmp_path / "c.vv"
    path.write_text("old")
    path.chmod(0o644)
    vv.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == text
    assert "password" not in ConnectionFile("host", 5900).render()


def _args(**values) -> argparse.Namespace:
    defaults = {"password_file": None, "password": None}
    return argparse.Namespace(**{**defaults, **values})


def test_passwords(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.delenv("SPICE_PASSWORD", raising=False)
    path = tmp_path / "pw"
    path.write_text("hunter2\n")
    path.chmod(0o600)
    assert cli_network.read_password(_args(password_file=path)) == "hunter2"
    path.chmod(0o604)
    with pytest.raises(ConfigurationError, match="can be read by other users"):
        cli_network.read_password(_args(password_file=path))
    monkeypatch.setenv("SPICE_PASSWORD", "from-env")
    assert cli_network.read_password(_args()) == "from-env"
    monkeypatch.setenv("SPICE_PASSWORD", "again")
    with pytest.raises(ConfigurationError, match="one password"):
        cli_network.read_password(_args(password="x"))
    monkeypatch.delenv("SPICE_PASSWORD")
    with caplog.at_level(logging.WARNING):
        assert cli_network.read_password(_args(password="x")) == "x"
    assert "visible to every user" in caplog.text
    (tmp_path / "empty").write_text("")
    (tmp_path / "empty").chmod(0o600)
    with pytest.raises(ConfigurationError, match="empty"):
        cli_network.read_password(_args(password_file=tmp_path / "empty"))


def test_the_command_line_maps_to_server_keywords(tmp_path: Path, monkeypatch) -> None:
    from spice_server import cli

    monkeypatch.delenv("SPICE_PASSWORD", raising=False)
    args = cli._parser().parse_args(
        [
            "demo", "--port", "off", "--tls-port", "5999", "--ticket-expiry", "30",
            "--tls-channel", "main,inputs", "--tls-channel", "cursor",
            "--plaintext-channel", "display", "--state-dir", str(tmp_path),
        ]
    )  # fmt: skip
    options = cli_network.server_options(args)
    assert options["port"] is None and options["tls_port"] == 5999
    assert options["ticket_lifetime"] == 30.0
    assert options["tls_channels"] == ["main", "inputs", "cursor"]
    assert options["plaintext_channels"] == ["display"]
    assert options["state_dir"] == tmp_path and options["tls"] is None
    assert options["password"] is None and options["sasl"] is None
