"""The listening socket: accepts clients through a core watch and hands them on."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable

from ..core.base import Core, EventMask

log = logging.getLogger(__name__)

ACCEPT_PAUSE_MS = 200  # when out of file descriptors, wait before accepting again


class Listener:
    def __init__(
        self, core: Core, sock: socket.socket, on_accept: Callable[[socket.socket], None]
    ) -> None:
        self.core = core
        self.sock = sock
        self._on_accept = on_accept
        sock.setblocking(False)
        self._watch = core.watch_add(sock.fileno(), EventMask.READ, self._accept)
        self._resume = core.timer_add(self._resume_accepting)

    @classmethod
    def bind(
        cls, core: Core, addr: str, port: int, on_accept: Callable[[socket.socket], None]
    ) -> Listener:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        sock = socket.create_server((addr, port), family=family, backlog=128)
        return cls(core, sock, on_accept)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def close(self) -> None:
        self.core.watch_remove(self._watch)
        self.core.timer_remove(self._resume)
        self.sock.close()

    def _accept(self, fd: int, events: EventMask, opaque: object) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("cannot accept clients for now: %s", exc)
                    self.core.watch_update_mask(self._watch, EventMask(0))
                    self.core.timer_start(self._resume, ACCEPT_PAUSE_MS)
                else:
                    log.warning("accept failed: %s", exc)
                return
            try:
                self._on_accept(client)
            except Exception:
                log.exception("could not set up a client connection")
                client.close()

    def _resume_accepting(self, opaque: object) -> None:
        self.core.watch_update_mask(self._watch, EventMask.READ)
