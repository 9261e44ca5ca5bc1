"""A client connection: a non-blocking socket driven by core watches, with a write queue.

The connection reads whatever arrives and hands it to its handler (first the link
handshake, then a channel client). When WebSocket is enabled, the first bytes tell whether
the socket carries SPICE itself or SPICE inside a WebSocket (see ``websocket``); in the
second case the connection unwraps and wraps the frames, so its handler sees the same byte
stream either way and never knows which it was. On the TLS port the same happens one layer
further down (see ``tls``): the socket carries TLS records, and WebSocket or SPICE is what
they decrypt to. Writes go out at once when the socket takes them and
queue otherwise; the WRITE watch is armed only while something is queued. When the queue
drains the handler's ``writable()`` is called, which is how producers of large data (the
display) pace themselves to the client's speed instead of queueing without bound.

The queue is accounted as what it costs, not only its payload: every entry counts
ENTRY_COST bytes more, and small writes are merged into one entry. A client that asks
for replies and never reads them would otherwise make the server hold gigabytes of tiny
objects. Beyond READ_PAUSE the connection stops reading (and its handler stops acting on
what it already read) until the queue drains to half of it, so such a client holds at
most that much; beyond ``max_pending`` it is dropped.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterator
from typing import Protocol

from ..core.base import ChannelEventFlags, ChannelEventInfo, Core, EventMask, Timer
from ..core.clock import Clock, SystemClock
from ..protocol.errors import RemoteProtocolError
from .link import LinkEstimate, unacknowledged
from .sockets import format_address, socket_address
from .tls import TlsTransport
from .websocket import OriginCheck, StreamKind, WebSocketTransport, sniff

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
READ_BUDGET = 4 * READ_SIZE  # per wake-up, so one busy client cannot starve the others
MAX_PENDING = 64 * 1024 * 1024
READ_PAUSE = 4 * 1024 * 1024  # held bytes beyond which the client's requests wait
ENTRY_COST = 256  # what one queued entry costs beyond its payload (objects, deque slot)
MERGE_SIZE = 4096  # writes this small are appended to a queued tail of our own
MERGED_MAX = 64 * 1024  # how large such a tail may grow
SEND_BATCH = 64  # queued entries handed to one sendmsg call
# Unconfirmed bytes this few (a keep-alive ping) when writing again: the link had idled.
IDLE_BYTES = 256
LINGER_MS = 2000  # how long a closing connection may take to deliver its last words


class ConnectionHandler(Protocol):
    def data_received(self, data: bytes) -> None: ...

    def writable(self) -> None: ...

    def connection_lost(self, reason: str) -> None: ...


class Connection:
    def __init__(
        self,
        core: Core,
        sock: socket.socket,
        *,
        max_pending: int = MAX_PENDING,
        websocket: bool = False,
        check_origin: OriginCheck | None = None,
        clock: Clock | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``websocket`` accepts WebSocket clients besides plain SPICE ones; ``check_origin``
        decides which browser origins may open one; ``tls`` makes this a TLS connection."""
        self.core = core
        self.sock = sock
        self.handler: ConnectionHandler | None = None
        self.closed = False
        self.max_pending = max_pending
        sock.setblocking(False)
        self.local_address = socket_address(sock.getsockname)
        self.peer_address = socket_address(sock.getpeername)
        self.info = ChannelEventInfo(
            local_address=self.local_address, peer_address=self.peer_address
        )
        self.name = format_address(self.peer_address)
        self._queue: deque[memoryview | bytearray] = deque()
        self._pending = 0
        self._corked = 0  # while above 0, writes wait in the queue for one send (``corked``)
        self._confirmed: int | None = None  # bytes the client confirmed it has (``confirm``)
        self._paused = False  # reading stopped: too much is queued
        self._handler_busy = False  # reading stopped: the handler has a backlog to work off
        self._frames_waiting = False  # reading stopped: WebSocket frames wait to be parsed
        self._frames_timer: Timer | None = None
        self._mask = EventMask.READ
        self.bytes_sent = 0
        self.link = LinkEstimate(clock or SystemClock())
        self.on_closed: Callable[[Connection, str], None] | None = None
        self._closing: tuple[str, int] | None = None
        self._linger: Timer | None = None
        self._sniffing = websocket
        self._prefix = b""
        self._check_origin = check_origin
        self.websocket: WebSocketTransport | None = None
        self.tls = TlsTransport(tls) if tls is not None else None
        if self.tls is not None:
            self.info.flags |= ChannelEventFlags.TLS
        self._watch = core.watch_add(sock.fileno(), EventMask.READ, self._on_event)

    @property
    def pending(self) -> int:
        """Bytes queued and not yet taken by the socket."""
        return self._pending

    @property
    def held(self) -> int:
        """What the queue costs: its bytes and a fixed cost per entry."""
        return self._pending + ENTRY_COST * len(self._queue)

    @property
    def congested(self) -> bool:
        """Too much is queued: the handler should not act on more requests for now."""
        return self._paused or self.held > READ_PAUSE

    @property
    def written(self) -> int:
        """Bytes written so far in all (on the wire: after TLS and WebSocket framing)."""
        return self.bytes_sent + self._pending

    def in_flight(self) -> int:
        """Bytes written and not yet delivered here: our queue and what the kernel holds."""
        if self.closed:
            return 0
        return self._pending + unacknowledged(self.sock)

    def confirm(self, written: int) -> None:
        """The client has every byte up to ``written`` (it answered a ping written then)."""
        self._confirmed = max(self._confirmed or 0, written)
        self.link.confirmed(self._confirmed)

    def unconfirmed(self) -> int:
        """Bytes written after the last confirmed ping (0 before any: nothing is known)."""
        if self._confirmed is None or self.closed:
            return 0
        return self.written - self._confirmed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send SPICE bytes (framed first, on a WebSocket), queueing what the socket refuses."""
        if self.closed or self._closing or not data:
            return
        if self._confirmed is not None and self.written - self._confirmed <= IDLE_BYTES:
            self.link.resumed(self._confirmed)  # the link idled: that measures nothing
        if self.websocket is not None:
            data = self.websocket.send(data)
        self._write_wire(data)

    def _write_wire(self, data: bytes | bytearray | memoryview) -> None:
        """What goes on the wire below SPICE and WebSocket: TLS records on a TLS port."""
        if self.tls is not None and data and not self.closed:
            try:
                data = self.tls.send(data)
            except ssl.SSLError as exc:  # the TLS session broke: this connection ends
                self.close(f"TLS write failed: {exc.reason or exc}", logging.WARNING)
                return
        self._write_socket(data)

    def _write_socket(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed or not data:
            return
        view = memoryview(data).cast("B")
        if not self._queue and not self._corked:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self.close(f"write failed: {exc}")
                return
            self.bytes_sent += sent
            if sent == len(view):
                return
            view = view[sent:]
        tail = self._queue[-1] if self._queue else None
        if isinstance(tail, bytearray) and len(view) <= MERGE_SIZE and len(tail) < MERGED_MAX:
            tail += view  # a tail of our own, never handed to send() while it can grow
        elif len(view) <= MERGE_SIZE:
            self._queue.append(bytearray(view))
        else:
            self._queue.append(view)
        self._pending += len(view)
        held = self.held
        if held > self.max_pending:
            self.close(f"client is not reading: {held} bytes queued", logging.WARNING)
        else:
            self._paused = self._paused or held > READ_PAUSE
            if not self._corked:
                self._update_mask()

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """Gather the writes made inside into as few send calls as the socket allows.

        On loopback every send wakes the client and costs a quarter of a millisecond or
        more; a frame of a copy and a few small images is better sent in one call.
        """
        self._corked += 1
        try:
            yield
        finally:
            self._corked -= 1
            if not self._corked:
                self.push()

    def push(self) -> None:
        """Send what is queued now, corked or not (before work that takes a while)."""
        if not self.closed and self._queue:
            self._send_queued()
            self._update_mask()

    def pause_reading(self, paused: bool) -> None:
        """The handler has more read than it may act on in one turn of the loop: read no
        more until it says so, so a flood of tiny messages waits in the client's socket."""
        self._handler_busy = paused
        self._update_mask()

    def _readable(self) -> bool:
        return not (
            self.closed
            or self._paused
            or self._handler_busy
            or self._frames_waiting
            or self._closing
        )

    def _update_mask(self) -> None:
        if self.closed:
            return
        mask = EventMask.WRITE if self._queue else EventMask(0)
        if self._readable():
            mask |= EventMask.READ
        if mask != self._mask:
            self._mask = mask
            self.core.watch_update_mask(self._watch, mask)

    def close(self, reason: str, level: int = logging.INFO, *, flush: bool = False) -> None:
        """Close once, log why, and tell the handler; safe to call from its callbacks.

        With ``flush`` what is queued (a link error, a DISCONNECTING) is delivered first,
        for at most LINGER_MS, and nothing more is read or written meanwhile.
        """
        if self.closed:
            return
        if self._closing is None and self.websocket is not None and (flush or not self._queue):
            # Say goodbye in the WebSocket's own terms, after whatever is queued; never in
            # the middle of a frame, which a non-flushing close with a queue would be.
            self._write_wire(self.websocket.close())
            if self.closed:
                return
            flush = True
        if flush and self._queue:
            if self._closing is None:
                self._closing = (reason, level)
                self._update_mask()
                self._linger = self.core.timer_add(self._linger_expired)
                self.core.timer_start(self._linger, LINGER_MS)
            return
        self.closed = True
        log.log(level, "closing connection from %s: %s", self.name, reason)
        if self._linger is not None:
            self.core.timer_remove(self._linger)
        if self._frames_timer is not None:
            self.core.timer_remove(self._frames_timer)
        self.core.watch_remove(self._watch)
        self._queue.clear()
        self._pending = 0
        with contextlib.suppress(OSError):
            self.sock.close()
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.connection_lost(reason)
        if self.on_closed is not None:
            self.on_closed(self, reason)

    def _resume_if_drained(self) -> None:
        """Read again once the queue is down to half the pause mark, and let the handler
        act on what it had read meanwhile."""
        if not self._paused or self.held > READ_PAUSE // 2 or self.closed:
            return
        self._paused = False
        self._update_mask()
        if self._closing is None and self.handler is not None:
            self.handler.data_received(b"")

    def _linger_expired(self, opaque: object) -> None:
        reason, level = self._closing or ("closing", logging.INFO)
        self.close(reason, level)

    # -- watch callback ------------------------------------------------------------------

    def _on_event(self, fd: int, events: EventMask, opaque: object) -> None:
        try:
            if events & EventMask.WRITE:
                self._flush()
            if events & EventMask.READ and self._readable():
                self._read()
        except RemoteProtocolError as exc:
            self.close(f"protocol error: {exc}", logging.WARNING)
        except Exception:
            log.exception("internal error on connection from %s", self.name)
            self.close("internal error (see the traceback above)", logging.ERROR)

    def _read(self) -> None:
        budget = READ_BUDGET
        while budget > 0 and self._readable():
            try:
                data = self.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.close(f"read failed: {exc}")
                return
            if not data:
                if self.websocket is not None:
                    self.websocket.eof_received()
                during = (
                    " during the TLS handshake" if self.tls and not self.tls.handshake_done else ""
                )
                self.close(f"client closed the connection{during}")
                return
            budget -= len(data)
            self._received_wire(data)

    def _received_wire(self, data: bytes) -> None:
        tls = self.tls
        if tls is not None:
            try:
                data = tls.receive_data(data)
            except RemoteProtocolError as exc:
                self._write_socket(tls.data_to_send())  # the alert that tells the peer why
                self.close(str(exc), logging.WARNING, flush=True)
                return
            self._write_socket(tls.data_to_send())
        if data:
            self._received(data)
        if tls is not None and tls.peer_closed and not self.closed:
            self.close("client ended the TLS session")

    def _received(self, data: bytes) -> None:
        if self._sniffing:
            self._prefix += data
            kind = sniff(self._prefix)
            if kind is None:
                return
            self._sniffing = False
            data, self._prefix = self._prefix, b""
            if kind is StreamKind.WEBSOCKET:
                self.websocket = WebSocketTransport(self._check_origin)
                log.debug("%s speaks WebSocket", self.name)
        websocket = self.websocket
        if websocket is not None:
            try:
                data = websocket.receive_data(data)
            except RemoteProtocolError as exc:
                self._write_wire(websocket.data_to_send())
                self.close(str(exc), logging.WARNING, flush=True)
                return
            self._write_wire(websocket.data_to_send())
            if websocket.backlog != self._frames_waiting:
                self._frames_later(websocket.backlog)
        if data and self.handler is not None and not self.closed:
            self.handler.data_received(data)
        if websocket is not None and websocket.peer_closed:
            self.close(f"client closed the WebSocket (code {websocket.close_code})", flush=True)

    def _frames_later(self, waiting: bool) -> None:
        """Frames wait unparsed: read nothing more, and parse on at the loop's next turn
        (a read can hold tens of thousands of tiny frames)."""
        self._frames_waiting = waiting
        if waiting:
            if self._frames_timer is None:
                self._frames_timer = self.core.timer_add(self._parse_waiting_frames)
            self.core.timer_start(self._frames_timer, 0)
        self._update_mask()

    def _parse_waiting_frames(self, opaque: object) -> None:
        if self.closed or self._closing:
            return
        try:
            self._received(b"")
        except RemoteProtocolError as exc:
            self.close(f"protocol error: {exc}", logging.WARNING)
        except Exception:
            log.exception("internal error on connection from %s", self.name)
            self.close("internal error (see the traceback above)", logging.ERROR)

    def _send_queued(self) -> bool:
        """Send what is queued, several entries per call; False if the socket is full or
        the connection broke."""
        queue = self._queue
        while queue:
            batch = list(itertools.islice(queue, SEND_BATCH))
            try:
                sent = self.sock.sendmsg(batch)
            except BlockingIOError:
                return False
            except OSError as exc:
                self.close(f"write failed: {exc}")
                return False
            self.bytes_sent += sent
            self._pending -= sent
            for entry in batch:
                if sent < len(entry):
                    queue[0] = memoryview(entry)[sent:]
                    return False
                sent -= len(entry)
                queue.popleft()
        return True

    def _flush(self) -> None:
        queue = self._queue
        done = self._send_queued()
        self._resume_if_drained()
        if not done:
            return
        if self.closed or queue:  # the handler, acting on what it had read, wrote again
            return
        if self._closing is not None:
            self.close(*self._closing)
        elif not self.closed:
            self._update_mask()
            if self.handler is not None:
                self.handler.writable()
