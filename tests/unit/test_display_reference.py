"""The cached first screen: which rows of a changed area may be drawn from it."""

from __future__ import annotations

import numpy as np

from spice_server.display.reference import MIN_RUN_ROWS, ReferenceImage
from spice_server.protocol.rect import Rect


def screen(height: int = 200, width: int = 100) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 1 << 24, size=(height, width), dtype=np.uint32)


def test_uncovered_rows_are_found_and_changed_ones_left_out() -> None:
    first = screen()
    reference = ReferenceImage(1, 0, first.copy())
    now = first.copy()
    now[40:90] += 1  # a window still covers these rows
    rect = Rect(0, 20, 100, 160)
    runs = reference.matching_rows(rect, now[20:160])
    assert runs == [(0, 20), (70, 140)]


def test_the_gaps_between_lines_of_text_do_not_count() -> None:
    """The blank rows between lines of text match any earlier text screen: drawing them
    from the cache would cut a busy terminal into bands."""
    reference = ReferenceImage(1, 0, np.zeros((200, 100), dtype=np.uint32))
    text = screen()
    text[np.arange(200) % 16 < 4] = 0  # four blank rows between lines of text
    rect = Rect(0, 0, 100, 200)
    assert reference.matching_rows(rect, text) == []
    # A few runs, such as the strips a moved window uncovers, do count.
    uncovered = screen()
    uncovered[:10] = uncovered[190:] = 0
    assert reference.matching_rows(rect, uncovered) == [(0, 10), (190, 200)]
    # Shorter runs than MIN_RUN_ROWS never do.
    uncovered[10 : 10 + MIN_RUN_ROWS] = 0
    uncovered[:10] = 1
    assert reference.matching_rows(rect, uncovered) == [(10, 10 + MIN_RUN_ROWS), (190, 200)]
    uncovered[10 + MIN_RUN_ROWS - 1] = 1
    assert reference.matching_rows(rect, uncovered) == [(190, 200)]


def test_a_rectangle_outside_the_reference_matches_nothing() -> None:
    reference = ReferenceImage(1, 0, screen(50, 50))
    assert reference.matching_rows(Rect(40, 40, 80, 80), screen(40, 40)) == []
