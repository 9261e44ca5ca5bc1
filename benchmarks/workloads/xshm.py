"""A System V shared memory segment attached by the X server (MIT-SHM), for PutImage
without copying frames through the X socket.

xcffib speaks MIT-SHM but cannot pass file descriptors, so the segment is made and mapped
with libc's shmget and shmat through ctypes. It is marked for removal as soon as the X
server has attached it, so it goes away with the last of the two even if we are killed.
(The workloads keep their own small copy of this rather than importing the server's, so
that they run the same X requests whatever becomes of the server's code.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import numpy as np
import xcffib
import xcffib.shm

IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmget.restype = ctypes.c_int
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


class Segment:
    """``memory`` (uint8 numpy view) is shared with the X server as ``segment``."""

    def __init__(self, conn: xcffib.Connection, size: int) -> None:
        self.shm = conn(xcffib.shm.key)
        shmid = libc.shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600)
        if shmid < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        address = libc.shmat(shmid, None, 0)
        try:
            if address in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            self.segment = conn.generate_id()
            self.shm.AttachChecked(self.segment, shmid, True).check()  # X only reads it
        finally:
            libc.shmctl(shmid, IPC_RMID, None)
        self.memory = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))
