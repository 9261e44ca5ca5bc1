"""MIT-SHM capture: the X server copies pixels straight into memory we share with it.

xcffib speaks MIT-SHM but cannot receive file descriptors, so the segment is a System V
one, made and mapped with libc's shmget/shmat through ctypes (python-xlib has no MIT-SHM
at all). The segment is marked for removal as soon as the X server has attached it, so
it cannot leak even if we die.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import numpy as np
import xcffib
import xcffib.shm
import xcffib.xproto

from ...protocol.rect import Rect

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_RMID = 0

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
_libc.shmget.restype = ctypes.c_int
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmat.restype = ctypes.c_void_p
_libc.shmdt.argtypes = [ctypes.c_void_p]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


class SharedMemory:
    """A System V shared memory segment that an X server has attached (MIT-SHM)."""

    def __init__(self, conn: xcffib.Connection, size: int, read_only: bool = False) -> None:
        self.conn = conn
        self.shm = conn(xcffib.shm.key)
        shmid = _libc.shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600)
        if shmid < 0:
            raise OSError(ctypes.get_errno(), f"shmget: {os.strerror(ctypes.get_errno())}")
        address = _libc.shmat(shmid, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            _libc.shmctl(shmid, IPC_RMID, None)
            raise OSError(ctypes.get_errno(), f"shmat: {os.strerror(ctypes.get_errno())}")
        self._address = address
        self.segment = conn.generate_id()
        try:
            self.shm.AttachChecked(self.segment, shmid, read_only).check()
        finally:
            _libc.shmctl(shmid, IPC_RMID, None)  # gone once both sides detach
        self.size = size
        self.memory = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))

    def close(self) -> None:
        try:
            self.shm.Detach(self.segment)
            self.conn.flush()
        except xcffib.ConnectionException:
            pass  # the X server is gone, and with it its side of the segment
        _libc.shmdt(self._address)


class ShmCapture:
    """Grabs rectangles of a window (the root) through one shared segment.

    ``request`` asks for a rectangle at a byte offset of the segment without waiting, so
    several can be in flight at once (the caller places them where they do not overlap);
    ``pixels`` reads one once its reply is in; ``grab`` does both, waiting for X.
    """

    def __init__(self, conn: xcffib.Connection, window: int, width: int, height: int) -> None:
        self.window = window
        self.segment = SharedMemory(conn, width * height * 4)

    @property
    def size(self) -> int:
        return self.segment.size

    def request(self, rect: Rect, offset: int = 0) -> xcffib.Cookie:
        """Ask X to copy ``rect`` into the segment at ``offset``; its reply says it has."""
        segment = self.segment
        return segment.shm.GetImage(
            self.window,
            rect.left,
            rect.top,
            rect.width,
            rect.height,
            0xFFFFFFFF,
            xcffib.xproto.ImageFormat.ZPixmap,
            segment.segment,
            offset,
        )

    def pixels(self, rect: Rect, offset: int = 0) -> np.ndarray:
        """``rect`` as (h, w) uint32 0xXXRRGGBB pixels: a view of the shared segment, valid
        until X writes there again. Callers copy it anyway (into the framebuffer), so a copy
        here would be one more full-screen pass per frame."""
        count = rect.width * rect.height * 4
        memory = self.segment.memory[offset : offset + count]
        return memory.view(np.uint32).reshape(rect.height, rect.width)

    def grab(self, rect: Rect) -> np.ndarray:
        """``rect``'s pixels now (waits for X)."""
        self.request(rect).reply()
        return self.pixels(rect)

    def close(self) -> None:
        self.segment.close()
