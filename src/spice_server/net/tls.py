"""TLS on a connection: the standard ``ssl`` module over memory buffers, sans I/O.

A TLS port speaks the same link protocol as the plain one, inside TLS. The connection
keeps reading and writing its non-blocking socket on the core's watches; this module only
turns the bytes that arrive into plaintext and the plaintext to send into records, with
``ssl.SSLObject`` on two ``MemoryBIO``s. So the handshake is driven by the loop like any
other input and never blocks it, and a client that stops half way holds nothing but its
slot among the unfinished link handshakes (which the admission bounds and times out).

The context allows TLS 1.2 and newer only and refuses renegotiation (a client asking for
it gets an alert, and its connection ends): renegotiation has carried attacks and nothing
in SPICE needs it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from ..protocol.errors import RemoteProtocolError

READ_SIZE = 256 * 1024


class TlsSetupError(ValueError):
    """The certificate, key or cipher list cannot be used."""


@dataclass(frozen=True)
class TlsCredentials:
    """The server's certificate chain and key, and the CA clients trust (QEMU's three files).

    ``ca_file`` is what clients are given to verify us; the server itself verifies no
    client certificates, as libspice does not.
    """

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None

    @classmethod
    def from_dir(cls, directory: Path) -> TlsCredentials:
        """``ca-cert.pem``, ``server-cert.pem`` and ``server-key.pem``, as QEMU expects them."""
        ca = directory / "ca-cert.pem"
        return cls(
            directory / "server-cert.pem", directory / "server-key.pem", ca if ca.exists() else None
        )


def server_context(credentials: TlsCredentials, ciphers: str | None = None) -> ssl.SSLContext:
    """A server-side context: TLS >= 1.2, no renegotiation, no compression, our certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= (
        ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    )
    if ciphers:
        try:
            context.set_ciphers(ciphers)
        except ssl.SSLError:
            raise TlsSetupError(f"no usable cipher in the TLS cipher list {ciphers!r}") from None
    try:
        context.load_cert_chain(credentials.cert_file, credentials.key_file)
    except FileNotFoundError as exc:
        raise TlsSetupError(f"TLS certificate or key missing: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise TlsSetupError(
            f"cannot use the TLS certificate {credentials.cert_file} with the key "
            f"{credentials.key_file}: {exc}"
        ) from None
    return context


class TlsTransport:
    """One connection's TLS state: records in, plaintext out; plaintext in, records out."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.handshake_done = False
        self.peer_closed = False

    @property
    def version(self) -> str | None:
        return self._tls.version()

    def receive_data(self, data: bytes) -> bytes:
        """The plaintext that ``data`` completes; raises RemoteProtocolError on bad TLS."""
        self._incoming.write(data)
        try:
            if not self.handshake_done:
                try:
                    self._tls.do_handshake()
                except ssl.SSLWantReadError:
                    return b""
                self.handshake_done = True
            chunks = []
            while True:
                try:
                    chunk = self._tls.read(READ_SIZE)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self.peer_closed = True
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        except ssl.SSLError as exc:
            stage = "TLS handshake failed" if not self.handshake_done else "TLS session failed"
            raise RemoteProtocolError(f"{stage}: {exc.reason or exc}") from None

    def send(self, data: bytes | bytearray | memoryview) -> bytes:
        """The TLS records carrying ``data`` (and anything else waiting to go out)."""
        view = memoryview(data).cast("B")
        while view:
            written = self._tls.write(view)
            view = view[written:]
        return self._outgoing.read()

    def data_to_send(self) -> bytes:
        """Records the TLS layer produced on its own: handshake messages and alerts."""
        return self._outgoing.read()
