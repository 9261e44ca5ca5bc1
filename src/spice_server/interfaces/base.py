"""What every device interface has: a type, a description and a version.

As in libspice-server, the caller registers interface instances with
``Server.add_interface``. The server supports one version per type; an instance whose major
version differs, or whose minor version is newer than the server's, is refused, because its
callbacks may not mean what the server expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from .events import Change


class InterfaceError(ValueError):
    """An interface instance cannot be added or removed (unknown type, wrong version...)."""


Notify = Callable[["Interface", Change], None]


class Interface:
    """Base of all device interfaces.

    ``_notify`` is set by the server while the instance is registered. ``_changed(event)``
    tells it that some state of the instance changed; it may be called from any thread, and
    the server picks the change up on its own loop.
    """

    type: ClassVar[str]
    description: ClassVar[str] = ""
    major_version: ClassVar[int]
    minor_version: ClassVar[int]

    _notify: Notify | None = None

    def _changed(self, event: Change) -> None:
        notify = self._notify
        if notify is not None:
            notify(self, event)
