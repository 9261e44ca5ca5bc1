"""The two ways a protocol exchange goes wrong: the peer broke the rules, or we did."""

from __future__ import annotations

from .constants import LinkError


class ProtocolError(Exception):
    """Base of every protocol violation."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids; the connection must be closed.

    ``link_error`` is the SpiceLinkErr to send back while still in the link stage.
    """

    def __init__(self, message: str, link_error: LinkError = LinkError.INVALID_DATA) -> None:
        super().__init__(message)
        self.link_error = link_error


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol (or the state machine's state) forbids."""
