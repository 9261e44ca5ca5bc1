"""SASL sans I/O: the exchange's framing, PLAIN, SCRAM-SHA-256 (RFC 7677's own example),
the password file, and which mechanisms are offered with and without TLS."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest

from spice_server.net.sasl import (
    PLAIN,
    SCRAM_SHA_256,
    AuthenticationFailed,
    PasswordFile,
    Plain,
    Sasl,
    ScramSha256,
)
from spice_server.protocol.errors import LocalProtocolError, RemoteProtocolError
from spice_server.protocol.events import NEED_DATA
from spice_server.protocol.sasl import SaslStart, SaslStep, ServerSasl

USERS = {"user": "pencil", "alice": "wonder land"}


def block(data: bytes | None) -> bytes:
    return struct.pack("<I", 0) if data is None else struct.pack("<I", len(data) + 1) + data + b"\0"


def test_the_exchange_framing_byte_by_byte() -> None:
    stage = ServerSasl()
    assert stage.send_mechanisms(["SCRAM-SHA-256", "PLAIN"]) == b"\x13\0\0\0SCRAM-SHA-256,PLAIN"
    wire = struct.pack("<I", 5) + b"PLAIN" + block(b"\0alice\0pw")
    for byte in wire[:-1]:
        stage.receive_data(bytes([byte]))
        assert stage.next_event() is NEED_DATA
    stage.receive_data(wire[-1:] + b"extra")
    assert stage.next_event() == SaslStart("PLAIN", b"\0alice\0pw")
    assert stage.next_event() is NEED_DATA  # nothing is read until the server answered
    assert stage.send_answer(b"abc", False) == b"\x04\0\0\0abc\0\x00"
    stage.receive_data(b"")
    with pytest.raises(RemoteProtocolError):  # "extra" is no block: its length is absurd
        stage.next_event()


def test_no_data_is_not_empty_data() -> None:
    stage = ServerSasl()
    stage.send_mechanisms(["SCRAM-SHA-256"])
    stage.receive_data(struct.pack("<I", 13) + b"SCRAM-SHA-256" + block(None))
    assert stage.next_event() == SaslStart("SCRAM-SHA-256", None)
    stage.send_answer(None, False)
    stage.receive_data(block(b""))
    assert stage.next_event() == SaslStep(b"")
    assert stage.send_answer(None, True) == b"\0\0\0\0\x01"
    assert stage.send_verdict(True) == b"\0\0\0\0"
    assert stage.trailing_data() == b""
    with pytest.raises(LocalProtocolError):
        stage.send_answer(None, True)


@pytest.mark.parametrize(
    "wire",
    [
        struct.pack("<I", 0),  # an empty mechanism name
        struct.pack("<I", 101) + b"A" * 101,
        struct.pack("<I", 5) + b"pl\0in" + block(None),
        struct.pack("<I", 5) + b"PLAIN" + struct.pack("<I", 1 << 30),
    ],
)
def test_bad_blocks_are_protocol_errors(wire: bytes) -> None:
    stage = ServerSasl()
    stage.send_mechanisms(["PLAIN"])
    stage.receive_data(wire)
    with pytest.raises(RemoteProtocolError):
        stage.next_event()


def test_scram_sha_256_rfc_7677_example() -> None:
    server = ScramSha256(
        USERS.get,
        nonce="%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="),
    )
    first = server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first.data == (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert not first.done
    final = server.step(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final.done and final.data == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert server.username == "user"


def test_scram_refuses_a_wrong_proof_an_unknown_user_and_channel_binding() -> None:
    nonce, salt = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    final = (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    wrong = ScramSha256({"user": "pencils"}.get, nonce=nonce, salt=salt)
    wrong.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    with pytest.raises(AuthenticationFailed, match="wrong password"):
        wrong.step(final)
    unknown = ScramSha256({}.get, nonce=nonce, salt=salt)
    assert not unknown.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").done  # looks the same
    with pytest.raises(AuthenticationFailed):
        unknown.step(final)
    with pytest.raises(AuthenticationFailed, match="channel binding"):
        ScramSha256(USERS.get).step(b"p=tls-unique,,n=user,r=abc")
    with pytest.raises(AuthenticationFailed, match="may not act as"):
        ScramSha256(USERS.get).step(b"n,a=root,n=user,r=abc")


def test_plain() -> None:
    assert Plain(USERS.get).step(b"\0alice\0wonder land").done
    assert Plain(USERS.get).step(b"alice\0alice\0wonder land").done
    for message in (b"\0alice\0wonderland", b"\0mallory\0x", b"root\0alice\0wonder land", b"x"):
        with pytest.raises(AuthenticationFailed):
            Plain(USERS.get).step(message)


def test_plain_is_offered_and_accepted_only_over_tls() -> None:
    sasl = Sasl(PasswordFileLike())
    assert sasl.offered(tls=True) == (SCRAM_SHA_256, PLAIN)
    assert sasl.offered(tls=False) == (SCRAM_SHA_256,)
    with pytest.raises(AuthenticationFailed, match="PLAIN is not offered without TLS"):
        sasl.start(PLAIN, tls=False)
    assert isinstance(sasl.start(PLAIN, tls=True), Plain)
    with pytest.raises(AuthenticationFailed, match="not offered"):
        Sasl(PasswordFileLike(), [SCRAM_SHA_256]).start(PLAIN, tls=True)
    with pytest.raises(ValueError):
        Sasl(PasswordFileLike(), ["DIGEST-MD5"])


class PasswordFileLike:
    def password(self, username: str) -> str | None:
        return USERS.get(username)


def test_password_file(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# comment\nalice:wonder land\nbob:a:b\n\nnocolon\n")
    path.chmod(0o600)
    users = PasswordFile(path)
    assert users.password("alice") == "wonder land"
    assert users.password("bob") == "a:b"
    assert users.password("nocolon") is None
    path.write_text("alice:changed\n")
    assert users.password("alice") == "changed"  # read at each login
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        PasswordFile(path)
