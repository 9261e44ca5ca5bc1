"""Who may change the X screen's size: the resize policy, and the size given back.

A client's window size is a wish, not an order: on a display someone sits in front of
(``--display :0``), or any X server others share, following it would change their screen.
So by default (``virtual``) the screen follows clients only when spice-server started the
X server itself (``spice-server session``); ``always`` follows them anywhere, ``never``
nowhere. When the last client leaves, a size the clients changed goes back to what it was
when the back end started, unless told to leave it.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

log = logging.getLogger(__name__)

ResizePolicy = Literal["always", "virtual", "never"]
RESIZE_POLICIES: tuple[ResizePolicy, ...] = ("always", "virtual", "never")


class Resizable(Protocol):
    """The screen as the policy sees it: RandR's side (randr.ScreenSize)."""

    def resize(self, width: int, height: int) -> bool | None: ...

    def current(self) -> tuple[int, int]: ...


class SizeKeeper:
    """Passes clients' size requests on to ``screen`` as the policy allows, and gives the
    original size back when no client is left."""

    def __init__(
        self,
        screen: Resizable,
        original: tuple[int, int],
        policy: ResizePolicy = "virtual",
        *,
        started_here: bool = False,
        restore: bool = True,
    ) -> None:
        """``original``: the size to give back; ``started_here``: the X server is one
        spice-server started (and nobody else looks at); ``restore``: give the original
        size back when the last client leaves."""
        if policy not in RESIZE_POLICIES:
            raise ValueError(f"resize policy {policy!r}: one of {', '.join(RESIZE_POLICIES)}")
        self.screen = screen
        self.policy = policy
        self.follows = policy == "always" or (policy == "virtual" and started_here)
        self.restore = restore
        self.original = original
        self.changed = False  # a client changed the size since clients last left
        self._refusal_logged = False

    def resize(self, width: int, height: int) -> bool:
        """A client asks for width x height; True if the screen is being changed."""
        if not self.follows:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.info(
                    "a client asked for a %dx%d screen: the X screen keeps its size, as the "
                    "resize policy %r says for a display spice-server did not start "
                    "(--resize always lets clients resize it)",
                    width,
                    height,
                    self.policy,
                )
            return False
        if self.screen.resize(width, height):
            self.changed = True
            return True
        return False

    def clients_left(self) -> None:
        """No client is connected any more: give the screen its original size back."""
        if not self.changed:
            return
        self.changed = False
        if not self.restore or self.screen.current() == self.original:
            return
        width, height = self.original
        if self.screen.resize(width, height):
            log.info("the last client left: the X screen goes back to %dx%d", width, height)
