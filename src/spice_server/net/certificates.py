"""A self-signed set-up for the TLS port when the user brings no certificates.

Made once into a state directory and reused afterwards, so that clients trust it once: a
CA certificate (what clients are given) and a server certificate it signs, under QEMU's
file names so the directory also works as ``--x509-dir``. The CA's private key is thrown
away as soon as the server certificate is signed: nobody, not even this machine, can mint
another certificate that clients trusting this CA would accept.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .tls import TlsCredentials

ORGANIZATION = "spice-server"
VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class SelfSigned:
    """What a client needs to trust the generated set-up."""

    credentials: TlsCredentials
    created: bool
    fingerprint: str  # SHA-256 of the CA certificate, colon-separated hex
    host_subject: str  # the server certificate's subject, as spice-gtk's host-subject


def default_state_dir() -> Path:
    """``$XDG_DATA_HOME/spice-server``, else ``~/.local/share/spice-server``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "spice-server"


def self_signed(state_dir: Path, host: str | None = None) -> SelfSigned:
    """The set-up in ``state_dir/x509``, made first if it is not there yet."""
    directory = state_dir / "x509"
    credentials = TlsCredentials.from_dir(directory)
    created = False
    if not (
        credentials.ca_file and credentials.cert_file.exists() and credentials.key_file.exists()
    ):
        _generate(directory, host or socket.gethostname())  # all three, or a new set
        credentials = TlsCredentials.from_dir(directory)
        created = True
    assert credentials.ca_file is not None
    ca = x509.load_pem_x509_certificate(credentials.ca_file.read_bytes())
    server = x509.load_pem_x509_certificate(credentials.cert_file.read_bytes())
    return SelfSigned(credentials, created, fingerprint(ca), host_subject(server))


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def host_subject(certificate: x509.Certificate) -> str:
    """The subject in the order spice-gtk compares it (``O=...,CN=...``), most general first."""
    return ",".join(
        f"{attribute.rfc4514_attribute_name}={attribute.value!s}"
        for attribute in certificate.subject
    )


def _generate(directory: Path, host: str) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{ORGANIZATION} CA on {host}"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host), x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    server = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                    x509.NameAttribute(NameOID.COMMON_NAME, host),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(directory / "server-key.pem", key_pem, 0o600)
    _write(directory / "server-cert.pem", server.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(directory / "ca-cert.pem", ca.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start: a key is never readable by others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
