"""The display channel itself: the damage of one display, spread to each of its clients.

The back end's writes accumulate as damage in the framebuffer. When the server's loop
picks them up, the channel takes the damage once, lets the stream detector see it (which
areas are video), and hands the same operations to every client, each of which sends
them at its own pace.
"""

from __future__ import annotations

import numpy as np

from ...display.streams import StreamDetector
from ...interfaces.display import Display
from ...protocol.constants import ChannelType, DisplayCap
from ...protocol.rect import Rect
from ..base import Channel, Transport
from ..context import ChannelContext, ClientLink
from ..session import Session
from .client import DisplayChannelClient

STREAM_CHECK_MS = 5  # past the moment a stream would end, when its end is checked


class DisplayChannel(Channel):
    type = ChannelType.DISPLAY

    def __init__(self, context: ChannelContext, display: Display) -> None:
        super().__init__(context, display.display_id)
        self.display = display
        self.detector = StreamDetector(photographic_only=context.config.streaming_video == "filter")
        self._expiry = context.core.timer_add(self._expire_stream)

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
            self, session, transport, link, self.display, self.detector, self.take_damage
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
        stream = None
        if self.context.config.streaming_video != "off":
            had = self.detector.stream
            rects = [op for op in damage.ops if isinstance(op, Rect)]
            stream = self.detector.observe(rects, self.context.clock.now(), self._read)
            if stream is not None and had is None:
                self._check_expiry(stream.ends_at())
            self.display.framebuffer.hot = stream.rect if stream is not None else None
        for client in self.display_clients():
            client.damage(damage, stream)

    def _pump_all(self) -> None:
        for client in self.display_clients():
            client.pump()

    def _read(self, rect: Rect) -> np.ndarray:
        return self.display.framebuffer.read(rect)[1]

    def _expire_stream(self, opaque: object) -> None:
        # Damage first: a frame may be waiting (a busy loop), and it keeps the stream. An
        # idle stream ends in the detector there, and clients repaint its area.
        self.take_damage()
        if self.detector.stream is None:
            self._pump_all()
        else:
            self._check_expiry(self.detector.stream.ends_at())

    def _check_expiry(self, when: float) -> None:
        """Look again when the stream would end, a little after (timers are coarse)."""
        wait = max(0.0, when - self.context.clock.now())
        self.context.core.timer_start(self._expiry, int(wait * 1000) + STREAM_CHECK_MS)

    def close(self, reason: str) -> None:
        self.context.core.timer_remove(self._expiry)
        super().close(reason)
