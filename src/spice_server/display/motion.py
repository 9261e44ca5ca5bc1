"""Finding content that moved between two frames: scrolls, pans and dragged windows.

When a terminal scrolls, a map pans or a window is dragged, most of the new frame is the
old one shifted. Sent as a COPY_BITS (the client moves its own pixels) plus the few pixels
that are really new, such a frame costs a few hundred bytes instead of a whole image.

The search is exact and cheap. A few short probe segments of the new frame are looked up
in a window of the old frame around their own place; every place where a probe matches
proposes a motion. The most proposed motions (with the one found last time, since pans and
drags keep their speed, and a vertical scroll found by row fingerprints) are scored on a
sample of rows (see _explained): the share of the changed pixels each puts right, less
the unchanged ones its copy would spoil, or the share of the changed pixels on edges it
puts right, whichever is more. The best wins if that share is a fair part. After a
vertical scroll the row fingerprints go first, and settle it. A wrong guess costs only
efficiency: after the copy the pixels are compared again, and whatever the copy got
wrong is sent as usual.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..protocol.rect import Rect
from .damage import vertical_shift

MIN_SIZE = 48  # smaller areas are not worth a search
PROBE = 16  # pixels per probe segment
REACH = 64  # how far (pixels each way, around the last motion) a probe is looked for
MAX_CANDIDATES = 64  # places one probe may match before it is judged uninformative
SAMPLE_STEP = 4  # score on every this-many-th row
MIN_EXPLAINED = 0.3  # share of the changed pixels a motion must put right (see above)
MIN_CHANGED = 256  # changed pixels (of the sampled rows) below which no search is made
MIN_EDGES = 64  # changed pixels on edges below which their share is not judged
MAX_SCORED = 6  # the most proposed motions scored, besides the last one and a scroll
GOOD_ENOUGH = 0.8  # a motion explaining this share of the changes ends the search
SCAN_LINES = 8  # the first lines explained_box compares from each side (then twice as many)


@dataclass(frozen=True)
class Motion:
    """Content moved by (dx, dy): ``new[y, x] == old[y - dy, x - dx]`` where it explains."""

    dx: int
    dy: int

    @property
    def is_still(self) -> bool:
        return self.dx == 0 and self.dy == 0


STILL = Motion(0, 0)


def find_motion(old: np.ndarray, new: np.ndarray, hint: Motion = STILL) -> Motion | None:
    """How the content of ``old`` moved to become ``new`` (two (h, w) uint32 arrays), if
    it did: a motion that explains a good part of what changed, else None."""
    height, width = old.shape
    if height < MIN_SIZE or width < MIN_SIZE:
        return None
    rows = slice(0, height, SAMPLE_STEP)
    changed = old[rows] != new[rows]
    changed_count = int(np.count_nonzero(changed))
    if changed_count < MIN_CHANGED:
        return None  # too little changed to be worth a copy
    edges = changed.copy()  # the changed pixels that differ from their left neighbour (ink)
    edges[:, 0] = False
    edges[:, 1:] &= new[rows, 1:] != new[rows, :-1]
    edge_count = int(np.count_nonzero(edges))
    best, best_score = None, MIN_EXPLAINED

    def consider(candidates: list[tuple[int, int]]) -> None:
        nonlocal best, best_score
        for dx, dy in candidates:
            if (dx, dy) == (0, 0) or abs(dx) > width - MIN_SIZE or abs(dy) > height - MIN_SIZE:
                continue
            net, on_edges = _explained(old, new, changed, edges, dx, dy)
            score = net / changed_count
            if edge_count >= MIN_EDGES:
                score = max(score, on_edges / edge_count)
            if score > best_score:
                best, best_score = Motion(dx, dy), score

    consider([(hint.dx, hint.dy)])  # pans and drags keep their speed
    if best_score >= GOOD_ENOUGH:
        return best
    # A terminal or page that scrolled last time most likely scrolled again, by another
    # amount: row fingerprints find it, where probes in text match in too many places
    # (in a flooding terminal they cost half the search, and decided nothing). A shift
    # the fingerprints find is one nearly every row it overlaps agrees with: it stands
    # even where the new lines are much of the change (up to 70 %).
    tried = {(hint.dx, hint.dy)}
    scrolled = hint.dx == 0 and hint.dy != 0
    if scrolled:
        shift = vertical_shift(old, new)
        consider([(0, -shift)])
        if shift and best == Motion(0, -shift):
            return best
        tried.add((0, -shift))
    votes: Counter[tuple[int, int]] = Counter()
    for found in _probes(old, new, changed, hint):
        votes.update(found)
        # A probe found in one or two places is decisive enough to score at once: a
        # dragged window is usually settled by its first probe, and the rest are spared.
        if 0 < len(found) <= 2:
            consider([motion for motion in found if motion not in tried])
            tried.update(found)
            if best_score >= GOOD_ENOUGH:
                return best
    consider([motion for motion, _ in votes.most_common(MAX_SCORED) if motion not in tried])
    if best_score >= GOOD_ENOUGH:
        return best
    # Text repeats itself, so probes in a terminal match in too many places to tell; row
    # fingerprints find its vertical scrolls. Where nearly everything changed and no probe
    # matched (video), there is no scroll to find and the fingerprints are not worth it.
    if not scrolled and (votes or changed_count < 0.9 * changed.size):
        consider([(0, -vertical_shift(old, new))])
    return best


def _explained(
    old: np.ndarray, new: np.ndarray, changed: np.ndarray, edges: np.ndarray, dx: int, dy: int
) -> tuple[int, int]:
    """How many of the changed pixels (of the sampled rows) the motion (dx, dy) puts
    right (their new value is the old one from (x - dx, y - dy)) less the unchanged ones
    it would spoil within the box of those (where its copy goes: see explained_box); and
    how many of the changed pixels on ``edges`` it puts right.

    Counted alone, the changed pixels put right made any shift a motion in text: most of
    it is background, which lands on background under any shift, so most captures of a
    flooding terminal went as copies shifted diagonally, each putting right 30-65 % of
    what changed, spoiling more of what had not, and making the images sent after them
    larger. Less what they spoil, such shifts count for nothing; so do a terminal's
    shifts by whole lines, whose lines share their first columns, yet spoil mostly
    pixels that are sent again anyway: their edges they put right (30-65 %), where a
    diagonal shift puts right 6-28 %. A plain window dragged over a photograph puts
    right its flat face and few edges (most changed edges are the photograph it
    uncovers): it counts by the first measure.
    """
    height, width = old.shape
    top, bottom = max(0, dy), min(height, height + dy)
    left, right = max(0, dx), min(width, width + dx)
    first = -(-top // SAMPLE_STEP) * SAMPLE_STEP  # the first sampled row at or below top
    rows = np.arange(first, bottom, SAMPLE_STEP)
    if rows.size == 0 or right <= left:
        return 0, 0
    moved = old[rows - dy, left - dx : right - dx] == new[rows, left:right]
    sampled = np.s_[first // SAMPLE_STEP : first // SAMPLE_STEP + rows.size, left:right]
    on_edges = int(np.count_nonzero(moved & edges[sampled]))
    was_changed = changed[sampled]
    explained = moved & was_changed
    hit_rows = np.flatnonzero(explained.any(axis=1))
    if hit_rows.size == 0:
        return 0, on_edges
    hit_cols = np.flatnonzero(explained.any(axis=0))
    box = np.s_[hit_rows[0] : hit_rows[-1] + 1, hit_cols[0] : hit_cols[-1] + 1]
    spoiled = np.count_nonzero(~(moved[box] | was_changed[box]))  # unchanged, then wrong
    return int(np.count_nonzero(explained)) - int(spoiled), on_edges


PROBE_PLACES = ((0.5, 0.5), (0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75))
CHANGED_PROBES = 6  # probes placed on changed pixels, spread over them in reading order


def _probes(
    old: np.ndarray, new: np.ndarray, changed: np.ndarray, hint: Motion
) -> Iterator[list[tuple[int, int]]]:
    """For each probe segment of ``new``, the motions that place it in ``old`` near its
    own place: around the last motion and, when that is far from still, around no motion
    too (the last motion may have been a page scrolled elsewhere; this one a window
    dragged a little).

    Probes sit at fixed places of the area and on pixels that changed (``changed``, of
    the sampled rows): a page of text in a column, with margins around it, has nothing
    but background at the fixed places half the time."""
    height, width = old.shape
    centres = [hint]
    if max(abs(hint.dx), abs(hint.dy)) > REACH // 2:
        centres.append(STILL)
    places = [(int(height * fy), int(width * fx)) for fy, fx in PROBE_PLACES]
    where = np.flatnonzero(changed)
    if where.size:
        picks = where[np.arange(1, CHANGED_PROBES + 1) * where.size // (CHANGED_PROBES + 1)]
        places += [(int(at) // width * SAMPLE_STEP, int(at) % width) for at in picks]
    for y, x in places:
        x = min(x, width - PROBE)
        segment = new[y, x : x + PROBE]
        if (segment == segment[0]).all():
            continue  # a flat probe matches everywhere: it says nothing
        # A place in both searched windows counts once.
        yield list({m for centre in centres for m in segment_matches(old, segment, x, y, centre)})


def segment_matches(
    old: np.ndarray, segment: np.ndarray, x: int, y: int, hint: Motion
) -> list[tuple[int, int]]:
    """Every (dx, dy) within REACH of the hint such that old[y - dy, x - dx :] starts
    with ``segment``."""
    height, width = old.shape
    cy, cx = y - hint.dy, x - hint.dx  # where the hint says the segment came from
    top, bottom = max(0, cy - REACH), min(height, cy + REACH + 1)
    left, right = max(0, cx - REACH), min(width - PROBE + 1, cx + REACH + 1)
    if right <= left:
        return []
    window = old[top:bottom, left : right + PROBE - 1]
    # Looked for by a pixel that is not of the segment's commonest colour (the lowest
    # value of those as common): text on a background that starts the segment would
    # match most of the window. Sixteen pixels are counted faster as Python ints.
    pixels = segment.tolist()
    counts = Counter(pixels)
    most = max(counts.values())
    common = min(value for value, count in counts.items() if count == most)
    anchor = next((k for k, value in enumerate(pixels) if value != common), 0)
    hits = window[:, anchor : anchor + right - left] == pixels[anchor]
    # Counted before they are listed: in text the anchor's colour is everywhere, and
    # listing thousands of places (to give up on them) cost four times the rest.
    if np.count_nonzero(hits) > MAX_CANDIDATES * 16:
        return []
    ys, xs = np.nonzero(hits)
    for k in range(PROBE):
        if k == anchor:
            continue
        keep = window[ys, xs + k] == pixels[k]
        ys, xs = ys[keep], xs[keep]
        if ys.size == 0:
            return []
    if ys.size > MAX_CANDIDATES:
        return []
    return [(x - (left + int(c)), y - (top + int(r))) for r, c in zip(ys, xs, strict=True)]


def explained_box(old: np.ndarray, new: np.ndarray, motion: Motion) -> Rect | None:
    """The box, in the arrays' coordinates, of the pixels that changed and that
    ``motion`` explains (``new`` there equals ``old`` moved); None if there are none.

    Its rows are found from each side inwards, a few at a time, twice as many each
    time: a pan or a dragged window shows in its first lines, where comparing the whole
    area (twice, for a 800x600 pan 0.6 ms a frame) would find the same box. Its columns
    too where the first few on each side show it (a pan, a drag); else (a scrolled
    terminal, whose lines end short of its right side) at once over the rows found: a
    strip of columns down the whole height costs a read of memory for each row, and
    strips scanned in from a text's blank margins cost twice the comparison of it all.
    """
    dx, dy = motion.dx, motion.dy
    height, width = old.shape
    top, bottom = max(0, dy), min(height, height + dy)
    left, right = max(0, dx), min(width, width + dx)
    if bottom <= top or right <= left:
        return None

    def lines(start: int, end: int, across: bool) -> np.ndarray:
        """Which rows (or with ``across``, columns) from start to end hold an explained
        pixel, within the box found so far."""
        if across:
            rows, cols = slice(top, bottom), slice(start, end)
            moved = old[top - dy : bottom - dy, start - dx : end - dx]
        else:
            rows, cols = slice(start, end), slice(left, right)
            moved = old[start - dy : end - dy, left - dx : right - dx]
        wanted = new[rows, cols]
        hits = (moved == wanted) & (old[rows, cols] != wanted)
        return np.flatnonzero(hits.any(axis=0 if across else 1))

    found = _scan(top, bottom, lambda a, b: lines(a, b, False))
    if found is None:
        return None
    top, bottom = found
    edge = max(left, right - SCAN_LINES)
    first, last = lines(left, min(right, left + SCAN_LINES), True), lines(edge, right, True)
    if first.size and last.size:
        return Rect(left + int(first[0]), top, edge + int(last[-1]) + 1, bottom)
    columns = lines(left, right, True)  # not empty: the rows found hold a hit
    return Rect(left + int(columns[0]), top, left + int(columns[-1]) + 1, bottom)


def _scan(start: int, end: int, hits: Callable[[int, int], np.ndarray]) -> tuple[int, int] | None:
    """The first and past-the-last line from ``start`` to ``end`` where ``hits`` (the
    lines of a span that hold something, relative to it) finds anything; None if none."""
    first, step, at = None, SCAN_LINES, start
    while at < end and first is None:
        found = hits(at, min(end, at + step))
        if found.size:
            first = at + int(found[0])
        at, step = at + step, step * 2
    if first is None:
        return None
    step, at = SCAN_LINES, end
    while True:  # ends at the latest on the line found first
        begin = max(first, at - step)
        found = hits(begin, at)
        if found.size:
            return first, begin + int(found[-1]) + 1
        at, step = begin, step * 2
