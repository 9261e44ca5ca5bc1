"""The char device interface: a byte pipe to a device in the back end, such as a guest agent.

As in libspice-server, the back end implements non-blocking ``write`` and ``read`` and
calls ``wakeup()`` when it has bytes to read. The only subtype served so far is
``"vdagent"``: a real guest agent (spice-vdagent) behind a virtio port or a socket, which
then replaces the server's built-in agent.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from .base import Interface
from .events import DeviceWakeup

SUBTYPES = ("vdagent",)


class CharDeviceInterface(Interface):
    type: ClassVar[str] = "char_device"
    description: ClassVar[str] = "char device"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 3

    def __init__(self, subtype: str = "vdagent", portname: str | None = None) -> None:
        self.subtype = subtype
        self.portname = portname

    @abstractmethod
    def write(self, data: bytes) -> int:
        """Take bytes for the device without blocking; return how many were taken."""

    @abstractmethod
    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes from the device without blocking; b"" when there are none."""

    def state(self, connected: bool) -> None:
        """A client is (or is no longer) connected to the device."""

    def event(self, event: int) -> None:
        """A port event from the client (opened 0, closed 1, break 2)."""

    def wakeup(self) -> None:
        """The device has bytes to read, or room to write again (any thread)."""
        self._changed(DeviceWakeup())
