"""The display channel itself: the damage of one display, spread to each of its clients.

The back end's writes accumulate as damage in the framebuffer. When the server's loop
picks them up, the channel takes the damage once, lets the stream detector see it (which
areas are video), and hands the same operations to every client, each of which sends
them at its own pace.
"""

from __future__ import annotations

import numpy as np

from ...display.streams import Stream, StreamDetector
from ...interfaces.display import Display
from ...protocol.constants import ChannelType, DisplayCap
from ...protocol.rect import Rect
from ..base import Channel, Transport
from ..context import ChannelContext, ClientLink
from ..session import Session
from .cache import KeptBudget
from .client import DisplayChannelClient

STREAM_CHECK_MS = 5  # past the moment a stream would end, when its end is checked


class DisplayChannel(Channel):
    type = ChannelType.DISPLAY

    def __init__(self, context: ChannelContext, display: Display) -> None:
        super().__init__(context, display.display_id)
        self.display = display
        self.detector = StreamDetector(photographic_only=context.config.streaming_video == "filter")
        self._expiry = context.core.timer_add(self._expire_streams)
        self._expiry_at: float | None = None  # when the expiry timer fires
        self._kept = KeptBudget()  # what its clients' kept screens may hold

    def caps(self) -> frozenset[int]:
        return frozenset(
            {
                DisplayCap.MONITORS_CONFIG,
                DisplayCap.PREF_COMPRESSION,
                DisplayCap.STREAM_REPORT,
                DisplayCap.PREF_VIDEO_CODEC_TYPE,
            }
        )

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> DisplayChannelClient:
        return DisplayChannelClient(
            self,
            session,
            transport,
            link,
            self.display,
            self.detector,
            self.take_damage,
            self._kept,
        )

    def display_clients(self) -> list[DisplayChannelClient]:
        return [client for client in self.clients if isinstance(client, DisplayChannelClient)]

    def distribute(self) -> None:
        """Hand the display's new damage to every client and let them send."""
        self.take_damage()
        self._pump_all()

    def take_damage(self) -> None:
        """Hand the display's new damage to every client, without letting them send yet."""
        damage = self.display.framebuffer.take_damage()
        streams: list[Stream] = []
        if self.context.config.streaming_video != "off":
            rects = [op for op in damage.ops if isinstance(op, Rect)] + damage.seen
            now, bounds = self.context.clock.now(), self.display.framebuffer.bounds
            streams = self.detector.observe(rects, now, self._read, bounds)
            if streams:
                self._check_expiry(min(stream.ends_at() for stream in streams))
            self.display.framebuffer.hot = tuple(stream.rect for stream in streams)
        for client in self.display_clients():
            client.damage(damage, streams)

    def _pump_all(self) -> None:
        for client in self.display_clients():
            client.pump()

    def _read(self, rect: Rect) -> np.ndarray:
        return self.display.framebuffer.read(rect)[1]

    def _expire_streams(self, opaque: object) -> None:
        # Damage first: a frame may be waiting (a busy loop), and it keeps its stream. An
        # idle stream ends in the detector there, and clients repaint its area.
        self._expiry_at = None
        self.take_damage()
        self._pump_all()

    def _check_expiry(self, when: float) -> None:
        """Look again when the first stream would end, a little after (timers are coarse);
        a later end leaves the timer as it is (each firing sets it for the next)."""
        if self._expiry_at is not None and self._expiry_at <= when:
            return
        self._expiry_at = when
        wait = max(0.0, when - self.context.clock.now())
        self.context.core.timer_start(self._expiry, int(wait * 1000) + STREAM_CHECK_MS)

    def close(self, reason: str) -> None:
        self.context.core.timer_remove(self._expiry)
        super().close(reason)
