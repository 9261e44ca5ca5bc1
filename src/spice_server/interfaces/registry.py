"""The registered devices: which interface kinds exist, their versions, who holds each slot.

The table of kinds is data: each :class:`InterfaceKind` names the class an instance must
be, the version this server implements, and any check of its own. Most kinds have one
slot (one keyboard, one clipboard...); displays are many, keyed by their id. The registry
only records; what registering a device *means* (channels to open, mouse modes, the agent)
is the server's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .base import Interface, InterfaceError
from .char_device import SUBTYPES, CharDeviceInterface
from .clipboard import ClipboardInterface
from .display import Display
from .keyboard import KeyboardInterface
from .mouse import MouseInterface
from .playback import PlaybackInterface
from .record import RecordInterface
from .tablet import TabletInterface

I = TypeVar("I", bound=Interface)  # noqa: E741


@dataclass(frozen=True)
class InterfaceKind(Generic[I]):
    """One interface type: its name (the instance's ``type``), class and version."""

    name: str
    cls: type[I]
    major: int
    minor: int
    check: Callable[[I], None] | None = None

    def accept(self, instance: Interface) -> I:
        """The instance as this kind, or InterfaceError saying why it is not acceptable."""
        if not isinstance(instance, self.cls):
            raise InterfaceError(f"a {self.name} interface must be a {self.cls.__name__}")
        version = f"{instance.major_version}.{instance.minor_version}"
        if instance.major_version != self.major:
            raise InterfaceError(
                f"{self.name} interface version {version}: major version must be {self.major}"
            )
        if instance.minor_version > self.minor:
            raise InterfaceError(
                f"{self.name} interface version {version} is newer than this server's "
                f"{self.major}.{self.minor}"
            )
        if self.check is not None:
            self.check(instance)
        return instance


def _check_char_device(device: CharDeviceInterface) -> None:
    if device.subtype not in SUBTYPES:
        raise InterfaceError(
            f"char device subtype {device.subtype!r} is not served; known: {', '.join(SUBTYPES)}"
        )


KEYBOARD = InterfaceKind("keyboard", KeyboardInterface, 1, 1)
MOUSE = InterfaceKind("mouse", MouseInterface, 1, 1)
TABLET = InterfaceKind("tablet", TabletInterface, 1, 1)
DISPLAY = InterfaceKind("display", Display, 1, 0)
CLIPBOARD = InterfaceKind("clipboard", ClipboardInterface, 1, 0)
CHAR_DEVICE = InterfaceKind("char_device", CharDeviceInterface, 1, 3, _check_char_device)
PLAYBACK = InterfaceKind("playback", PlaybackInterface, 1, 0)
RECORD = InterfaceKind("record", RecordInterface, 1, 0)


class AnyKind(Protocol):
    """Any kind of the table, whatever its class."""

    @property
    def name(self) -> str: ...

    def accept(self, instance: Interface) -> Interface: ...


KINDS: dict[str, AnyKind] = {
    kind.name: kind
    for kind in (KEYBOARD, MOUSE, TABLET, DISPLAY, CLIPBOARD, CHAR_DEVICE, PLAYBACK, RECORD)
}


class DeviceRegistry:
    """The devices the back end registered, as the server and its channels see them."""

    def __init__(self) -> None:
        self._slots: dict[str, Interface] = {}
        self.displays: dict[int, Display] = {}

    def get(self, kind: InterfaceKind[I]) -> I | None:
        found = self._slots.get(kind.name)
        return found if isinstance(found, kind.cls) else None

    @property
    def keyboard(self) -> KeyboardInterface | None:
        return self.get(KEYBOARD)

    @property
    def mouse(self) -> MouseInterface | None:
        return self.get(MOUSE)

    @property
    def tablet(self) -> TabletInterface | None:
        return self.get(TABLET)

    @property
    def clipboard(self) -> ClipboardInterface | None:
        return self.get(CLIPBOARD)

    @property
    def vdagent(self) -> CharDeviceInterface | None:
        return self.get(CHAR_DEVICE)

    @property
    def playback(self) -> PlaybackInterface | None:
        return self.get(PLAYBACK)

    @property
    def record(self) -> RecordInterface | None:
        return self.get(RECORD)

    def add(self, instance: Interface) -> AnyKind:
        """Register; InterfaceError, changing nothing, if the instance cannot be."""
        kind = KINDS.get(getattr(instance, "type", None) or "")
        if kind is None:
            raise InterfaceError(
                f"unknown interface type {getattr(instance, 'type', None)!r}; this server "
                f"knows {', '.join(sorted(KINDS))}"
            )
        kind.accept(instance)
        if isinstance(instance, Display):
            if instance.display_id in self.displays:
                raise InterfaceError(f"a display with id {instance.display_id} is registered")
            self.displays[instance.display_id] = instance
            return kind
        current = self._slots.get(kind.name)
        if current is instance:
            raise InterfaceError(f"this {kind.name} is already registered")
        if current is not None:
            raise InterfaceError(f"a {kind.name} is already registered; remove it first")
        self._slots[kind.name] = instance
        return kind

    def remove(self, instance: Interface) -> AnyKind:
        """Unregister; InterfaceError if this very instance is not registered."""
        kind = KINDS.get(getattr(instance, "type", None) or "")
        if isinstance(instance, Display) and kind is not None:
            if self.displays.get(instance.display_id) is not instance:
                raise InterfaceError("this display is not registered")
            del self.displays[instance.display_id]
            return kind
        if kind is None or self._slots.get(kind.name) is not instance:
            raise InterfaceError(
                f"this {getattr(instance, 'type', '?')} interface is not registered"
            )
        del self._slots[kind.name]
        return kind
