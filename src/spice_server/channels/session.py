"""A session: one client's set of channel connections, tied by the session id (a RedClient).

The client opens MAIN first (connection id 0) and learns the session id from MAIN_INIT;
each other channel links with that id. When MAIN goes, the whole session goes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Member(Protocol):
    """One channel connection of the session (a channel client)."""

    @property
    def channel_key(self) -> tuple[int, int]:
        """(channel type, channel id)."""
        ...

    def close(self, reason: str) -> None: ...


class Session:
    def __init__(self, session_id: int, on_closed: Callable[[Session], None] | None = None) -> None:
        self.id = session_id
        self._on_closed = on_closed
        self.main: Member | None = None
        self.clients: list[Member] = []
        self.closed = False
        #: When (clock seconds) the client last sent keyboard or pointer input: while the
        #: user interacts, its channels keep less in flight so that echoes come promptly.
        self.last_input = -math.inf
        #: The client's GLZ window (channels/display/glz.py): the id of the next image it
        #: gets, and which display client's GlzWindow sends them (one at a time).
        self.glz_next_id = 0
        self.glz_user: object | None = None

    def add(self, client: Member) -> None:
        self.clients.append(client)

    def remove(self, client: Member) -> None:
        if client in self.clients:
            self.clients.remove(client)
        if client is self.main:
            self.main = None
            self.close("main channel closed")

    def find(self, channel_type: int, channel_id: int) -> Member | None:
        for client in self.clients:
            if client.channel_key == (channel_type, channel_id):
                return client
        return None

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        log.info("session %08x ended: %s", self.id, reason)
        for client in list(self.clients):
            client.close(reason)
        if self._on_closed is not None:
            self._on_closed(self)
