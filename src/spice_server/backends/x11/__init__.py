"""The x11 back end: export an existing X display (see ``desktop``)."""

from .connection import X11Error
from .desktop import X11Desktop

__all__ = ["X11Desktop", "X11Error"]
