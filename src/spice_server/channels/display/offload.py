"""A display client's encodes: small images at once, large ones off the loop, one at a time.

A large image or video frame is encoded on the server's encoder threads, so that the loop
stays free for input and the other clients meanwhile. While one is, its client produces
nothing else but an echo beside it (not under it: the older pixels would cover it), so
that its messages keep their order where they overlap.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future

import numpy as np

from ...protocol.messages.codec import ServerMessage
from ...protocol.rect import Rect
from ..base import Channel, ChannelClient, Transport
from ..context import ClientLink
from ..session import Session
from .stream import Build, Encode

log = logging.getLogger(__name__)

OFFLOAD_PIXELS = 64 * 1024  # images larger than this are encoded off the loop
URGENT_PIXELS = 128 * 128  # changes this small go before stream frames and costly encodes


class OffloadingClient(ChannelClient):
    """A channel client whose images are encoded here or on the encoder threads; the
    display client builds on it: it keeps ``_generation`` and pumps when one is sent."""

    def __init__(
        self, channel: Channel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        # Of the surface the client has: an encode for an older one is dropped.
        self._generation: int | None = None
        # Where an image or frame being encoded draws (None: nothing is being encoded).
        self._encoding: tuple[Rect, ...] | None = None
        self.images: Counter[str] = Counter()  # images sent, by encoding

    def count(self, kind: str) -> None:
        self.images[kind] += 1

    def encode(
        self,
        pixels: np.ndarray,
        encode: Encode,
        build: Build,
        kind: str,
        area: tuple[Rect, ...],
        still_wanted: Callable[[], bool] = lambda: True,
        unwanted: Build | None = None,
    ) -> None:
        """Encode and send the pixels that draw on ``area`` (a stream's frame: its clip):
        on the loop if small, else on the encoder threads, sent when done if the surface
        and ``still_wanted()`` still are (else as ``unwanted`` builds it, if given: an
        image the client must get all the same)."""
        if pixels.size > URGENT_PIXELS:
            self.connection.push()  # what is ready leaves before a costly encode
        if pixels.size < OFFLOAD_PIXELS:
            self._send_built(build(encode(pixels)), kind)
            return
        generation = self._generation
        self._encoding = area

        def done(result: Future[bytes]) -> None:
            self._encoding = None
            if self.closed:
                return
            try:
                data = result.result()
            except Exception:
                log.exception("%r: encoding an image failed", self)
                self.close("an image could not be encoded", logging.ERROR)
                return
            if generation == self._generation and still_wanted():
                self._send_built(build(data), kind)
            elif unwanted is not None:
                self._send_built(unwanted(data), kind)
            self.pump()

        self.context.offload(functools.partial(encode, pixels), done)

    def _send_built(self, message: ServerMessage | None, kind: str) -> None:
        if message is not None:
            self.send(message)
            self.count(kind)

    def can_send_more(self, urgent: bool = False) -> bool:
        return self._encoding is None and super().can_send_more(urgent)

    def _echo_may_go(self, echoes: Iterable[Rect]) -> bool:
        """Whether an echo (``echoes``) may go now: past what fills the link's budget, and
        past an image or frame being encoded beside it, not under it."""
        busy = self._encoding
        if busy is not None and any(not r.intersect(b).is_empty() for r in echoes for b in busy):
            return False
        return super().can_send_more(urgent=True)
