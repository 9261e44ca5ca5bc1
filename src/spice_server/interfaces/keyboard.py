"""The keyboard interface: scancode bytes in, lock-key LEDs out."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from ..protocol.constants import KeyboardModifier
from .base import Interface
from .events import LedsChanged


class KeyboardInterface(Interface):
    """Implement ``push_scan_freq`` to receive the client's keys.

    Keys arrive as PC/XT scan code set 1 bytes, one call per byte: ``0x1e`` presses A,
    ``0x9e`` releases it; extended keys come as ``0xe0`` then the code (``e0 1d`` is right
    Ctrl). libspice spells the callback ``push_scan_freg``.

    The lock-key LEDs (``KeyboardModifier`` flags) are read with ``get_leds``; a back end
    either overrides it or calls ``set_leds`` when its LEDs change, which also tells the
    connected clients (from any thread).
    """

    type: ClassVar[str] = "keyboard"
    description: ClassVar[str] = "keyboard"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 1

    _leds: KeyboardModifier = KeyboardModifier(0)

    @abstractmethod
    def push_scan_freq(self, frag: int) -> None:
        """One scancode byte from the client."""

    def get_leds(self) -> KeyboardModifier:
        """The current lock-key LEDs."""
        return self._leds

    def set_leds(self, leds: int) -> None:
        """Tell the server (and so the clients) that the LEDs are now ``leds``."""
        self._leds = KeyboardModifier(leds)
        self._changed(LedsChanged())
