"""The command's options for being reached across a network: ports, TLS, secrets, .vv files.

The names are QEMU's ``-spice`` options and the Xspice launcher's, so that set-ups and
habits carry over. Secrets never have to be on the command line, where every local user
reads them (``ps``): the password comes from a file only its owner can read, or from the
environment; ``--password`` still works, with a warning.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from .config import ConfigurationError
from .net.certificates import host_subject
from .net.sasl import PasswordFile, Sasl
from .net.tls import TlsCredentials
from .server import Server
from .vvfile import ConnectionFile

log = logging.getLogger("spice_server.cli")

PASSWORD_ENV = "SPICE_PASSWORD"


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--addr", default="127.0.0.1", help="address to listen on")
    sub.add_argument(
        "--port", type=_port_or_off, default=5900, help="plain port, or 'off' (default 5900)"
    )
    sub.add_argument("--tls-port", type=int, default=None, help="TLS port (QEMU's tls-port)")
    sub.add_argument(
        "--x509-dir",
        type=Path,
        help="directory with ca-cert.pem, server-cert.pem and server-key.pem",
    )
    sub.add_argument("--x509-cert-file", type=Path, help="the server certificate (PEM)")
    sub.add_argument("--x509-key-file", type=Path, help="the server certificate's key (PEM)")
    sub.add_argument(
        "--x509-cacert-file",
        "--cacert-file",  # the Xspice launcher's name
        type=Path,
        dest="x509_cacert_file",
        help="the CA clients trust (PEM)",
    )
    sub.add_argument("--tls-ciphers", default=None, help="OpenSSL cipher list for TLS 1.2")
    sub.add_argument(
        "--tls-channel",
        action="append",
        default=[],
        metavar="CHANNELS",
        help="channels that must use TLS: main,display,inputs,cursor,playback,record or all",
    )
    sub.add_argument(
        "--plaintext-channel",
        action="append",
        default=[],
        metavar="CHANNELS",
        help="channels that must not use TLS",
    )
    sub.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the self-signed TLS set-up is kept (default $XDG_DATA_HOME/spice-server)",
    )
    sub.add_argument(
        "--password-file",
        type=Path,
        help="read the password from FILE (only its owner may read it)",
    )
    sub.add_argument(
        "--password",
        default=None,
        help=f"password (visible to every local user: prefer --password-file or {PASSWORD_ENV})",
    )
    sub.add_argument(
        "--ticket-expiry", type=float, default=None, metavar="SECONDS", help="password lifetime"
    )
    sub.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback address without a password or TLS, and WebSocket clients "
        "from any web page without a password",
    )
    sub.add_argument(
        "--sasl",
        action="store_true",
        help="clients log in with SASL (SCRAM-SHA-256; PLAIN too over TLS) instead of the password",
    )
    sub.add_argument(
        "--sasl-users",
        type=Path,
        metavar="FILE",
        help="username:password lines for --sasl (only its owner may read it)",
    )
    sub.add_argument("--vv-file", type=Path, help="write a remote-viewer connection file")
    sub.add_argument(
        "--print-vv", action="store_true", help="print a remote-viewer connection file"
    )
    sub.add_argument(
        "--vv-password", action="store_true", help="put the password in the .vv file too"
    )


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Server keywords these options stand for; ConfigurationError when they are wrong."""
    tls: TlsCredentials | None = None
    files = (args.x509_cert_file, args.x509_key_file)
    if args.x509_dir is not None and any(files):
        raise ConfigurationError("give --x509-dir or the --x509-*-file options, not both")
    if args.x509_dir is not None:
        tls = TlsCredentials.from_dir(args.x509_dir)
        if args.x509_cacert_file is not None:
            tls = TlsCredentials(tls.cert_file, tls.key_file, args.x509_cacert_file)
    elif any(files):
        if not all(files):
            raise ConfigurationError("--x509-cert-file and --x509-key-file go together")
        tls = TlsCredentials(args.x509_cert_file, args.x509_key_file, args.x509_cacert_file)
    if tls is not None and args.tls_port is None:
        raise ConfigurationError("certificates are for the TLS port: give --tls-port")
    if args.port is None and args.tls_port is None:
        raise ConfigurationError("--port off needs a --tls-port")
    password = read_password(args)
    return {
        "addr": args.addr,
        "port": args.port,
        "tls_port": args.tls_port,
        "tls": tls,
        "tls_ciphers": args.tls_ciphers,
        "tls_channels": _names(args.tls_channel),
        "plaintext_channels": _names(args.plaintext_channel),
        "state_dir": args.state_dir,
        "password": password,
        "sasl": _sasl(args, password),
        "ticket_lifetime": args.ticket_expiry,
        "allow_insecure": args.insecure,
    }


def _sasl(args: argparse.Namespace, password: str | None) -> Sasl | None:
    if args.sasl_users is not None and not args.sasl:
        raise ConfigurationError("--sasl-users is for --sasl")
    if not args.sasl:
        return None
    if args.sasl_users is None:
        raise ConfigurationError("--sasl needs --sasl-users FILE (username:password lines)")
    if password is not None:
        raise ConfigurationError("with --sasl clients log in by user name: give no password")
    try:
        return Sasl(PasswordFile(args.sasl_users))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None


def read_password(args: argparse.Namespace) -> str | None:
    """From --password-file, $SPICE_PASSWORD or --password (one of them at most)."""
    given = [
        name
        for name, value in (
            ("--password-file", args.password_file),
            (PASSWORD_ENV, os.environ.get(PASSWORD_ENV)),
            ("--password", args.password),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigurationError(f"give one password, not {' and '.join(given)}")
    if args.password_file is not None:
        return _password_from_file(args.password_file)
    password = os.environ.pop(PASSWORD_ENV, None)  # not passed on to child processes
    if password is not None:
        return password
    if args.password is not None:
        log.warning(
            "--password is visible to every user of this machine (ps); use --password-file "
            "FILE or %s instead",
            PASSWORD_ENV,
        )
    return args.password


def _password_from_file(path: Path) -> str:
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigurationError(
                    f"the password file {path} can be read by other users "
                    f"(mode {stat.filemode(mode)}); make it private: chmod 600 {path}"
                )
            data = f.read(4097)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the password file {path}: {exc}") from None
    if len(data) > 4096:
        raise ConfigurationError(f"the password file {path} is longer than 4096 bytes")
    password = data.decode("utf-8", "replace").rstrip("\r\n")
    if not password:
        raise ConfigurationError(f"the password file {path} is empty")
    return password


def announce(server: Server, args: argparse.Namespace, options: dict[str, Any]) -> None:
    """Say where the server is (for a wildcard address, each address of the machine) and
    how a client trusts it; write or print the .vv file."""
    uri, *others = server.uris()
    setup = server.tls_setup
    client_options = ""
    if setup is not None:
        ca = setup.credentials.ca_file
        assert ca is not None  # the self-signed set-up always has its CA
        made = "made" if setup.created else "kept"
        print(f"TLS: a self-signed CA and server certificate are {made} in {ca.parent}")
        print(f"TLS: CA certificate SHA-256 fingerprint {setup.fingerprint}")
        client_options = f" --spice-ca-file={ca} --spice-host-subject='{setup.host_subject}'"
    elif options["tls"] is not None and options["tls"].ca_file is not None:
        client_options = f" --spice-ca-file={options['tls'].ca_file}"
    print(f"Connect with: remote-viewer{client_options} '{uri}'", flush=True)
    for other in others:
        print(f"          or: remote-viewer{client_options} '{other}'", flush=True)
    if args.vv_file is None and not args.print_vv:
        return
    password = options["password"] if args.vv_password else None
    vv = connection_file(server, options.get("tls"), args.tls_channel, password)
    if args.vv_file is not None:
        vv.write(args.vv_file)
        print(f"remote-viewer connection file: {args.vv_file}", flush=True)
    if args.print_vv:
        sys.stdout.write(vv.render())
        sys.stdout.flush()


def connection_file(
    server: Server,
    credentials: TlsCredentials | None,
    tls_channels: list[str],
    password: str | None,
) -> ConnectionFile:
    """What remote-viewer needs to reach ``server`` (a wildcard address: this host's name)."""
    config = server.config
    host = socket.getfqdn() if config.addr in ("0.0.0.0", "::", "") else config.addr
    ca_pem = subject = None
    if config.tls_port is not None:
        setup = server.tls_setup
        if setup is not None:
            credentials = setup.credentials
        if credentials is not None:
            if credentials.ca_file is not None:
                ca_pem = credentials.ca_file.read_text()
            subject = host_subject(
                x509.load_pem_x509_certificate(credentials.cert_file.read_bytes())
            )
    return ConnectionFile(
        host=host,
        port=server.address[1] if config.port is not None else None,
        tls_port=server.tls_address[1] if config.tls_port is not None else None,
        ca_pem=ca_pem,
        host_subject=subject,
        secure_channels=tuple(_names(tls_channels)),
        password=password,
        title=config.name,
    )


def _names(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _port_or_off(text: str) -> int | None:
    if text.lower() == "off":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number or 'off'") from None
