"""The allocator gives freed memory back to the system when asked (glibc's malloc_trim)."""

from __future__ import annotations

import os

import numpy as np

from spice_server.allocator import release_free_memory

BLOCK = 64 * 1024  # under malloc's mmap threshold: from the heap, as most buffers are


def resident_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_freed_heap_memory_goes_back_to_the_system() -> None:
    blocks = [np.ones(BLOCK, np.uint8) for _ in range(1600)]  # 100 MB, touched: resident
    pin = np.ones(BLOCK, np.uint8)  # above them: free() alone cannot shrink the heap
    del blocks
    freed = resident_mb()
    assert release_free_memory()  # glibc, as on every system the project supports
    released = resident_mb()
    print(f"resident {freed:.0f} MB with 100 MB free in the heap, {released:.0f} MB after")
    assert released < freed - 60
    assert pin.sum() == BLOCK
