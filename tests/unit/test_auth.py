"""Tickets: RSA-1024 OAEP/SHA-1 as the protocol requires, constant-time compare, expiry."""

from __future__ import annotations

from spice_server.net.auth import TicketAuthority, encrypt_ticket
from spice_server.protocol.constants import LinkError

from fakes import FakeClock


def test_public_key_is_a_162_byte_rsa_1024_spki() -> None:
    key = TicketAuthority("x").public_key
    assert len(key) == 162
    assert key.startswith(bytes.fromhex("30819f300d06092a864886f70d010101050003818d00308189028181"))


def test_right_and_wrong_passwords() -> None:
    auth = TicketAuthority("s3cret")
    assert auth.check(encrypt_ticket(auth.public_key, "s3cret")) == (LinkError.OK, "")
    assert auth.check(encrypt_ticket(auth.public_key, "s3cre")) == (
        LinkError.PERMISSION_DENIED,
        "wrong password",
    )
    assert auth.check(bytes(128))[0] == LinkError.PERMISSION_DENIED
    other = TicketAuthority("s3cret")  # another key: its tickets do not decrypt here
    assert (
        auth.check(encrypt_ticket(other.public_key, "s3cret"))[1] == "the ticket does not decrypt"
    )


def test_no_password_lets_anyone_in_and_tickets_can_be_changed() -> None:
    auth = TicketAuthority(None)
    assert not auth.enabled
    assert auth.check(bytes(128)) == (LinkError.OK, "")
    auth.set_ticket("new")
    assert auth.enabled
    assert auth.check(encrypt_ticket(auth.public_key, "new"))[0] == LinkError.OK


def test_tickets_expire() -> None:
    clock = FakeClock()
    auth = TicketAuthority("pw", lifetime=0.05, clock=clock)
    ticket = encrypt_ticket(auth.public_key, "pw")
    clock.time += 0.049
    assert auth.check(ticket)[0] == LinkError.OK
    clock.time += 0.002
    assert auth.check(ticket) == (LinkError.PERMISSION_DENIED, "the ticket has expired")


def test_a_ticket_shifted_by_a_lost_leading_zero_still_opens() -> None:
    """spice-html5 drops the ciphertext's leading zero bytes and pads at the end instead."""
    auth = TicketAuthority("s3cret")
    ticket = encrypt_ticket(auth.public_key, "s3cret")
    while ticket[0] != 0:  # about one in 256
        ticket = encrypt_ticket(auth.public_key, "s3cret")
    as_sent = ticket[1:] + b"\0"
    assert auth.check(as_sent) == (LinkError.OK, "")
    wrong = encrypt_ticket(auth.public_key, "other")
    while wrong[0] != 0:
        wrong = encrypt_ticket(auth.public_key, "other")
    assert auth.check(wrong[1:] + b"\0") == (LinkError.PERMISSION_DENIED, "wrong password")
