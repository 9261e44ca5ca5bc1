"""The x11 back end: export an existing X display (see ``desktop``)."""

from .desktop import X11Desktop, X11Error

__all__ = ["X11Desktop", "X11Error"]
