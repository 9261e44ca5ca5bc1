"""An emulated network link between a SPICE client and a server: a shaping TCP proxy.

The kernel here has no netem, so a link with a bandwidth cap and a delay is emulated in
user space. The proxy listens on one port and forwards every connection to the server's
port. Each direction of the link is one bottleneck shared by all connections (a SPICE
session is one TCP connection per channel, and they compete for one real link):

- **cap**: bytes leave the bottleneck one packet (at most ``PACKET`` bytes, or 0.3 ms
  worth at rates where that is more) at a time at the link's rate, in arrival order,
  whichever connection they belong to;
- **delay**: each packet reaches the other side ``delay`` after it left the bottleneck;
  a new connection's first bytes wait one round trip more, as TCP's handshake would;
- **queue**: at most ``queue`` bytes wait for the bottleneck. When it is full the proxy
  stops reading, so the sender's socket fills and its writes block or fail with EAGAIN:
  back-pressure, as on a real link. The default queue is one bandwidth-delay product
  (rate x round trip, at least 16 kB), the classic router buffer size: enough to keep
  the link busy, and a greedy sender adds at most one round trip of queueing delay;
- the proxy's own socket buffers are small (``SOCKET_BUFFER``), so that seconds of data
  cannot hide in kernel buffers between the server and the bottleneck.

The cap counts TCP payload bytes (a real link also carries headers, ~3 % more).

    python benchmarks/linkproxy.py --target-port 5900 --rate-mbit 20 --delay-ms 10

prints the port it listens on, then runs until killed. ``check`` (in links.py) verifies
a running proxy with a bulk transfer and a ping-pong.
"""

from __future__ import annotations

import argparse
import collections
import errno
import selectors
import socket
import time
from dataclasses import dataclass, field

PACKET = 1448  # payload of one Ethernet-sized TCP segment
PACKET_TIME = 0.0003  # at high rates packets are grouped into bursts this long, to save CPU
READ_CHUNK = 16384
SOCKET_BUFFER = 32768  # requested; Linux doubles it for its bookkeeping
DELIVERY_BACKLOG = 262144  # bytes waiting for a slow receiver before its sender is paused


@dataclass
class Side:
    """One socket of a proxied connection, and what waits to be written to it."""

    sock: socket.socket
    outgoing: bytearray = field(default_factory=bytearray)
    eof_due: bool = False  # the peer closed; shut our write side once outgoing is empty
    read_open: bool = True
    watching: int = 0  # the selector events registered for this socket


@dataclass
class Pair:
    client: Side
    server: Side
    not_before: float  # the emulated TCP handshake: no data moves before this

    def other(self, side: Side) -> Side:
        return self.server if side is self.client else self.client


class Direction:
    """One direction of the link: a serialising bottleneck with a bounded queue, then
    a fixed propagation delay. Packets keep their order, so the in-flight line is a FIFO
    of (arrival time, destination, bytes)."""

    def __init__(self, rate: float, delay: float, queue: int) -> None:
        self.rate, self.delay, self.queue = rate, delay, queue
        self.packet = max(PACKET, int(rate * PACKET_TIME))
        self.free_at = 0.0  # when the bottleneck finishes sending what it holds
        self.line: collections.deque[tuple[float, Side, bytes | None]] = collections.deque()

    def queued(self, now: float) -> float:
        return max(0.0, self.free_at - now) * self.rate

    def space(self, now: float) -> int:
        return int(self.queue - self.queued(now))

    def when_space(self) -> float:
        """The time at which one packet fits into the queue again."""
        return self.free_at - (self.queue - self.packet) / self.rate

    def send(self, now: float, destination: Side, data: bytes) -> None:
        for start in range(0, len(data), self.packet):
            packet = data[start : start + self.packet]
            self.free_at = max(now, self.free_at) + len(packet) / self.rate
            self.line.append((self.free_at + self.delay, destination, packet))

    def close(self, now: float, destination: Side) -> None:
        """The sender closed: the FIN travels behind its last bytes."""
        self.line.append((max(now, self.free_at) + self.delay, destination, None))

    def arrived(self, now: float) -> list[tuple[Side, bytes | None]]:
        out = []
        while self.line and self.line[0][0] <= now:
            _, destination, data = self.line.popleft()
            out.append((destination, data))
        return out


class LinkProxy:
    def __init__(
        self, listen: socket.socket, target_port: int, rate: float, delay: float, queue: int
    ) -> None:
        self.listen = listen
        self.target_port = target_port
        self.delay = delay
        self.up = Direction(rate, delay, queue)  # client to server
        self.down = Direction(rate, delay, queue)  # server to client
        self.selector = selectors.SelectSelector()  # microsecond timeouts, unlike epoll's ms
        self.selector.register(listen, selectors.EVENT_READ, None)
        self.pairs: dict[socket.socket, tuple[Pair, Side]] = {}

    def direction_from(self, pair: Pair, side: Side) -> Direction:
        return self.up if side is pair.client else self.down

    def accept(self, now: float) -> None:
        client_sock, _ = self.listen.accept()
        server_sock = socket.socket()
        small_buffers(server_sock)
        server_sock.connect(("127.0.0.1", self.target_port))
        for sock in (client_sock, server_sock):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = Pair(Side(client_sock), Side(server_sock), now + 2 * self.delay)
        self.pairs[client_sock] = (pair, pair.client)
        self.pairs[server_sock] = (pair, pair.server)

    def wanted(self, pair: Pair, side: Side, now: float) -> int:
        events = 0
        destination = pair.other(side)
        if (
            side.read_open
            and now >= pair.not_before
            and self.direction_from(pair, side).space(now) >= self.direction_from(pair, side).packet
            and len(destination.outgoing) < DELIVERY_BACKLOG
        ):
            events |= selectors.EVENT_READ
        if side.outgoing:
            events |= selectors.EVENT_WRITE
        return events

    def refresh(self, now: float) -> None:
        """Watch each socket for exactly what it may do now (select has no "paused")."""
        for sock, (pair, side) in self.pairs.items():
            events = self.wanted(pair, side, now)
            if events == side.watching:
                continue
            if not events:
                self.selector.unregister(sock)
            elif not side.watching:
                self.selector.register(sock, events, side)
            else:
                self.selector.modify(sock, events, side)
            side.watching = events

    def next_wakeup(self, now: float) -> float:
        times = [d.line[0][0] for d in (self.up, self.down) if d.line]
        for pair, side in self.pairs.values():
            if side is pair.client and now < pair.not_before:
                times.append(pair.not_before)
        for direction in (self.up, self.down):
            if direction.space(now) < direction.packet:
                times.append(direction.when_space())
        return max(0.0, min(times) - now) if times else 1.0

    def run(self) -> None:
        while True:
            now = time.monotonic()
            self.refresh(now)
            for key, events in self.selector.select(self.next_wakeup(now)):
                now = time.monotonic()
                if key.fileobj is self.listen:
                    self.accept(now)
                    continue
                side: Side = key.data
                if side.sock not in self.pairs:
                    continue
                pair, _ = self.pairs[side.sock]
                if events & selectors.EVENT_READ:
                    self.read(pair, side, now)
                if events & selectors.EVENT_WRITE and side.sock in self.pairs:
                    self.write(pair, side)
            now = time.monotonic()
            for direction in (self.up, self.down):
                for destination, data in direction.arrived(now):
                    if destination.sock not in self.pairs:
                        continue
                    if data is None:
                        destination.eof_due = True
                    else:
                        destination.outgoing += data
                    self.write(self.pairs[destination.sock][0], destination)

    def read(self, pair: Pair, side: Side, now: float) -> None:
        direction = self.direction_from(pair, side)
        size = min(READ_CHUNK, direction.space(now))
        if size <= 0:
            return
        try:
            data = side.sock.recv(size)
        except BlockingIOError:
            return
        except OSError:
            self.drop(pair)
            return
        if data:
            direction.send(now, pair.other(side), data)
        else:
            side.read_open = False
            direction.close(now, pair.other(side))

    def write(self, pair: Pair, side: Side) -> None:
        try:
            if side.outgoing:
                sent = side.sock.send(side.outgoing)
                del side.outgoing[:sent]
            if side.eof_due and not side.outgoing:
                side.sock.shutdown(socket.SHUT_WR)
                side.eof_due = False
                if not pair.other(side).read_open and not side.read_open:
                    self.drop(pair)
        except BlockingIOError:
            pass
        except OSError as error:
            if error.errno != errno.EAGAIN:
                self.drop(pair)

    def drop(self, pair: Pair) -> None:
        for side in (pair.client, pair.server):
            if side.sock in self.pairs:
                del self.pairs[side.sock]
                if side.watching:
                    self.selector.unregister(side.sock)
                side.sock.close()


def small_buffers(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)


def default_queue(rate: float, delay: float) -> int:
    """One bandwidth-delay product (rate x round trip), at least 16 kB."""
    return max(16384, int(rate * 2 * delay))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--rate-mbit", type=float, required=True, help="per direction")
    parser.add_argument("--delay-ms", type=float, required=True, help="one way")
    parser.add_argument("--queue-bytes", type=int, help="bottleneck queue; default 1 BDP")
    args = parser.parse_args()
    rate, delay = args.rate_mbit * 1e6 / 8, args.delay_ms / 1000
    listen = socket.socket()
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    small_buffers(listen)  # accepted sockets inherit them
    listen.bind(("127.0.0.1", 0))
    listen.listen(16)
    print(listen.getsockname()[1], flush=True)
    proxy = LinkProxy(
        listen, args.target_port, rate, delay, args.queue_bytes or default_queue(rate, delay)
    )
    proxy.run()


if __name__ == "__main__":
    main()
