"""A display client's GLZ window: the images it keeps for later ones to copy from.

spice-gtk keeps the GLZ images it decoded, by id, and a copy in a later one may take its
pixels from any it still keeps (``display/_glz.c``). It waits for an image a copy names,
on the channel that would bring it, and lets go of its window only in the order of ids.
So every GLZ image encoded must reach the client, once, in the order of its id:
- while one is encoded off the loop no other is begun (an echo beside it goes as LZ4 or
  LZ, as without GLZ);
- one encoded for a surface the client no longer has (resized meanwhile) still goes,
  as a draw that shows nothing (``nothing``): spice-gtk decodes the image of such a draw
  all the same, as it must for its window to stay whole;
- the ids go on across the display channels of a session (spice-gtk's window is the
  session's, emptied only when a new one begins), and one display client of a session
  at a time has a window.
"""

from __future__ import annotations

import functools
import logging
from typing import NamedTuple

from ...display import _glz
from ...display.encoding import encode_glz
from ...protocol.messages.codec import ServerMessage
from ...protocol.messages.display import MsgDisplayDrawCopy
from ...protocol.rect import Rect
from ..session import Session
from .cache import KeptBudget
from .stream import PRIMARY_SURFACE, Build, Encode

log = logging.getLogger(__name__)

MAX_WINDOW_PIXELS = 2 * 1024 * 1024  # kept here per client, 8 MB (spice-gtk keeps 12 to 64)
TABLE_BYTES = 3 * 512 * 1024  # the dictionary's hash table beside its ring (_glz.c)
NOWHERE = Rect(0, 0, 0, 0)


class GlzWindow:
    """The GLZ dictionary of one display client, once its DISPLAY_INIT says that it keeps
    a window, none of its session's other displays has it, and the display's ``budget``
    (shared with the screens its clients keep) has room for it."""

    def __init__(self, session: Session, budget: KeptBudget) -> None:
        self.session = session
        self.budget = budget
        self.dictionary: _glz.Dictionary | None = None
        self.held = 0  # bytes taken from the budget
        self.busy = False  # an image is being encoded or waits to be sent

    def open(self, client_pixels: int, lz4: bool) -> None:
        """At DISPLAY_INIT: a client that decodes LZ4 (spice-gtk; spice-html5 decodes
        neither) and keeps a window of ``client_pixels``."""
        if client_pixels <= 0 or not lz4 or self.session.glz_user is not None:
            return
        window = min(client_pixels, MAX_WINDOW_PIXELS)
        if not self.budget.take(window * 4 + TABLE_BYTES):
            log.info("no GLZ for this client: its display's clients hold all they may")
            return
        self.held = window * 4 + TABLE_BYTES
        self.session.glz_user = self
        self.dictionary = _glz.Dictionary(window, first_id=self.session.glz_next_id)

    def close(self) -> None:
        if self.session.glz_user is self:
            self.session.glz_user = None
        self.dictionary = None
        self.budget.used -= self.held
        self.held = 0

    def usable(self) -> bool:
        """Whether an image may be begun now."""
        return self.dictionary is not None and not self.busy

    def begin(self, build: Build) -> GlzImage:
        """For an image about to be encoded (``usable``): its encoder, its draw
        (``build``, marking it sent), and the draw of nothing that carries it when the
        draw is not wanted."""
        assert self.dictionary is not None
        self.busy = True

        def sent(message: Build, data: bytes) -> ServerMessage | None:
            self.busy = False
            self.session.glz_next_id += 1
            return message(data)

        nothing = functools.partial(MsgDisplayDrawCopy, PRIMARY_SURFACE, NOWHERE)
        return GlzImage(
            functools.partial(encode_glz, self.dictionary),
            functools.partial(sent, build),
            functools.partial(sent, nothing),
        )


class GlzImage(NamedTuple):
    """One image's encoder, its draw, and its draw of nothing (``GlzWindow.begin``)."""

    encode: Encode
    build: Build
    nothing: Build
