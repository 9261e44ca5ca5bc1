"""The copies (COPY_BITS) a display client has yet to send, and what may go before them.

A frame of a pan reaches the client as a copy and then the draws of what the copy did not
explain. Over a slow link those arrive a few ms apart and the client shows each state in
between. Where something fixed sits over the moving content (a player's controls, a map's
buttons, a clock), the copy first carries it along with the content and the draw that
puts it back comes later: it flickers. A clipped copy leaves such holes alone, and a draw
into a hole that the copy does not read from for what it writes may then go *before* the
copy: the two show together, as one frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ...display.framebuffer import CopyOp
from ...display.region import difference
from ...protocol.messages.display import MsgDisplayCopyBits
from ...protocol.rect import Rect
from .stream import PRIMARY_SURFACE

MAX_WAITING_COPIES = 8
MAX_DRAWS_BEFORE = 8  # pieces drawn before a copy: more are left for after it
MAX_PIECES = 32  # pieces the search for them may hold at once


class WaitingCopies:
    """Copies in order, each to go before any later draw.

    ``honours_clips``: whether the client applies a copy's clip (spice-gtk does;
    spice-html5 copies the whole box, so nothing may be drawn before a copy for it).
    """

    def __init__(self, honours_clips: bool) -> None:
        self.honours_clips = honours_clips
        self._copies: deque[MsgDisplayCopyBits] = deque()

    def __bool__(self) -> bool:
        return bool(self._copies)

    def __len__(self) -> int:
        return len(self._copies)

    def full(self) -> bool:
        return len(self._copies) >= MAX_WAITING_COPIES

    def add(self, op: CopyOp) -> None:
        copy = MsgDisplayCopyBits(PRIMARY_SURFACE, op.dest, op.src_x, op.src_y, op.clip)
        self._copies.append(copy)

    def clear(self) -> None:
        self._copies.clear()

    def popleft(self) -> MsgDisplayCopyBits:
        return self._copies.popleft()

    def draws_before(self, dirty: Iterable[Rect]) -> list[Rect]:
        """The parts of ``dirty`` (what the client will be sent after every waiting copy)
        that may be drawn before the next copy instead: inside its box, outside its clip
        and outside the places it reads for its clip. Only for the last copy waiting:
        the pixels drawn are read now, after every move taken."""
        if not self.honours_clips or len(self._copies) != 1 or not self._copies[0].clip:
            return []
        copy = self._copies[0]
        dx, dy = copy.box.left - copy.src_x, copy.box.top - copy.src_y
        read = [r.translated(-dx, -dy) for r in copy.clip]
        pieces: list[Rect] = []
        for rect in dirty:
            inside = rect.intersect(copy.box)
            if inside.is_empty():
                continue
            found = difference(inside, [*copy.clip, *read], MAX_PIECES)
            if found is None:
                continue
            pieces.extend(found)
            if len(pieces) > MAX_DRAWS_BEFORE:
                return []
        return pieces
