"""The clipboard interface: what the built-in agent needs from a back end to share clipboards.

The SPICE clipboard is lazy on both sides: an owner *grabs* a selection with the types it
can give, and data moves only when someone *requests* a type. A back end implements the
``client_*`` callbacks (the client's side of that exchange) and calls ``grab``,
``release``, ``request`` and ``send_data`` for its own side, from any thread.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import ClassVar

from ..protocol.agent import ClipboardSelection, ClipboardType
from .base import Interface
from .events import ClipboardData, ClipboardGrab, ClipboardRelease, ClipboardRequest


class ClipboardInterface(Interface):
    """Selections are ``ClipboardSelection`` values, types ``ClipboardType`` values."""

    type: ClassVar[str] = "clipboard"
    description: ClassVar[str] = "clipboard"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 0

    # -- the client's side (called by the server, on its loop) ---------------------------

    @abstractmethod
    def client_grab(self, selection: ClipboardSelection, types: list[ClipboardType]) -> None:
        """A client has new content for ``selection`` in these types."""

    @abstractmethod
    def client_release(self, selection: ClipboardSelection) -> None:
        """The client's content for ``selection`` is gone."""

    @abstractmethod
    def client_request(self, selection: ClipboardSelection, clip_type: ClipboardType) -> None:
        """A client wants our content; answer with ``send_data`` (now or later)."""

    @abstractmethod
    def client_data(
        self, selection: ClipboardSelection, clip_type: ClipboardType, data: bytes
    ) -> None:
        """The client's content, answering our ``request``; empty if it had none."""

    # -- our side (called by the back end, any thread) -----------------------------------

    def grab(self, selection: ClipboardSelection, types: Iterable[ClipboardType]) -> None:
        """We have new content for ``selection`` in these types."""
        self._changed(ClipboardGrab(selection, tuple(types)))

    def release(self, selection: ClipboardSelection) -> None:
        self._changed(ClipboardRelease(selection))

    def request(self, selection: ClipboardSelection, clip_type: ClipboardType) -> None:
        """Ask the client that owns ``selection`` for its content (see ``client_data``)."""
        self._changed(ClipboardRequest(selection, clip_type))

    def send_data(
        self, selection: ClipboardSelection, clip_type: ClipboardType, data: bytes
    ) -> None:
        """Our content, answering a ``client_request``."""
        self._changed(ClipboardData(selection, clip_type, bytes(data)))
