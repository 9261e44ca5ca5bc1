"""The pixels of one display, shared between the back end's thread and the server's loop.

The back end writes; the server reads rectangles out when a client is ready for them. A
lock guards the array, held only for copies, so neither side waits on the other's work.
Every write records damage; the server takes the damage and spreads it to its clients.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..protocol.rect import Rect
from .damage import marked_rects
from .motion import STILL, explained_box, find_motion
from .region import Region, difference, subtract

MAX_CLIP_RECTS = 16  # a copy whose unwritten holes need more pieces writes all its box


@dataclass(frozen=True)
class CopyOp:
    """Pixels moved within the surface: ``dest`` now holds what was at (src_x, src_y).

    ``clip``: the parts of ``dest`` the copy writes (empty: all of it). The rest is drawn
    anew by the damage that follows the copy, so a client need not move stale pixels there
    (a fixed overlay over panning content would show a ghost of itself meanwhile).
    """

    dest: Rect
    src_x: int
    src_y: int
    serial: int = field(default=0, compare=False)  # the framebuffer's count of moves
    clip: tuple[Rect, ...] = field(default=(), compare=False)

    @property
    def src(self) -> Rect:
        return Rect.from_size(self.src_x, self.src_y, self.dest.width, self.dest.height)


DamageOp = Rect | CopyOp


@dataclass(frozen=True)
class Damage:
    """What changed, taken at once: mostly rectangles; a CopyOp where content moved,
    which clients must apply in this order relative to the rectangles around it.

    ``moves`` is the framebuffer's count of moves when it was taken: pixels read later
    that show more moves than that are ahead of the damage a client was given.
    ``changes`` counts every change so far: damage no newer than a whole screen a client
    was sent is in that screen already. ``seen``: what the moves' writes changed, cut in
    bands as other writes are, for the stream detector (the rectangles sent are cut
    apart around each copy; see ``Framebuffer.write``).
    """

    generation: int
    ops: list[DamageOp]
    moves: int
    changes: int
    seen: list[Rect] = field(default_factory=list)


class Framebuffer:
    """A (height, width) uint32 array of 0xXXRRGGBB pixels (B, G, R, X in memory)."""

    def __init__(self, width: int, height: int) -> None:
        _check_size(width, height)
        self._lock = threading.Lock()
        self._pixels = np.zeros((height, width), dtype=np.uint32)
        self._damage = Region()  # since the last copy
        # Uncompared writes (a video's area) as drawn, unmerged: where a video stream's
        # frames draw, and where a window over it does not (streams.py, its clip).
        self._drawn = Region(slack=1.0)
        self._ops: list[DamageOp] = []  # in order, up to that copy
        self._seen = Region()  # moved writes' changes cut in bands: see write()
        self.generation = 0  # bumped on every resize: clients re-create their surface
        # Where video streams run every pixel changes every frame: comparing is wasted.
        self.hot: tuple[Rect, ...] = ()
        self._motion = STILL  # the last motion found: pans and drags keep their speed
        self.moves = 0  # CopyOps recorded so far
        self.changes = 0  # changes of any kind recorded so far

    @property
    def width(self) -> int:
        return int(self._pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self._pixels.shape[0])

    @property
    def bounds(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    def write(
        self, pixels: np.ndarray, x: int, y: int, *, diff: bool, drawn: Sequence[Rect] = ()
    ) -> bool:
        """Copy ``pixels`` (h, w uint32) to (x, y), clipped; returns whether anything changed.
        Uncompared (``diff`` false, or in a hot area), the change is the ``drawn`` parts
        of the area (none given: all of it). Content that only moved is a change too: a
        page scrolled by a few pixels, whose rows uncovered are the background they
        were, is its copy alone, and clients must be told of it."""
        with self._lock:
            target = Rect(x, y, x + pixels.shape[1], y + pixels.shape[0]).intersect(self.bounds)
            if target.is_empty():
                return False
            src = pixels[target.top - y : target.bottom - y, target.left - x : target.right - x]
            dst = self._pixels[target.top : target.bottom, target.left : target.right]
            if any(target.intersect(hot) == target for hot in self.hot):
                diff = False
            moved = self._find_motion(dst, src, target) if diff else None
            changed = dst != src if diff else None  # after the move, if there was one
            if changed is not None and moved is not None:
                rects, banded = _marked_apart(changed, target, moved[0])
                # The stream detector judges a moving region by how much of it changes,
                # and streams one whose changes, cut in bands, cover most of it: a fast
                # pan with a bar in its corner, whose copies' edges would outrun a slow
                # link. It is shown the changes cut in bands over the whole write.
                self._seen.update(banded)
            elif changed is not None:
                rects = marked_rects(changed, target.left, target.top)
            elif drawn:
                rects = [part for r in drawn if not (part := r.intersect(target)).is_empty()]
            else:
                rects = [target]
            if moved is not None and changed is not None:
                self._record_copy(*moved, holes=_changed_within(changed, target, rects, moved[0]))
            if rects:
                dst[...] = src
                (self._damage if changed is not None else self._drawn).update(rects)
                self.changes += 1
            return bool(rects) or moved is not None

    def _find_motion(
        self, dst: np.ndarray, src: np.ndarray, target: Rect
    ) -> tuple[Rect, int, int] | None:
        """If the new pixels are largely the old ones moved, move ours; returns where to
        (the copy's destination) and from where (its source's top left)."""
        motion = find_motion(dst, src, self._motion)
        if motion is None:
            return None
        self._motion = motion
        dx, dy = motion.dx, motion.dy
        # Only what moved: a dragged window's box also holds the desktop around it, which
        # stays put, and moving it too would make it a change to send again.
        box = explained_box(dst, src, motion)
        if box is None:
            return None
        left, top, right, bottom = box
        dst[top:bottom, left:right] = dst[top - dy : bottom - dy, left - dx : right - dx].copy()
        dest = box.translated(target.left, target.top)
        return dest, dest.left - dx, dest.top - dy

    def _record_copy(self, dest: Rect, src_x: int, src_y: int, holes: list[Rect]) -> None:
        """Record a move after the damage before it; the copy leaves ``holes`` alone."""
        pieces = difference(dest, holes, MAX_CLIP_RECTS)
        clip = () if not pieces or pieces == [dest] else tuple(pieces)
        self._ops.extend([*self._damage, *self._drawn])
        self._damage.clear()
        self._drawn.clear()
        self.moves += 1
        self.changes += 1
        self._ops.append(CopyOp(dest, src_x, src_y, self.moves, clip))

    def fill(self, rect: Rect, color: int) -> bool:
        with self._lock:
            target = rect.intersect(self.bounds)
            if target.is_empty():
                return False
            self._pixels[target.top : target.bottom, target.left : target.right] = color
            self._damage.add(target)
            self.changes += 1
            return True

    def resize(self, width: int, height: int, pixels: np.ndarray | None = None) -> None:
        _check_size(width, height)
        with self._lock:
            new = np.zeros((height, width), dtype=np.uint32)
            if pixels is not None:
                new[...] = pixels
            self._pixels = new
            self.generation += 1
            self._ops.clear()
            self._seen.clear()
            self._damage.clear()
            self._drawn.clear()
            self._damage.add(Rect(0, 0, width, height))
            self.changes += 1

    def invalidate(self, rect: Rect | None = None) -> None:
        with self._lock:
            self._damage.add(self.bounds if rect is None else rect.intersect(self.bounds))
            self.changes += 1

    def take_damage(self) -> Damage:
        """What changed since the last call, in order (see ``Damage``)."""
        with self._lock:
            ops = [*self._ops, *self._damage, *self._drawn]
            damage = Damage(self.generation, ops, self.moves, self.changes, [*self._seen])
            self._seen.clear()
            self._ops.clear()
            self._damage.clear()
            self._drawn.clear()
            return damage

    def read(self, rect: Rect, step: int = 1) -> tuple[int, np.ndarray]:
        """A copy of the pixels in ``rect`` (clipped), with the current generation; with
        ``step`` > 1 only every step-th pixel each way (a cheap downscale, one pass)."""
        with self._lock:
            r = rect.intersect(self.bounds)
            area = self._pixels[r.top : r.bottom : step, r.left : r.right : step]
            return self.generation, area.copy()

    def read_with_moves(self, rect: Rect) -> tuple[int, int, int, np.ndarray]:
        """Like ``read``, with the serial of the last move and the count of changes the
        pixels already show.

        A move changes the pixels at once, on the back end's thread, and reaches clients
        later as a CopyOp. A client that drew pixels read in between and then applied the
        copy would move them twice; the serial tells it that the copy is already in them.
        """
        with self._lock:
            r = rect.intersect(self.bounds)
            area = self._pixels[r.top : r.bottom, r.left : r.right]
            return self.generation, self.moves, self.changes, area.copy()

    def snapshot(self) -> np.ndarray:
        with self._lock:
            return self._pixels.copy()


def _marked_apart(changed: np.ndarray, target: Rect, dest: Rect) -> tuple[list[Rect], list[Rect]]:
    """The rectangles of ``changed`` (over ``target``) cut apart at the border of a copy's
    ``dest``, and as cut in bands over all of ``target``. The edges a pan uncovers are
    thin, and cut in bands together with a change near them inside (a fixed bar, a
    counter) they made one box of the corner, most of it drawn rightly by the copy: sent
    again, that cost an image of it every frame, and on a slow link, where such a box
    goes as JPEG, it spoilt the photograph the copies then carried across the view. A
    band's rectangle that crosses the border is cut again on each side of it."""
    banded = marked_rects(changed, target.left, target.top)
    rects = []
    for rect in banded:
        inside = rect.intersect(dest)
        if inside == rect or inside.is_empty():
            rects.append(rect)
            continue
        for piece in (inside, *subtract(rect, dest)):
            rects.extend(marked_rects(_part(changed, target, piece), piece.left, piece.top))
    return rects, banded


def _changed_within(changed: np.ndarray, target: Rect, rects: list[Rect], dest: Rect) -> list[Rect]:
    """Where, inside a copy's ``dest``, the pixels moved there still differ from the new
    ones (``changed``, over ``target``): for each damage rectangle, the box of its changed
    pixels inside ``dest``. Damage is cut in bands, so the box of a new edge holds rows
    the copy filled rightly; only what is really drawn anew is left out of the copy."""
    holes = []
    for rect in rects:
        inside = rect.intersect(dest)
        if inside.is_empty():
            continue
        area = _part(changed, target, inside)
        ys, xs = np.flatnonzero(area.any(axis=1)), np.flatnonzero(area.any(axis=0))
        if ys.size:
            left, top = inside.left + int(xs[0]), inside.top + int(ys[0])
            right, bottom = inside.left + int(xs[-1]) + 1, inside.top + int(ys[-1]) + 1
            holes.append(Rect(left, top, right, bottom))
    return holes


def _part(mask: np.ndarray, target: Rect, rect: Rect) -> np.ndarray:
    """The entries of ``mask`` (laid over ``target``) that lie in ``rect`` (within it)."""
    rows = slice(rect.top - target.top, rect.bottom - target.top)
    return mask[rows, rect.left - target.left : rect.right - target.left]


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise ValueError(f"display size {width}x{height} out of range (1..16384)")


def as_pixels(data: object, width: int | None = None, stride: int | None = None) -> np.ndarray:
    """Accept what back ends have and return a (h, w) uint32 array.

    Takes a (h, w) uint32 array, a (h, w, 4) uint8 array in B, G, R, X order, or a
    bytes-like of rows (``width`` pixels each, ``stride`` bytes apart, default width * 4).
    """
    if isinstance(data, np.ndarray):
        if data.ndim == 2 and data.dtype == np.uint32:
            return data
        if data.ndim == 3 and data.shape[2] == 4 and data.dtype == np.uint8:
            return np.ascontiguousarray(data).view(np.uint32)[:, :, 0]
        raise ValueError(
            f"pixels must be (h, w) uint32 or (h, w, 4) uint8, not {data.shape} {data.dtype}"
        )
    if width is None or width <= 0:
        raise ValueError("a width is needed to read pixels from bytes")
    buf = memoryview(data).cast("B")  # type: ignore[arg-type]
    row = width * 4
    stride = row if stride is None else stride
    if stride < row:
        raise ValueError(f"stride {stride} is shorter than a row of {row} bytes")
    height = (len(buf) + stride - row) // stride if len(buf) >= row else 0
    if height == 0:
        raise ValueError("not even one row of pixels")
    flat = np.frombuffer(buf, dtype=np.uint8, count=(height - 1) * stride + row)
    rows = np.lib.stride_tricks.as_strided(flat, shape=(height, row), strides=(stride, 1))
    return np.ascontiguousarray(rows).view(np.uint32)
