"""The listening sockets: the plain port, the TLS port, and the rule about who may reach them.

Either port may be off (``None``); clients can then still come through
``Server.add_client``. The TLS context is made when the server is configured, so a bad
certificate, key or cipher list fails at once, before anything listens.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from .config import ConfigurationError, ServerConfig
from .core.base import Core
from .net.addresses import connect_uris
from .net.certificates import SelfSigned, default_state_dir, self_signed
from .net.exposure import exposure_refusal
from .net.listener import Listener
from .net.tls import TlsCredentials, TlsSetupError, server_context

log = logging.getLogger(__name__)

Accept = Callable[[socket.socket, bool], None]  # a client socket, and whether it is TLS


class Ports:
    def __init__(
        self,
        config: ServerConfig,
        credentials: TlsCredentials | None,
        ciphers: str | None,
        state_dir: Path | None,
    ) -> None:
        """Without ``credentials`` a TLS port uses the self-signed set-up in ``state_dir``."""
        self.config = config
        self.self_signed: SelfSigned | None = None
        self.tls_context: ssl.SSLContext | None = None
        self.credentials = credentials
        self._plain: Listener | None = None
        self._tls: Listener | None = None
        if config.tls_port is None:
            return
        if credentials is None:
            self.self_signed = self_signed(state_dir or default_state_dir())
            self.credentials = self.self_signed.credentials
            if self.self_signed.created:
                log.info("made a self-signed TLS set-up in %s", self.credentials.cert_file.parent)
        assert self.credentials is not None
        try:
            self.tls_context = server_context(self.credentials, ciphers)
        except TlsSetupError as exc:
            raise ConfigurationError(str(exc)) from None

    def open(self, core: Core, accept: Accept, *, password: bool) -> None:
        """Bind both ports, or neither: a port in use leaves nothing open, ready to retry."""
        config = self.config
        if config.port is None and config.tls_port is None:
            return
        self.check_exposure(password=password)
        if config.port is not None:
            self._plain = Listener.bind(
                core, config.addr, config.port, lambda sock: accept(sock, False)
            )
            log.info("listening on %s:%d", *self._plain.address)
        if config.tls_port is not None:
            try:
                self._tls = Listener.bind(
                    core, config.addr, config.tls_port, lambda sock: accept(sock, True)
                )
            except OSError:
                self.close()
                raise
            log.info("listening for TLS on %s:%d", *self._tls.address)

    def close(self) -> None:
        for listener in (self._plain, self._tls):
            if listener is not None:
                listener.close()
        self._plain = self._tls = None

    @property
    def listening(self) -> bool:
        return self._plain is not None or self._tls is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._plain is None:
            raise ConfigurationError("the server is not listening on a plain port")
        return self._plain.address

    @property
    def tls_address(self) -> tuple[str, int]:
        if self._tls is None:
            raise ConfigurationError("the server is not listening on a TLS port")
        return self._tls.address

    def uri(self) -> str:
        """The address as remote-viewer takes it: ``spice://host:port?tls-port=N``."""
        return self.uris()[0]

    def uris(self) -> list[str]:
        """The URIs clients can connect to, with both ports; for a wildcard address, one
        per address of this machine (those other machines can reach first, loopback last)."""
        listener = self._plain or self._tls
        if listener is None:
            raise ConfigurationError("the server is not listening")
        return connect_uris(
            listener.address[0],
            None if self._plain is None else self._plain.address[1],
            None if self._tls is None else self._tls.address[1],
        )

    def check_exposure(self, *, password: bool) -> None:
        refusal = exposure_refusal(
            self.config.addr,
            password=password,
            tls=self.config.tls_port is not None,
            allow_insecure=self.config.allow_insecure,
        )
        if refusal is not None:
            raise ConfigurationError(refusal)
