"""Drives one connection through the link stage, then hands it to whoever owns the channel.

The decisions (is this channel available, is the ticket good, when may it be checked,
does the session exist, what happens once linked) belong to a :class:`LinkPolicy`, the
server; this module only sequences them over the connection and enforces a deadline, so
a client that never finishes cannot hold a slot. A ticket the policy wants checked later
(its address has failed too often) is held until then, under that delay instead of the
deadline. Whether the session a channel names exists is told only after the ticket, so
a guess of a session id learns nothing without the password. With SASL on, the ticket
gives way to a SASL exchange (``protocol.sasl`` frames it, the mechanisms of
``net.sasl`` judge it) under the same deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from ..protocol.constants import CommonCap, LinkError
from ..protocol.errors import RemoteProtocolError
from ..protocol.events import NEED_DATA
from ..protocol.link import (
    AuthMechanismSelected,
    LinkRequest,
    ServerLink,
    TicketReceived,
)
from ..protocol.sasl import SaslStart, ServerSasl
from .connection import Connection
from .sasl import AuthenticationFailed, Mechanism, Sasl

log = logging.getLogger(__name__)

MAX_BUFFERED = 256 * 1024  # bytes a client may send ahead of its link result


class LinkPolicy(Protocol):
    @property
    def public_key(self) -> bytes: ...

    @property
    def common_caps(self) -> frozenset[int]: ...

    def check_request(
        self, request: LinkRequest, connection: Connection
    ) -> tuple[LinkError, Iterable[int]]:
        """OK and the channel's capabilities, or the error to refuse the link with."""
        ...

    def ticket_delay(self, connection: Connection) -> float | None:
        """Seconds before this connection's ticket may be checked; None: refuse it now."""
        ...

    def check_ticket(self, ciphertext: bytes, connection: Connection) -> tuple[LinkError, str]:
        """The ticket's verdict, and a reason for the log when refused."""
        ...

    def check_admission(
        self, request: LinkRequest, connection: Connection
    ) -> tuple[LinkError, str]:
        """After the ticket: whether the named session exists, and room for a new one."""
        ...

    @property
    def sasl(self) -> Sasl | None:
        """SASL instead of tickets, or None."""
        ...

    def linked(self, connection: Connection, link: ServerLink, trailing: bytes) -> None:
        """The result OK has been written: the connection now belongs to the channel."""
        ...

    def handshake_finished(self, handshake: Handshake) -> None:
        """The handshake is over, whichever way it ended."""
        ...


class Handshake:
    def __init__(
        self, connection: Connection, policy: LinkPolicy, timeout_ms: int, skip_auth: bool = False
    ) -> None:
        self.connection = connection
        self.skip_auth = skip_auth
        self.policy = policy
        self.sasl = None if skip_auth else policy.sasl
        self.common_caps = policy.common_caps
        if self.sasl is None:
            self.common_caps = self.common_caps - {CommonCap.AUTH_SASL} | {CommonCap.AUTH_SPICE}
        mechanisms = {CommonCap.AUTH_SASL} if self.sasl is not None else {CommonCap.AUTH_SPICE}
        self.link = ServerLink(auth_mechanisms=mechanisms)
        self._sasl_stage: ServerSasl | None = None
        self._mechanism: Mechanism | None = None
        self._mechanism_name = ""
        self.finished = False
        core = connection.core
        self._timer = core.timer_add(self._timed_out)
        core.timer_start(self._timer, timeout_ms)
        self._held_ticket: bytes | None = None
        self._ticket_timer = core.timer_add(self._check_held_ticket)
        connection.handler = self

    # -- ConnectionHandler ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._sasl_stage is not None:
            self._sasl_received(data)
            return
        if self.link.buffered + len(data) > MAX_BUFFERED:
            self.refuse(LinkError.INVALID_DATA, "too much data ahead of the link result")
            return
        self.link.receive_data(data)
        try:
            while not self.finished:
                event = self.link.next_event()
                if event is NEED_DATA:
                    return
                self._handle(event)
        except RemoteProtocolError as exc:
            self.refuse(exc.link_error, str(exc), logging.WARNING)

    def writable(self) -> None:
        pass

    def connection_lost(self, reason: str) -> None:
        self._finish()

    # -- steps ---------------------------------------------------------------------------

    def _handle(self, event: object) -> None:
        if isinstance(event, LinkRequest):
            error, channel_caps = self.policy.check_request(event, self.connection)
            if error != LinkError.OK:
                self.refuse(
                    error,
                    f"link refused for channel {event.channel_type}:"
                    f"{event.channel_id} ({error.name})",
                )
                return
            self.connection.write(
                self.link.send_reply(self.policy.public_key, self.common_caps, channel_caps)
            )
        elif isinstance(event, AuthMechanismSelected):
            # The link state machine only lets the mechanism we offered through.
            if event.mechanism == CommonCap.AUTH_SASL:
                self._start_sasl()
        elif isinstance(event, TicketReceived) and self.sasl is not None:
            self.refuse(LinkError.PERMISSION_DENIED, "SASL is required; the client sent a ticket")
        elif isinstance(event, TicketReceived):
            if self.skip_auth:
                self._admit()
                return
            delay = self.policy.ticket_delay(self.connection)
            if delay is None:
                self._fail(LinkError.PERMISSION_DENIED, "too many wrong tickets from its address")
            elif delay > 0:
                core = self.connection.core
                core.timer_cancel(self._timer)  # the delay bounds the wait now
                self._held_ticket = event.ciphertext
                self.connection.pause_reading(True)  # nothing it sends now is needed
                core.timer_start(self._ticket_timer, max(1, int(delay * 1000)))
            else:
                self._check_ticket(event.ciphertext)

    def _check_held_ticket(self, opaque: object) -> None:
        ticket, self._held_ticket = self._held_ticket, None
        if ticket is not None and not self.finished:
            self.connection.pause_reading(False)
            self._check_ticket(ticket)

    def _check_ticket(self, ciphertext: bytes) -> None:
        error, reason = self.policy.check_ticket(ciphertext, self.connection)
        if error != LinkError.OK:
            self._fail(error, f"authentication failed: {reason}")
        else:
            self._admit()

    def _admit(self) -> None:
        request = self.link.request
        assert request is not None
        error, reason = self.policy.check_admission(request, self.connection)
        if error != LinkError.OK:
            self._fail(error, reason)
            return
        self.connection.write(self.link.send_result(LinkError.OK))
        self._finish()
        self.policy.linked(self.connection, self.link, self.link.trailing_data())

    def _fail(self, error: LinkError, reason: str) -> None:
        self.connection.write(self.link.send_result(error))
        self._close(reason, logging.WARNING, flush=True)

    # -- SASL ----------------------------------------------------------------------------

    def _start_sasl(self) -> None:
        assert self.sasl is not None
        stage = self._sasl_stage = ServerSasl()
        offered = self.sasl.offered(self.connection.tls is not None)
        self.connection.write(stage.send_mechanisms(offered))
        self._sasl_received(self.link.sasl_started())

    def _sasl_received(self, data: bytes) -> None:
        stage, sasl = self._sasl_stage, self.sasl
        assert stage is not None and sasl is not None
        stage.receive_data(data)
        try:
            while not self.finished and (event := stage.next_event()) is not NEED_DATA:
                if isinstance(event, SaslStart):
                    self._mechanism = sasl.start(event.mechanism, self.connection.tls is not None)
                    self._mechanism_name = event.mechanism
                assert self._mechanism is not None
                answer = self._mechanism.step(event.data)
                self.connection.write(stage.send_answer(answer.data, answer.done))
                if answer.done:
                    self._sasl_succeeded(stage)
        except RemoteProtocolError as exc:
            self._close(f"SASL: {exc}", logging.WARNING)
        except AuthenticationFailed as exc:
            if not stage.done:
                self.connection.write(stage.send_answer(None, True))
            self.connection.write(stage.send_verdict(False))
            self._close(f"SASL authentication failed: {exc}", logging.WARNING, flush=True)

    def _sasl_succeeded(self, stage: ServerSasl) -> None:
        assert self._mechanism is not None
        log.info(
            "%s: SASL %s login of %r",
            self.connection.name,
            self._mechanism_name,
            self._mechanism.username,
        )
        self.link.sasl_succeeded(stage.trailing_data())
        self.connection.write(stage.send_verdict(True) + self.link.send_result(LinkError.OK))
        self._finish()
        self.policy.linked(self.connection, self.link, self.link.trailing_data())

    def refuse(self, error: LinkError, reason: str, level: int = logging.INFO) -> None:
        self.connection.write(self.link.send_error(error))
        self._close(reason, level, flush=True)

    def _close(self, reason: str, level: int = logging.INFO, flush: bool = False) -> None:
        self._finish()
        self.connection.close(reason, level, flush=flush)

    def _timed_out(self, opaque: object) -> None:
        self._close("link handshake timed out", logging.WARNING)

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.connection.core.timer_remove(self._timer)
        self.connection.core.timer_remove(self._ticket_timer)
        if self.connection.handler is self:
            self.connection.handler = None
        self.policy.handshake_finished(self)
