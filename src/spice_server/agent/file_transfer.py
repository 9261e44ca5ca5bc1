"""Files a client drops on its window, received by the built-in agent into one directory.

The client names the file and says its size (FILE_XFER_START); the agent answers with a
status: go ahead (CAN_SEND_DATA), or a refusal the client shows its user. Refused here:
names that are not one plain file name (a separator, ``..``, control characters), files
over the size limit or the disk's free space, and everything when transfers are off. A
name is reserved with an exclusive create, so nothing already there is overwritten: a
taken name gets a numbered suffix, ``report (1).pdf``. Each data record is written as it
arrives (spice-gtk sends 64 KiB a record; any record is held to the agent stream's
limit), so memory stays bounded whatever the file's size;
a file that does not arrive whole (an error, a cancel, the client leaving) is removed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..config import FileTransferSettings
from ..protocol.agent import (
    AgentMessage,
    FileXferInfoError,
    FileXferStatus,
    glib_io_error_detail,
    not_enough_space_detail,
    pack_file_xfer_status,
    unpack_file_xfer_data,
    unpack_file_xfer_id,
    unpack_file_xfer_start,
    unpack_file_xfer_status,
)
from ..protocol.agent import AgentMessageType as T

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 255  # one path component on the usual file systems
MAX_SUFFIX = 999  # "name (999).ext" is the last try before giving up
MAX_OPEN = 16  # files one client may be sending at once (each holds a descriptor)
OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

# GIO error codes, the kind of ERROR detail spice-gtk understands (GIOErrorEnum)
GIO_FAILED = 0
GIO_EXISTS = 2
GIO_FILENAME_TOO_LONG = 9
GIO_INVALID_FILENAME = 10
GIO_PERMISSION_DENIED = 14


class TransferRefused(Exception):
    """A transfer cannot start or go on: the status the client gets, and its detail (a GIO
    error code with ERROR, the space left with NOT_ENOUGH_SPACE)."""

    def __init__(
        self, reason: str, status: FileXferStatus, *, gio_code: int = GIO_FAILED, free: int = 0
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.gio_code = gio_code
        self.free = free


def check_name(name: str) -> str:
    """``name`` if it is one plain file name, else TransferRefused (INVALID_FILENAME)."""
    bad = (
        not name
        or name in (".", "..")
        or any(ch in "/\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
    )
    if bad:
        raise TransferRefused(
            f"the file name {name!r} is not a plain file name",
            FileXferStatus.ERROR,
            gio_code=GIO_INVALID_FILENAME,
        )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise TransferRefused(
            f"the file name {name[:40]!r}... is too long",
            FileXferStatus.ERROR,
            gio_code=GIO_FILENAME_TOO_LONG,
        )
    return name


def candidates(name: str) -> list[str]:
    """``name``, then ``stem (1).ext`` ... ``stem (999).ext``: the names tried in turn."""
    path = Path(name)
    stem, ext = (path.stem, path.suffix) if path.stem else (name, "")
    return [name] + [f"{stem} ({n}){ext}" for n in range(1, MAX_SUFFIX + 1)]


class IncomingFile:
    """One file being received: its reserved path, what is still expected, the open file."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self.size = size
        self.received = 0
        self._fd: int | None = fd

    @property
    def complete(self) -> bool:
        return self.received >= self.size

    def write(self, data: bytes) -> None:
        """Append ``data``; more than announced, or a failed write, raises TransferRefused."""
        if self.received + len(data) > self.size:
            raise TransferRefused(
                f"{self.path.name}: more data than the {self.size} bytes announced",
                FileXferStatus.ERROR,
            )
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            raise _refusal(exc, self.path.parent) from exc
        self.received += len(data)

    def finish(self) -> None:
        """All bytes are there: close the file, it stays."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def abandon(self) -> None:
        """The transfer ended without the whole file: close and remove what was written."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
            try:
                self.path.unlink()
            except OSError as exc:
                log.warning("could not remove the partial file %s: %s", self.path, exc)


def receive(settings: FileTransferSettings, name: str, size: int) -> IncomingFile:
    """Check the offer and reserve a fresh file for it, or raise TransferRefused."""
    check_name(name)
    if size > settings.max_size:
        raise TransferRefused(
            f"{name!r} is {size} bytes, over the limit of {settings.max_size}",
            FileXferStatus.NOT_ENOUGH_SPACE,
            free=settings.max_size,
        )
    directory = settings.directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        raise _refusal(exc, directory) from exc
    if size > free:
        raise TransferRefused(
            f"{name!r} is {size} bytes, {free} bytes are free in {directory}",
            FileXferStatus.NOT_ENOUGH_SPACE,
            free=min(free, settings.max_size),
        )
    for candidate in candidates(name):
        path = directory / candidate
        try:
            fd = os.open(path, OPEN_FLAGS, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _refusal(exc, directory) from exc
        return IncomingFile(path, fd, size)
    raise TransferRefused(
        f"{name!r} and its numbered variants all exist in {directory}",
        FileXferStatus.ERROR,
        gio_code=GIO_EXISTS,
    )


def _refusal(exc: OSError, directory: Path) -> TransferRefused:
    """What a failed file-system call means for the client."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = 0
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(directory).free
        return TransferRefused(str(exc), FileXferStatus.NOT_ENOUGH_SPACE, free=free)
    code = {
        errno.EACCES: GIO_PERMISSION_DENIED,
        errno.EPERM: GIO_PERMISSION_DENIED,
        errno.ENAMETOOLONG: GIO_FILENAME_TOO_LONG,
        errno.EINVAL: GIO_INVALID_FILENAME,
    }.get(exc.errno or 0, GIO_FAILED)
    return TransferRefused(str(exc), FileXferStatus.ERROR, gio_code=code)


class FileReceiver:
    """One client's transfers: answers its START, DATA and STATUS records.

    ``settings`` None means transfers are off: every offer gets DISABLED. ``send`` takes a
    record for this client; ``detailed`` is whether it announced FILE_XFER_DETAILED_ERRORS.
    """

    def __init__(
        self, settings: FileTransferSettings | None, send: Callable[[AgentMessage], None]
    ) -> None:
        self.settings = settings
        self.detailed = False
        self._send = send
        self._files: dict[int, IncomingFile] = {}

    def start(self, payload: bytes) -> None:
        xfer_id = unpack_file_xfer_id(payload, "FILE_XFER_START")
        old = self._files.pop(xfer_id, None)
        if old is not None:
            old.abandon()
        try:
            if self.settings is None:
                raise TransferRefused("file transfer is disabled", FileXferStatus.DISABLED)
            if len(self._files) >= MAX_OPEN:
                raise TransferRefused(
                    f"{MAX_OPEN} files are already being received", FileXferStatus.ERROR
                )
            try:
                offer = unpack_file_xfer_start(payload)
            except FileXferInfoError as exc:
                raise TransferRefused(str(exc), FileXferStatus.ERROR) from None
            incoming = receive(self.settings, offer.name, offer.size)
        except TransferRefused as refusal:
            self._refuse(xfer_id, refusal)
            return
        log.info("receiving %s (%d bytes, transfer %d)", incoming.path, incoming.size, xfer_id)
        self._files[xfer_id] = incoming
        self._status(xfer_id, FileXferStatus.CAN_SEND_DATA)

    def data(self, payload: bytes) -> None:
        xfer_id, data = unpack_file_xfer_data(payload)
        incoming = self._files.get(xfer_id)
        if incoming is None:
            log.debug("data for file transfer %d, which is not open", xfer_id)
            return
        try:
            incoming.write(data)
        except TransferRefused as refusal:
            del self._files[xfer_id]
            incoming.abandon()
            self._refuse(xfer_id, refusal)
            return
        if incoming.complete:
            del self._files[xfer_id]
            incoming.finish()
            log.info("received %s (%d bytes)", incoming.path, incoming.size)
            self._status(xfer_id, FileXferStatus.SUCCESS)

    def status(self, payload: bytes) -> None:
        """The client ends a transfer (it was cancelled, or reading the file failed)."""
        xfer_id, result = unpack_file_xfer_status(payload)
        incoming = self._files.pop(xfer_id, None)
        if incoming is not None:
            log.info(
                "the client ended the transfer of %s (status %d); the partial file is removed",
                incoming.path,
                result,
            )
            incoming.abandon()

    def close(self) -> None:
        """The client left: what it had not sent whole is removed."""
        for incoming in self._files.values():
            log.info("the client left during the transfer of %s; removed", incoming.path)
            incoming.abandon()
        self._files.clear()

    def cancel(self) -> None:
        """The agent goes away while the client stays (a guest agent replaces it, the server
        stops): its transfers end as CANCELLED, which the client shows, and are removed."""
        for xfer_id, incoming in self._files.items():
            log.info("the transfer of %s is cancelled: the agent goes away", incoming.path)
            incoming.abandon()
            self._status(xfer_id, FileXferStatus.CANCELLED)
        self._files.clear()

    def _refuse(self, xfer_id: int, refusal: TransferRefused) -> None:
        log.warning("file transfer %d refused: %s", xfer_id, refusal)
        detail = b""
        if self.detailed and refusal.status == FileXferStatus.ERROR:
            detail = glib_io_error_detail(refusal.gio_code)
        elif self.detailed and refusal.status == FileXferStatus.NOT_ENOUGH_SPACE:
            detail = not_enough_space_detail(refusal.free)
        self._status(xfer_id, refusal.status, detail)

    def _status(self, xfer_id: int, status: FileXferStatus, detail: bytes = b"") -> None:
        self._send(AgentMessage(T.FILE_XFER_STATUS, pack_file_xfer_status(xfer_id, status, detail)))
