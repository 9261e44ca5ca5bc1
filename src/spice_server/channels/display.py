"""The display channel: one per Display, sending its surface to each client as it changes.

Each client keeps its own dirty region. When its socket and ack window have room, it reads
the current pixels of a dirty rectangle, encodes them and sends a DRAW_COPY. A slow client
therefore never sees stale frames queued up: it simply gets the newest pixels later. The
order at start follows libspice: SET_ACK, SURFACE_CREATE, MONITORS_CONFIG, the full
surface, then MARK (spice-gtk shows nothing before MARK follows a primary surface).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..display.encoding import encode_bitmap, encode_lz4
from ..display.region import Region
from ..protocol.constants import (
    ChannelType,
    DisplayCap,
    ImageCompression,
    SurfaceFlags,
    SurfaceFormat,
)
from ..protocol.messages.display import (
    MonitorHead,
    MsgcDisplayInit,
    MsgcDisplayPreferredCompression,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayMark,
    MsgDisplayMonitorsConfig,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from ..protocol.rect import Rect
from .base import Channel, ChannelClient

if TYPE_CHECKING:
    from ..interfaces.display import Display

log = logging.getLogger(__name__)

PRIMARY_SURFACE = 0
MAX_DRAW_BYTES = 256 * 1024  # raw pixels per DRAW_COPY; larger areas go in bands
LOSSLESS_COMPRESSIONS = {
    ImageCompression.LZ4,
    ImageCompression.AUTO_LZ,
    ImageCompression.AUTO_GLZ,
    ImageCompression.LZ,
    ImageCompression.GLZ,
    ImageCompression.QUIC,
}


class DisplayChannel(Channel):
    type = ChannelType.DISPLAY

    def __init__(self, server: Any, display: Display) -> None:
        super().__init__(server, display.display_id)
        self.display = display

    def caps(self) -> frozenset[int]:
        return frozenset({DisplayCap.MONITORS_CONFIG, DisplayCap.PREF_COMPRESSION})

    def create_client(self, session: Any, connection: Any, link: Any) -> DisplayChannelClient:
        return DisplayChannelClient(self, session, connection, link)

    def distribute(self) -> None:
        """Hand the display's new damage to every client and let them send."""
        _generation, rects = self.display.framebuffer.take_damage()
        for client in self.clients:
            assert isinstance(client, DisplayChannelClient)
            client.damage(rects)
            client.pump()


class DisplayChannelClient(ChannelClient):
    ack_window = 20
    max_message_size = 4 * 1024

    channel: DisplayChannel

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.display = self.channel.display
        self._generation: int | None = None  # of the surface the client has
        self._surface = Rect(0, 0, 0, 0)
        self._dirty = Region()
        self._need_mark = False
        self.preferred_compression: int | None = None
        self.images: Counter[str] = Counter()  # images sent, by encoding

    def start(self) -> None:
        super().start()
        self.pump()

    def damage(self, rects: list[Rect]) -> None:
        self._dirty.update(rects)

    def handle_message(self, message: Any) -> None:
        match message:
            case MsgcDisplayInit():
                pass  # cache and dictionary ids: we use neither yet
            case MsgcDisplayPreferredCompression(image_compression=compression):
                self.preferred_compression = compression
                log.info("%r: client prefers image compression %d", self, compression)
            case _:
                super().handle_message(message)

    def pump(self) -> None:
        framebuffer = self.display.framebuffer
        while self.can_send_more():
            if self._generation != framebuffer.generation:
                self._create_surface()
                continue
            if not self._dirty:
                if self._need_mark:
                    self.send(MsgDisplayMark())
                    self._need_mark = False
                return
            self._send_rect(self._dirty.pop())

    def _create_surface(self) -> None:
        framebuffer = self.display.framebuffer
        width, height = framebuffer.width, framebuffer.height
        if self._generation is not None:
            self.send(MsgDisplaySurfaceDestroy(PRIMARY_SURFACE))
        self._generation = framebuffer.generation
        self._surface = Rect(0, 0, width, height)
        self.send(
            MsgDisplaySurfaceCreate(
                PRIMARY_SURFACE, width, height, SurfaceFormat.XRGB32, SurfaceFlags.PRIMARY
            )
        )
        self.send(MsgDisplayMonitorsConfig((MonitorHead(0, PRIMARY_SURFACE, width, height),), 1))
        # The first image is the whole surface in one draw, as libspice sends it: simple
        # clients (spicy-screenshot) take the first draw after the surface as "the screen".
        self._dirty.clear()
        self._send_rect(self._surface, whole=True)
        self._need_mark = True

    def _send_rect(self, rect: Rect, whole: bool = False) -> None:
        rect = rect.intersect(self._surface)
        if rect.is_empty():
            return
        rows = max(1, MAX_DRAW_BYTES // (rect.width * 4))
        if rect.height > rows and not whole:
            # Send the top band now and leave the rest dirty: a later pass reads newer pixels.
            self._dirty.add(Rect(rect.left, rect.top + rows, rect.right, rect.bottom))
            rect = Rect(rect.left, rect.top, rect.right, rect.top + rows)
        generation, pixels = self.display.framebuffer.read(rect)
        if generation != self._generation:
            return  # resized meanwhile; the next pump re-creates the surface
        first = pixels.flat[0]
        if (pixels == first).all():
            # One colour: a 41-byte fill instead of an image (every client draws fills).
            self.send(MsgDisplayDrawFill(PRIMARY_SURFACE, rect, int(first) & 0xFFFFFF))
            self.images["fill"] += 1
            return
        if self._use_lz4():
            image, encoding = encode_lz4(pixels), "lz4"
        else:
            image, encoding = encode_bitmap(pixels), "bitmap"
        self.send(MsgDisplayDrawCopy(PRIMARY_SURFACE, rect, image))
        self.images[encoding] += 1

    def _use_lz4(self) -> bool:
        if DisplayCap.LZ4_COMPRESSION not in self.client_caps:
            return False
        setting = self.server.image_compression
        if self.preferred_compression in (ImageCompression.OFF, *LOSSLESS_COMPRESSIONS):
            setting = ImageCompression(self.preferred_compression)
        return setting != ImageCompression.OFF
