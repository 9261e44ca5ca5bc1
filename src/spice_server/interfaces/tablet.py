"""The tablet interface: absolute pointer positions, used in client mouse mode."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from .base import Interface


class TabletInterface(Interface):
    """Receives absolute positions while the client is in client mouse mode.

    Registering a tablet is what makes client mouse mode available. Positions are in pixels
    of the display given by ``display_id``; ``set_logical_size`` is called with the size of
    display 0 whenever it is known or changes. Buttons and wheel as in ``MouseInterface``.
    """

    type: ClassVar[str] = "tablet"
    description: ClassVar[str] = "tablet"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 1

    def set_logical_size(self, width: int, height: int) -> None:
        """The size of the area positions refer to."""

    @abstractmethod
    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        """The pointer is at (x, y) of display ``display_id``."""

    @abstractmethod
    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        """The wheel turned: -1 up, +1 down."""

    @abstractmethod
    def buttons(self, buttons_state: int) -> None:
        """The set of pressed buttons changed."""
