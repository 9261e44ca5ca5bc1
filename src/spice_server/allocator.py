"""Giving the C allocator's free memory back to the system when the last client has gone.

What a client holds (its screens, queues, video encoders) is freed as it leaves, but
glibc's malloc keeps the freed pages of its heap and of each thread's arena for later:
resident memory stays at the high-water mark of the busiest moment. With six H.264
clients at a time that mark was 75 MB above the idle server's, and stayed there for as
long as the server ran idle. Once no session is left, the server asks the allocator to
return what is free (glibc's ``malloc_trim``: a few ms for tens of MB, run on an encoder
thread). With another C library this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        process = ctypes.CDLL(None)  # the symbols already loaded: the C library's among them
    except OSError:
        return None
    trim = getattr(process, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; False where that cannot be done."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)  # 0: keep no slack at the top of the heap
    return True
