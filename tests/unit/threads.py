"""Whether a call lets other threads run: a C encoder must drop the GIL while it codes,
since images are coded on encoder threads beside the server's loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def ticks_during(call: Callable[[], object]) -> int:
    """How many times another thread looped (yielding each time) while ``call`` ran.
    Holding the GIL for the whole call (tens of ms) leaves it at most a switch
    interval's worth of ticks."""
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.01)
        before = ticks
        call()
        return ticks - before
    finally:
        done.set()
        counter.join()
