"""SASL authentication: PLAIN and SCRAM-SHA-256, implemented here, checked by a back end.

Why these two, and not the Cyrus server library: spice-gtk's Cyrus client asks, on a
connection without TLS, for a SASL security layer of at least 56 bits (and refuses PLAIN);
of Debian's ``libsasl2-modules`` only DIGEST-MD5 (obsolete since RFC 6331) and GSSAPI
(Kerberos) give one, and a security layer would have to wrap every byte of the session.
TLS is the encryption this server offers, so SASL is for who may log in: over TLS
spice-gtk takes SCRAM-SHA-256 (RFC 7677; the password never crosses the wire) or PLAIN
(RFC 4616; the password is sent, inside TLS). Without TLS only SCRAM-SHA-256 is offered
(spice-gtk still declines it there, wanting a security layer) and PLAIN is refused. Both are
a few lines with ``hashlib`` and ``hmac``; a binding to the Cyrus server library would add
a C dependency, its configuration files and its password database for the same result.

Credentials come from a :class:`SaslCredentials` back end: one method that gives a user's
password, or None. :class:`PasswordFile` is a ready one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SCRAM_SHA_256 = "SCRAM-SHA-256"
PLAIN = "PLAIN"
MECHANISMS = (SCRAM_SHA_256, PLAIN)
NEEDS_TLS = frozenset({PLAIN})  # mechanisms that send the password itself
SCRAM_ITERATIONS = 4096  # RFC 7677's minimum; each attempt costs the server this much


class SaslCredentials(Protocol):
    """The back end that knows the users."""

    def password(self, username: str) -> str | None:
        """The user's password, or None for an unknown user."""
        ...


class AuthenticationFailed(Exception):
    """The client's credentials were wrong or its messages malformed: the reason is logged."""


@dataclass(frozen=True)
class Answer:
    """What to send back: the server's data, and whether the exchange succeeded (it is
    over) or goes on."""

    data: bytes | None
    done: bool


class Mechanism(Protocol):
    username: str | None

    def step(self, data: bytes | None) -> Answer:
        """The next server answer; raises AuthenticationFailed."""
        ...


class Sasl:
    """Which mechanisms a connection may use, and a fresh mechanism for one exchange."""

    def __init__(
        self, credentials: SaslCredentials, mechanisms: Iterable[str] = MECHANISMS
    ) -> None:
        self.credentials = credentials
        self.mechanisms = tuple(mechanisms)
        unknown = set(self.mechanisms) - set(MECHANISMS)
        if unknown or not self.mechanisms:
            raise ValueError(f"SASL mechanisms are chosen from {', '.join(MECHANISMS)}")

    def offered(self, tls: bool) -> tuple[str, ...]:
        return tuple(m for m in self.mechanisms if tls or m not in NEEDS_TLS)

    def start(self, name: str, tls: bool) -> Mechanism:
        if name not in self.offered(tls):
            why = " without TLS" if name in NEEDS_TLS and name in self.mechanisms else ""
            raise AuthenticationFailed(f"SASL mechanism {name} is not offered{why}")
        if name == PLAIN:
            return Plain(self.credentials.password)
        return ScramSha256(self.credentials.password)


class Plain:
    """RFC 4616: one message, ``authzid NUL authcid NUL password``."""

    def __init__(self, lookup: Callable[[str], str | None]) -> None:
        self._lookup = lookup
        self.username: str | None = None

    def step(self, data: bytes | None) -> Answer:
        if data is None:
            return Answer(b"", False)  # no initial response: ask for it
        parts = data.split(b"\0")
        if len(parts) != 3:
            raise AuthenticationFailed("malformed PLAIN message")
        authzid, authcid, given = (p.decode("utf-8", "replace") for p in parts)
        self.username = authcid
        if authzid and authzid != authcid:
            raise AuthenticationFailed(f"{authcid!r} may not act as {authzid!r}")
        _check(self._lookup(authcid), given, authcid)
        return Answer(None, True)


class ScramSha256:
    """RFC 5802 with SHA-256 (RFC 7677), without channel binding: two round trips."""

    def __init__(
        self,
        lookup: Callable[[str], str | None],
        nonce: str | None = None,
        salt: bytes | None = None,
    ) -> None:
        self._lookup = lookup
        self._nonce = nonce or secrets.token_urlsafe(18)
        self._salt = salt or os.urandom(16)
        self.username: str | None = None
        self._state = "first"
        self._messages: tuple[str, str] = ("", "")
        self._gs2 = ""
        self._salted = b""
        self._known = False

    def step(self, data: bytes | None) -> Answer:
        try:
            text = (data or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationFailed("SCRAM message is not UTF-8") from None
        if self._state == "first":
            return self._first(text)
        if self._state == "final":
            return self._final(text)
        raise AuthenticationFailed("SCRAM exchange already over")

    def _first(self, text: str) -> Answer:
        match = re.fullmatch(r"([ny]),(a=[^,]*)?,(n=[^,]*,r=[\x21-\x2b\x2d-\x7e]+(?:,.*)?)", text)
        if match is None:
            raise AuthenticationFailed("malformed SCRAM client-first message (or channel binding)")
        self._gs2 = text[: len(match.group(1)) + len(match.group(2) or "") + 2]
        bare = match.group(3)
        fields = _fields(bare)
        self.username = _unescape(fields["n"])
        authzid = _unescape(match.group(2)[2:]) if match.group(2) else ""
        if authzid and authzid != self.username:
            raise AuthenticationFailed(f"{self.username!r} may not act as {authzid!r}")
        password = self._lookup(self.username)
        # An unknown user goes through the same steps (with a random password), so the
        # answer does not tell whether the user exists.
        self._known = password is not None
        secret = password if password is not None else secrets.token_hex(16)
        self._nonce = fields["r"] + self._nonce
        salt = base64.b64encode(self._salt).decode()
        server_first = f"r={self._nonce},s={salt},i={SCRAM_ITERATIONS}"
        self._salted = hashlib.pbkdf2_hmac("sha256", secret.encode(), self._salt, SCRAM_ITERATIONS)
        self._messages = (bare, server_first)
        self._state = "final"
        return Answer(server_first.encode(), False)

    def _final(self, text: str) -> Answer:
        self._state = "over"
        without_proof, sep, proof = text.rpartition(",p=")
        if not sep:
            raise AuthenticationFailed("SCRAM client-final message without a proof")
        fields = _fields(without_proof)
        if fields.get("c") != base64.b64encode(self._gs2.encode()).decode():
            raise AuthenticationFailed("SCRAM channel binding does not match")
        if fields.get("r") != self._nonce:
            raise AuthenticationFailed("SCRAM nonce does not match")
        auth_message = ",".join((*self._messages, without_proof)).encode()
        client_key = _hmac(self._salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        signature = _hmac(stored_key, auth_message)
        try:
            given = base64.b64decode(proof, validate=True)
        except ValueError:
            raise AuthenticationFailed("SCRAM proof is not base64") from None
        recovered = bytes(a ^ b for a, b in zip(given, signature, strict=False))
        matches = len(given) == len(signature) and hmac.compare_digest(
            hashlib.sha256(recovered).digest(), stored_key
        )
        if not (matches and self._known):
            raise AuthenticationFailed(f"wrong password for {self.username!r}")
        server_signature = _hmac(_hmac(self._salted, b"Server Key"), auth_message)
        return Answer(b"v=" + base64.b64encode(server_signature), True)


class PasswordFile:
    """``username:password`` lines in a file only its owner may read; read at each login,
    so changes apply to the next one."""

    MAX_BYTES = 1024 * 1024

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read()  # fail at start, not at the first login

    def password(self, username: str) -> str | None:
        return self._read().get(username)

    def _read(self) -> dict[str, str]:
        with self.path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise PermissionError(
                    f"the SASL password file {self.path} can be read by other users "
                    f"(mode {stat.filemode(mode)}); make it private: chmod 600 {self.path}"
                )
            data = f.read(self.MAX_BYTES + 1)
        if len(data) > self.MAX_BYTES:
            raise ValueError(f"the SASL password file {self.path} is too long")
        users: dict[str, str] = {}
        for line in data.decode("utf-8", "replace").splitlines():
            name, sep, password = line.partition(":")
            if sep and name and not name.startswith("#"):
                users[name] = password
        return users


def _check(expected: str | None, given: str, username: str) -> None:
    # Compare even for an unknown user, so the time taken does not tell.
    ok = hmac.compare_digest((expected or "\0").encode(), given.encode())
    if expected is None or not ok:
        raise AuthenticationFailed(f"wrong password or unknown user {username!r}")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise AuthenticationFailed(f"malformed SCRAM attribute {part[:20]!r}")
        fields.setdefault(key, value)
    return fields


def _unescape(name: str) -> str:
    if re.search(r"=(?!2C|3D)", name):
        raise AuthenticationFailed("malformed SCRAM user name")
    return name.replace("=2C", ",").replace("=3D", "=")
