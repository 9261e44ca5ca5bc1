"""The mouse interface: relative motion, used in server mouse mode."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from .base import Interface


class MouseInterface(Interface):
    """Receives relative pointer motion and buttons while the client is in server mouse mode.

    ``buttons_state`` is a ``ButtonMask`` (LEFT 1, MIDDLE 2, RIGHT 4, SIDE 32, EXTRA 64);
    the wheel comes as ``dz`` (-1 up, +1 down).
    """

    type: ClassVar[str] = "mouse"
    description: ClassVar[str] = "mouse"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 1

    @abstractmethod
    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        """The pointer moved by (dx, dy) and/or the wheel by dz."""

    @abstractmethod
    def buttons(self, buttons_state: int) -> None:
        """The set of pressed buttons changed."""
