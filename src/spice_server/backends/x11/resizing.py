"""Who may change the X screen's size: the resize policy, and the size given back.

A client's window size is a wish, not an order: on a display someone sits in front of
(``--display :0``), or any X server others share, following it would change their screen.
So by default (``virtual``) the screen follows clients only when spice-server started the
X server itself (``spice-server session``); ``always`` follows them anywhere, ``never``
nowhere; monitors are the same question (several monitors are a layout of the screen).
When the last client leaves, a screen the clients changed goes back to the single size it
had when the back end started, unless told to leave it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal, Protocol

from ...protocol.agent import MonitorConfig

log = logging.getLogger(__name__)

ResizePolicy = Literal["always", "virtual", "never"]
RESIZE_POLICIES: tuple[ResizePolicy, ...] = ("always", "virtual", "never")


class Resizable(Protocol):
    """The screen as the policy sees it: RandR's side (randr.ScreenSize)."""

    max_monitors: int

    def configure(self, monitors: Sequence[MonitorConfig]) -> bool | None: ...

    def resize(self, width: int, height: int) -> bool: ...

    def current(self) -> tuple[int, int]: ...


class SizeKeeper:
    """Passes clients' monitors configs on to ``screen`` as the policy allows, and gives
    the original single size back when no client is left."""

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
        self.changed = False  # a client changed the screen since clients last left
        self._refusal_logged = False

    @property
    def max_monitors(self) -> int:
        """How many monitors clients may ask for: one where they may not change the screen."""
        return self.screen.max_monitors if self.follows else 1

    def configure(self, monitors: Sequence[MonitorConfig]) -> bool:
        """A client asks for these monitors; True if the screen now shows them all."""
        if not self.follows:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.info(
                    "a client asked for a %s screen: the X screen keeps its size, as the "
                    "resize policy %r says for a display spice-server did not start "
                    "(--resize always lets clients resize it)",
                    _name(monitors),
                    self.policy,
                )
            return False
        # Even a refused layout may have lit some of the outputs: give it all back later.
        self.changed = True
        return bool(self.screen.configure(monitors))

    def clients_left(self) -> None:
        """No client is connected any more: give the screen its original size back, as one
        monitor (outputs clients lit go dark)."""
        if not self.changed:
            return
        self.changed = False
        if not self.restore:
            return
        was = self.screen.current()
        width, height = self.original
        if self.screen.resize(width, height) and was != self.original:
            log.info("the last client left: the X screen goes back to %dx%d", width, height)


def _name(monitors: Sequence[MonitorConfig]) -> str:
    """``WxH`` for one monitor, ``WxH+X+Y, ...`` for several."""
    if len(monitors) == 1:
        return f"{monitors[0].width}x{monitors[0].height}"
    return ", ".join(f"{m.width}x{m.height}+{m.x}+{m.y}" for m in monitors)
