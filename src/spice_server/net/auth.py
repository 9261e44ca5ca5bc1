"""Ticket authentication: the server's RSA key and the password check.

The client encrypts ``password + NUL`` with the 1024-bit RSA public key of the link reply,
using OAEP with SHA-1, as the protocol requires. The key is made once per server.

spice-html5 writes its ciphertext as a number without its leading zero bytes and fills the
128-byte field from the left, so about one ticket in 256 arrives shifted, with zeros at the
end: a ticket that does not decrypt and ends in zeros is tried again shifted back.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..core.clock import Clock, SystemClock
from ..protocol.constants import TICKET_PUBKEY_BYTES, LinkError

_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


class TicketAuthority:
    """Holds the RSA key and the current ticket (password and optional expiry)."""

    def __init__(
        self, password: str | None = None, lifetime: float | None = None, clock: Clock | None = None
    ) -> None:
        self._clock = clock or SystemClock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert len(self.public_key) == TICKET_PUBKEY_BYTES
        self._password: bytes | None = None
        self._expires: float | None = None
        self.set_ticket(password, lifetime)

    @property
    def enabled(self) -> bool:
        """Whether a password is required at all."""
        return self._password is not None

    def set_ticket(self, password: str | None, lifetime: float | None = None) -> None:
        """Require ``password`` (None: no password) for new links, for ``lifetime`` seconds."""
        self._password = None if password is None else password.encode()
        self._expires = None if lifetime is None else self._clock.now() + lifetime

    def check(self, ciphertext: bytes) -> tuple[LinkError, str]:
        """The link result for an encrypted ticket, and a reason for the log when refused."""
        if self._password is None:
            return LinkError.OK, ""
        if self._expires is not None and self._clock.now() > self._expires:
            return LinkError.PERMISSION_DENIED, "the ticket has expired"
        plaintext = self._decrypt(ciphertext)
        if plaintext is None:
            return LinkError.PERMISSION_DENIED, "the ticket does not decrypt"
        given = plaintext.split(b"\0", 1)[0]
        if not hmac.compare_digest(given, self._password):
            return LinkError.PERMISSION_DENIED, "wrong password"
        return LinkError.OK, ""

    def _decrypt(self, ciphertext: bytes) -> bytes | None:
        """The plaintext, trying a ticket shifted by a browser's lost leading zeros (at most
        three: one ticket in 16 million loses more), or None."""
        for shift in range(4):
            if shift and ciphertext[-shift:] != bytes(shift):
                return None
            try:
                return self._key.decrypt(
                    bytes(shift) + ciphertext[: len(ciphertext) - shift], _OAEP
                )
            except ValueError:
                continue
        return None


def encrypt_ticket(public_key_der: bytes, password: str) -> bytes:
    """Encrypt a ticket as a client does, with the key from a link reply (tests and tools)."""
    key = serialization.load_der_public_key(public_key_der)
    assert isinstance(key, rsa.RSAPublicKey)
    return key.encrypt(password.encode() + b"\0", _OAEP)
