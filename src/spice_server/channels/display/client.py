"""One client of a display: its surface, its dirty region, and what it is sent next.

Each client keeps its own dirty region. When its socket and ack window have room, it reads
the current pixels of a dirty rectangle, encodes them and sends a draw. A slow client
therefore never sees stale frames queued up: it simply gets the newest pixels later. The
order at start follows libspice: SET_ACK, SURFACE_CREATE, MONITORS_CONFIG, the full
surface, then MARK (spice-gtk shows nothing before MARK follows a primary surface).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ...core.base import Timer
from ...display.encoding import LOSSLESS_ENCODERS, encode_bitmap, encode_jpeg_image
from ...display.framebuffer import CopyOp, Damage
from ...display.images import ImageKind, choose_image, may_go_lossy
from ...display.pixelset import PixelSet
from ...display.region import Region
from ...display.streams import Stream, StreamDetector
from ...interfaces.display import Display
from ...protocol.constants import DisplayCap, SurfaceFlags, SurfaceFormat
from ...protocol.messages.codec import ClientMessage
from ...protocol.messages.display import (
    MsgcDisplayInit,
    MsgcDisplayPreferredCompression,
    MsgcDisplayPreferredVideoCodecType,
    MsgcDisplayStreamReport,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayMark,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from ...protocol.rect import Rect
from ..base import Channel, Transport
from ..context import ClientLink
from ..session import Session
from .cache import KeptBudget, KeptScreens
from .copies import WaitingCopies
from .glz import GlzWindow
from .monitors import monitors_config
from .offload import URGENT_PIXELS, OffloadingClient
from .stills import JPEG_QUALITY, StillImages, repaint_region
from .stream import PRIMARY_SURFACE, Build, CodecChoice, Encode, StreamSender

PING_EVERY_BYTES = 32 * 1024  # within a burst, a ping this often: confirmations to measure by
PUMP_SLICE_S = 0.004  # the most one turn of the loop spends producing for one client
INIT_WAIT_MS = 250  # how long the first screen waits for the client's DISPLAY_INIT
REFINE_AFTER_S = 0.1  # lossy goes lossless once no JPEG-sized change outside streams came this long
MOVING_S = 0.5  # after a copy, how long spice-html5 gets no JPEG (see _send_rect)
JPEG_LANDS_S = 1.0  # how late spice-html5 may draw a JPEG (see _jpeg_landing)


class DisplayChannelClient(OffloadingClient):
    ack_window = 100  # messages: the link budget bounds the bytes; frames carry pings too
    max_message_size = 4 * 1024
    confirms_delivery = True

    def __init__(
        self,
        channel: Channel,
        session: Session,
        transport: Transport,
        link: ClientLink,
        display: Display,
        detector: StreamDetector,
        take_damage: Callable[[], None],
        kept: KeptBudget,
    ) -> None:
        super().__init__(channel, session, transport, link)
        self.display = display
        self.detector = detector
        self._take_damage = take_damage  # the channel's: spreads new damage to every client
        self._monitors_serial: int | None = None  # of the monitors the client was told
        self._surface = Rect(0, 0, 0, 0)
        self._dirty = Region()
        self._echoes = Region()  # dirty, small, and no copy came with them: they go first
        # Parts of dirty areas that differ from the cached screen, sent without asking it
        # again (back in _dirty, merges brought back rows drawn from it: drawn again).
        self._uncached = Region()
        # Where the client shows JPEG, and what of it is being repainted losslessly.
        self._lossy = PixelSet(display.width, display.height)
        self._refine = repaint_region()
        # (clock) The last JPEG-sized change, the last change (the first screen is one).
        self._last_change, self._changed_at = 0.0, self.clock.now()
        self._moved_at = self._jpeg_at = -JPEG_LANDS_S  # (clock) content last moved, a JPEG went
        self._wake_timer: Timer | None = None  # pumps again: to refine, for a snapshot
        self._init_timer: Timer | None = None  # waiting for DISPLAY_INIT
        self._glz = GlzWindow(session, kept)  # the images the client keeps for GLZ
        self._need_mark = False
        lz4_client = DisplayCap.LZ4_COMPRESSION in self.client_caps
        self._cache = KeptScreens(lz4_client, self.clock, kept)
        self.stills = StillImages(self.context.config, lz4_client, transport.link, self.clock)
        # When (clock) the burst began (bounds its LZ4 effort); a pump cut short continues it.
        self._pump_began, self._sliced = 0.0, False
        # spice-html5 (WebSocket) draws JPEG late, ignores clips, converts colours exactly.
        self._late_jpeg = self.connection.websocket is not None
        self._copies = WaitingCopies(honours_clips=not self._late_jpeg)
        # Moves (CopyOp.serial) handed to this client; moves, changes the last screen sent showed.
        self._moves_taken = self._moves_shown = self._changes_shown = 0
        # The framebuffer's changes taken, and those when last looked at for a snapshot.
        self._changes_taken = self._changes_looked_at = 0
        codecs = CodecChoice(self.context.config.video_codecs, self.client_caps)
        gtk = not self._late_jpeg
        self.streams = StreamSender(
            self, display.framebuffer, self.clock, codecs, corrected_colours=gtk, honours_clips=gtk
        )

    def start(self) -> None:
        super().start()
        # The first screen waits a little for DISPLAY_INIT: it may go to the client's cache.
        self._init_timer = self.context.core.timer_add(lambda _: self._init_done())
        self.context.core.timer_start(self._init_timer, INIT_WAIT_MS)

    def _init_done(self) -> None:
        if self._init_timer is not None:
            self.context.core.timer_remove(self._init_timer)
            self._init_timer = None
            self.pump()

    # -- StreamHost --------------------------------------------------------------------------

    def repaint(self, rect: Rect) -> None:
        """A stream ended, or its clip left ``rect`` out: that goes losslessly now, and for
        spice-html5 (no LZ4) again once still and its last frames surely drawn (as JPEG)."""
        self._refine.add(rect)
        if DisplayCap.LZ4_COMPRESSION not in self.client_caps:
            self._lossy.add(rect)
            self._jpeg_at = self.clock.now()

    def surface_generation(self) -> int | None:
        return self._generation

    def surface_rect(self) -> Rect:
        return self._surface

    def link_rate(self) -> float | None:
        return self.connection.link.rate

    def playback_active(self) -> bool:
        return self.context.playback_active

    # -- damage ------------------------------------------------------------------------------

    def damage(self, damage: Damage, streams: list[Stream]) -> None:
        """Take the channel's new damage (that of a whole screen sent since is in it)."""
        self._moves_taken = max(self._moves_taken, damage.moves)
        if damage.changes > self._changes_taken:  # the screen is not settled (a snapshot)
            self._changes_taken, self._changed_at = damage.changes, self.clock.now()
        ops = damage.ops if damage.changes > self._changes_shown else []
        for area in self.streams.follow(streams):  # a new stream draws there: stills = seams
            for region in (self._dirty, self._echoes, self._uncached, self._refine, self._lossy):
                region.remove(area)
        # A change this small that moved nothing (an echo) goes ahead of the rest: _produce.
        size = sum(URGENT_PIXELS if isinstance(op, CopyOp) else op.area for op in ops)
        for rect in ops:
            if isinstance(rect, CopyOp):
                self._copy(rect)
                self._last_change = self.clock.now()
                continue
            parts = self.streams.take(rect)
            self._dirty.update(parts)
            if size <= URGENT_PIXELS:
                self._echoes.update(parts)
            # A stream's frames (its area is repainted as it ends) hold no repaint back.
            if any(may_go_lossy(part.width, part.height) for part in parts):
                self._last_change = self.clock.now()

    def _copy(self, op: CopyOp) -> None:
        """Move pixels on the client as they moved here, and what was stale moves along.
        The copy waits in order for the link (a few bytes, where repainting what moved
        costs an image) and goes before any later draw. Where it cannot help (no surface
        yet, a stream in the way, too many waiting, a JPEG spice-html5 may not have drawn
        yet: see _send_rect) the destination is marked stale."""
        src, dest = op.src, op.dest
        self._cache.moved(dest.left - src.left, dest.top - src.top)
        if op.serial <= self._moves_shown:
            return  # the whole screen sent since already showed it moved
        self._moved_at = self.clock.now()
        cannot = self._generation != self.display.framebuffer.generation or self._copies.full()
        if cannot or self.streams.overlaps(src.union(dest)) or self._jpeg_landing():
            self._dirty.add(dest)
            return
        self._dirty = self._dirty.moved(src, dest)
        self._echoes = self._echoes.moved(src, dest)
        self._uncached = self._uncached.moved(src, dest)
        self._lossy.move(src, dest)
        self._refine = self._refine.moved(src, dest)
        self._copies.add(op)

    # -- messages from the client ------------------------------------------------------------

    def handle_message(self, message: ClientMessage) -> None:
        match message:
            case MsgcDisplayInit(pixmap_cache_size=pixels, glz_dictionary_window_size=window):
                self._cache.room = max(0, pixels)
                self._glz.open(window, DisplayCap.LZ4_COMPRESSION in self.client_caps)
                self._init_done()
            case MsgcDisplayPreferredCompression(image_compression=compression):
                self.stills.preferred = compression
                self.quiet_log.info("%r: client prefers image compression %d", self, compression)
            case MsgcDisplayPreferredVideoCodecType(codecs=codecs):
                self.streams.codecs.preferred = codecs
                self.quiet_log.info("%r: client prefers video codecs %s", self, list(codecs))
            case MsgcDisplayStreamReport():
                self.streams.report(message, self.detector.streams)
                self.pump()
            case _:
                super().handle_message(message)

    # -- producing ---------------------------------------------------------------------------

    def pump(self) -> None:
        if self._init_timer is not None:
            return  # the first screen waits for DISPLAY_INIT
        with self.connection.corked():  # a frame's messages in one send
            self._produce()
            self.ping_after_writes()

    def _produce(self) -> None:
        """Send what is due, most urgent first, while the link has room (a slice a turn)."""
        framebuffer, began = self.display.framebuffer, self.clock.now()
        self._pump_began, self._sliced = self._pump_began if self._sliced else began, False
        # Copies (left waiting, repaints) and an echo may overdraw the budget (can_send_more).
        moved = bool(self._copies)
        while self._copies and self.can_send_more(urgent=True):
            self._send_copy()
        echo = bool(self._echoes) or self._small_change()
        if echo and not self._copies and self._echo_may_go(self._echoes or self._dirty):
            for rect in self._echoes or [self._dirty.pop()]:
                self._dirty.remove(rect)
                self._send_rect(rect)
            self._echoes.clear()
        if (moved or echo) and not self._copies:  # they show at once, what is uncovered after
            self.connection.push()
        while self.can_send_more():
            if self.clock.now() - began > PUMP_SLICE_S:
                self._pump_in(0)  # the loop's other work first (a capture, an echo, input)
                self._sliced = True
                return
            self.ping_after_writes(at_least=PING_EVERY_BYTES)  # confirmations within bursts
            if self._generation != framebuffer.generation:
                self._create_surface()
                continue
            if self._monitors_serial != self.display.monitors_serial:
                self._send_monitors()
                continue
            if self._copies:
                self._send_copy()
                continue
            if self.streams.frame_due() and not self._small_change():  # an echo goes first
                self.connection.push()  # what is ready leaves before the frame is encoded
                self.streams.send_frame()
                continue
            if self._uncached:
                self._send_rect(self._uncached.pop(), cached=False)
                continue
            if self._dirty:
                rect = self._dirty.pop()
                self._echoes.remove(rect)
                self._send_rect(rect)
                continue
            if self._need_mark:
                self.send(MsgDisplayMark())
                self._need_mark = False
                continue
            if not self._refine and not self._start_refining():
                self._keep_snapshot()
                return
            if self._refine:
                self._send_rect(self._refine.pop(), lossless=True)

    def _send_copy(self) -> None:
        """The next copy, after the draws that show with it (copies.py): small ones may
        overdraw the budget as it does; not while one is being encoded. What they draw
        stays dirty: cut out, the rest would go as slivers that cost more."""
        for piece in self._copies.draws_before(self._dirty):
            if len(self._copies) != 1 or not self.can_send_more(piece.area <= URGENT_PIXELS):
                break  # a draw took a newer move first, or the budget is spent
            self._send_rect(piece)
        if self.can_send_more(urgent=True):
            self._send_built(self._copies.popleft(), "copy")

    def _small_change(self) -> bool:
        """Whether all that is dirty is small (an echo): it goes before stream frames."""
        return bool(self._dirty) and self._dirty.area <= URGENT_PIXELS

    def _start_refining(self) -> bool:
        """Once the screen has been still a while, repaint what went lossy losslessly."""
        if not self._lossy:
            return False
        wait = self._last_change + REFINE_AFTER_S - self.clock.now()
        if self._late_jpeg:
            wait = max(wait, self._jpeg_at + JPEG_LANDS_S - self.clock.now())
        if wait > 0:
            self._pump_in(wait)
            return False
        self._refine = repaint_region(self._lossy.take())
        return True

    def _jpeg_landing(self) -> bool:
        """Whether a JPEG may still land over what is drawn now: spice-html5 draws one once
        loaded, late on a loaded machine; what is drawn meanwhile stays lossy (repainted)."""
        return self._late_jpeg and self.clock.now() - self._jpeg_at < JPEG_LANDS_S

    def _keep_snapshot(self) -> None:
        """All is sent and nothing went lossy: the client shows the screen exactly, which
        it may keep on an off-screen surface to draw from later (cache.py)."""
        framebuffer = self.display.framebuffer
        changes = max(self._changes_taken, self._changes_shown)
        if self._lossy or self.streams.active or changes == self._changes_looked_at:
            return
        wait = self._cache.snapshot_in(self._changed_at)
        if wait > 0:
            self._pump_in(wait)
            return
        generation, _moves, now_changes, pixels = framebuffer.read_with_moves(self._surface)
        if generation != self._generation or now_changes != changes:
            return  # changes not taken yet: the client will be sent them first
        self._changes_looked_at = changes
        messages = self._cache.snapshot(generation, pixels)
        for message in messages:
            self.send(message)
        if messages:
            self.count("snapshot")

    def _pump_in(self, seconds: float) -> None:
        if self._wake_timer is None:
            self._wake_timer = self.context.core.timer_add(lambda _: self.pump())
        self.context.core.timer_start(self._wake_timer, int(seconds * 1000) + 1 if seconds else 0)

    def on_closed(self) -> None:
        for timer in (self._wake_timer, self._init_timer):
            if timer is not None:
                self.context.core.timer_remove(timer)
        # Its largest holdings go now, whoever still refers to it (an encoder thread).
        self.streams.end(repaint=False)
        self._cache.forget()
        self._glz.close()

    def _create_surface(self) -> None:
        framebuffer = self.display.framebuffer
        width, height = framebuffer.width, framebuffer.height
        self.streams.end(repaint=False)
        self._copies.clear()  # the new surface is sent whole
        self._lossy.resize(width, height)
        self._refine.clear()
        for message in self._cache.forget():  # the old screens are of no more use
            self.send(message)
        if self._generation is not None:
            self.send(MsgDisplaySurfaceDestroy(PRIMARY_SURFACE))
        self._generation = framebuffer.generation
        self._surface = Rect(0, 0, width, height)
        pixel_format, flags = SurfaceFormat.XRGB32, SurfaceFlags.PRIMARY
        self.send(MsgDisplaySurfaceCreate(PRIMARY_SURFACE, width, height, pixel_format, flags))
        self._send_monitors()
        # The first image is the whole surface in one draw, as libspice sends it: simple
        # clients (spicy-screenshot) take the first draw after the surface as "the screen".
        for region in (self._dirty, self._echoes, self._uncached):
            region.clear()
        self._send_rect(self._surface, whole=True)
        self._need_mark = True

    def _send_monitors(self) -> None:
        """Where the surface's monitors are, to a client that takes it (monitors.py)."""
        message, self._monitors_serial = monitors_config(self.display, self.client_caps)
        if message is not None:
            self.send(message)

    def _send_rect(
        self, rect: Rect, whole: bool = False, lossless: bool = False, cached: bool = True
    ) -> None:
        """Draw ``rect`` from the current pixels; ``cached``: parts equal to the cached
        screen may be drawn from it."""
        rect = rect.intersect(self._surface)
        if rect.is_empty():
            return
        # spice-html5 draws a JPEG once it is loaded but copies at once: a copy that came
        # meanwhile would move pixels the JPEG had not drawn yet, and it lands unmoved.
        unordered = self._late_jpeg and self.clock.now() - self._moved_at < MOVING_S
        policy = self.stills.policy(self.link_full_at, lossless or unordered)
        # A large area goes in bands (its top first), but a video's frame going as JPEG is
        # read and sent whole, as its stream's will be: bands read in turn show different
        # frames, and spice-html5 draws JPEGs as they load, in any order.
        band, rest = self.stills.cut(policy, rect) if not whole else (rect, None)
        could_go_whole = rest is not None and policy.allows_jpeg(rect.width, rect.height)
        if rest is not None and not (could_go_whole and self.detector.changing(rect)):
            self._pending(lossless, cached).add(rest)
            rect, rest = band, None
        generation, moves, changes, pixels = self.display.framebuffer.read_with_moves(rect)
        if whole:  # copies up to this one, and changes up to these, are in these pixels
            self._moves_shown, self._changes_shown = moves, changes
        elif moves > self._moves_taken:
            # Pixels moved that this client was not told of: take that damage (its copy) first.
            self._pending(lossless, cached).add(rect)
            self._take_damage()
            return
        if generation != self._generation:
            return  # resized meanwhile; the next pump re-creates the surface
        kind = choose_image(pixels, policy) if rest is not None else None
        if rest is not None and kind is not ImageKind.JPEG:
            self._pending(lossless, cached).add(rest)
            rect, kind, pixels = band, None, pixels[: band.height]
        draw: Build = functools.partial(MsgDisplayDrawCopy, PRIMARY_SURFACE, rect)
        if cached and not whole and self._from_reference(rect, pixels, lossless):
            return
        kind = kind or choose_image(pixels, policy)
        if kind is ImageKind.JPEG:
            self._lossy.add(rect)
            self._jpeg_at = self.clock.now()
        elif not lossless and not self._jpeg_landing():
            self._lossy.remove(rect)  # (a refinement leaves _lossy to the next: see repaint)
        if kind is ImageKind.FILL:
            # One colour: a 41-byte fill instead of an image (every client draws fills).
            color = int(pixels.flat[0]) & 0xFFFFFF
            self._send_built(MsgDisplayDrawFill(PRIMARY_SURFACE, rect, color), "fill")
            return
        encode: Encode = encode_bitmap
        unwanted: Build | None = None  # a GLZ image's draw of nothing (glz.py)
        if kind is ImageKind.JPEG:
            encode = functools.partial(encode_jpeg_image, quality=JPEG_QUALITY)
        elif whole and self._cache.may_keep(pixels):
            # The whole screen, kept by the client: later it can draw parts of it again.
            cache_id = self._cache.keep(self._generation or 0, pixels)
            keeping = LOSSLESS_ENCODERS.get(kind, encode_bitmap)
            encode = functools.partial(keeping, cache_id=cache_id)
        elif kind is ImageKind.LZ4 and policy.glz and self._glz.usable():
            kind, (encode, draw, unwanted) = ImageKind.GLZ, self._glz.begin(draw)
        else:
            encode = self.stills.encoder(kind, self._pump_began)
        self.encode(pixels, encode, draw, kind.value, (rect,), unwanted=unwanted)

    def _pending(self, lossless: bool, cached: bool) -> Region:
        """Where an area put back for later goes, so that it is sent the same way then."""
        return self._refine if lossless else self._dirty if cached else self._uncached

    def _from_reference(self, rect: Rect, pixels: np.ndarray, lossless: bool) -> bool:
        """Draw from a screen the client keeps (cache.py) what shows as it did there, or
        moved; True if any part was. The parts that differ are sent next as images."""
        kind, draws, other = self._cache.draws(self._generation, rect, pixels, lossless)
        for draw in draws:
            self._send_built(draw, kind)
            if not self._jpeg_landing():
                self._lossy.remove(draw.box)
        self._pending(lossless, cached=False).update(other)
        return bool(draws)
