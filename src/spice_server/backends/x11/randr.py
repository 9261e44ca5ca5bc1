"""The screen's layout through RandR: a client's monitors ask for it, X says it changed.

A client's monitors config becomes one X output per monitor, each on a CRTC at the
monitor's place, and the X screen their bounding box; the monitors X then shows (its lit
CRTCs) go back to the Display, so clients open a window per monitor. Xorg (also with its
dummy driver, whose 16 outputs light up as modes are set on them) lays out any sizes,
making modes it lacks; an X server with fewer free outputs than monitors shows the first
ones it can, and Xvfb (one output, no growing past its start size) the first alone; what
it cannot do is logged and answered as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import xcffib
import xcffib.randr
import xcffib.xproto as xp

from ...protocol.agent import MonitorConfig
from ...protocol.rect import Rect
from .connection import XConnection, XEvent, x_call

log = logging.getLogger(__name__)

MIN_SIZE = 64
DPI = 96
NOTIFY_MASK = (
    xcffib.randr.NotifyMask.ScreenChange
    | xcffib.randr.NotifyMask.CrtcChange
    | xcffib.randr.NotifyMask.OutputChange
)


class RandrError(Exception):
    pass


class ScreenSize:
    """Lays the X screen out on request and reports its changes: the size to
    ``on_resized``, the monitors (areas of the screen, in the client's order) to
    ``on_monitors``.

    ``size`` gives the size the rest of the back end is at, so that a change it already
    follows is not reported twice.
    """

    def __init__(
        self,
        x: XConnection,
        size: Callable[[], tuple[int, int]],
        on_resized: Callable[[int, int], None],
        on_monitors: Callable[[list[Rect]], None] = lambda monitors: None,
    ) -> None:
        self.x = x
        self.size = size
        self.on_resized = on_resized
        self.on_monitors = on_monitors
        self.max_monitors = 1
        self.randr: xcffib.randr.randrExtension | None = None
        self._order: list[int] = []  # CRTCs in the order of the client's monitors
        self._lit: set[int] = set()  # CRTCs turned on here beyond the first output's
        if not x.has_extension("RANDR"):
            log.warning("the X server has no RandR: clients cannot resize it")
            return
        self.randr = x.conn(xcffib.randr.key)
        self.randr.QueryVersion(1, 5).reply()
        self.randr.SelectInput(x.root, NOTIFY_MASK)
        resources = self.randr.GetScreenResourcesCurrent(x.root).reply()
        self.max_monitors = max(1, min(len(resources.crtcs), len(resources.outputs)))

    def current(self) -> tuple[int, int]:
        """The screen's size as the back end follows it (the resize policy compares it
        with the size to give back)."""
        return self.size()

    def handle(self, event: XEvent) -> bool:
        if isinstance(event, xcffib.randr.ScreenChangeNotifyEvent):
            if (event.width, event.height) != self.size():
                # A layout sends one event per step: follow where it ended, once.
                geometry = self.x.conn.core.GetGeometry(self.x.root).reply()
                if (geometry.width, geometry.height) != self.size():
                    self.on_resized(geometry.width, geometry.height)
            self.report()
            return True
        if isinstance(event, xcffib.randr.NotifyEvent):
            self.report()
            return True
        return False

    def report(self) -> None:
        """Tell ``on_monitors`` what X shows now: its lit CRTCs, ours in the client's order."""
        if self.randr is not None:
            self.on_monitors(lit_crtcs(self.randr, self.x.root, self._order))

    def resize(self, width: int, height: int) -> bool:
        """One width x height monitor: the first output alone, at that size."""
        return bool(self.configure([MonitorConfig(width, height)]))

    @x_call
    def configure(self, monitors: Sequence[MonitorConfig]) -> bool:
        """Lay the screen out as these monitors (widths rounded down to 8, the layout moved
        to the origin); False, logged with the reason, where X cannot show them all."""
        wanted = layout([m for m in monitors if m.width > 0 and m.height > 0])
        if self.randr is None or not wanted:
            return False
        small = [r for r in wanted if r.width < MIN_SIZE or r.height < MIN_SIZE]
        if small:
            log.warning("refusing monitors under %dx%d: %s", MIN_SIZE, MIN_SIZE, _name(small))
            return False
        if (
            len(wanted) == 1
            and not self._lit
            and (wanted[0].right, wanted[0].bottom) == (self.size())
        ):
            return True
        try:
            order, refusal = randr_layout(self.x.conn, self.randr, self.x.root, wanted, self._lit)
        except (xcffib.XcffibException, RandrError) as exc:
            log.warning("the X server cannot change to %s: %s", _name(wanted), _why(exc))
            return False
        self._order = order
        if refusal:
            log.warning("the X server cannot change to %s: %s", _name(wanted), refusal)
            return False
        log.info("the X screen shows %s", _name(wanted))
        return True


def _why(exc: Exception) -> str:
    """A refusal in words: xcffib's errors print as nothing, so name the error and the
    request it answered."""
    if isinstance(exc, RandrError):
        return str(exc)
    request = getattr(exc, "minor_opcode", None)
    to = f" to RandR request {request}" if request is not None else ""
    return f"it answered {type(exc).__name__}{to}"


def layout(monitors: Sequence[MonitorConfig]) -> list[Rect]:
    """The monitors as areas of one screen: moved so the top-left one is at the origin,
    positions and widths rounded down to 8 (monitors side by side stay side by side)."""
    if not monitors:
        return []
    left, top = min(m.x for m in monitors), min(m.y for m in monitors)
    rects = []
    for m in monitors:
        x, y = (m.x - left) & ~7, m.y - top
        rects.append(Rect(x, y, x + (m.width & ~7), y + m.height))
    return rects


def _to_origin(areas: Sequence[Rect]) -> list[Rect]:
    left, top = min(r.left for r in areas), min(r.top for r in areas)
    return [Rect(r.left - left, r.top - top, r.right - left, r.bottom - top) for r in areas]


def lit_crtcs(randr: xcffib.randr.randrExtension, root: int, order: Sequence[int]) -> list[Rect]:
    """The areas the screen's lit CRTCs show, those in ``order`` first and in that order
    (clones, CRTCs showing the same area, count once)."""
    resources = randr.GetScreenResourcesCurrent(root).reply()
    crtcs = [c for c in order if c in resources.crtcs]
    crtcs += [c for c in resources.crtcs if c not in crtcs]
    areas: list[Rect] = []
    for crtc in crtcs:
        info = randr.GetCrtcInfo(crtc, resources.config_timestamp).reply()
        area = Rect.from_size(info.x, info.y, info.width, info.height)
        if info.mode and info.num_outputs and not area.is_empty() and area not in areas:
            areas.append(area)
    return areas


def randr_resize(
    conn: xcffib.Connection, randr: xcffib.randr.randrExtension, root: int, width: int, height: int
) -> None:
    """One width x height monitor on the first connected output, as a new X server (a
    session's) is brought to the size asked for; RandrError or an X error if it cannot."""
    randr_layout(conn, randr, root, [Rect(0, 0, width & ~7, height)], set())


def randr_layout(
    conn: xcffib.Connection,
    randr: xcffib.randr.randrExtension,
    root: int,
    wanted: Sequence[Rect],
    lit: set[int],
) -> tuple[list[int], str | None]:
    """Show ``wanted`` on the first connected output and then on more outputs with a free
    CRTC (connected ones first); turn off the CRTCs in ``lit`` no longer needed. ``lit``
    follows each step, so it stays true when a step fails. Returns the CRTCs used, in
    order, and why not all monitors are shown (None when they are)."""
    resources = randr.GetScreenResourcesCurrent(root).reply()
    infos = {
        o: randr.GetOutputInfo(o, resources.config_timestamp).reply() for o in resources.outputs
    }
    connected = xcffib.randr.Connection.Connected
    first = next((o for o, i in infos.items() if i.connection == connected and i.crtc), None)
    if first is None:
        raise RandrError("no connected output")
    chosen = [(first, infos[first].crtc)]
    in_use = {i.crtc for o, i in infos.items() if i.crtc and i.crtc not in lit} | {chosen[0][1]}
    others = sorted((o for o in infos if o != first), key=lambda o: infos[o].connection)
    for output in others:
        if len(chosen) == len(wanted):
            break
        info = infos[output]
        if info.crtc and info.crtc not in lit:
            continue  # lit by someone else: not ours to move
        free = [c for c in info.crtcs if c not in in_use]
        crtc = info.crtc if info.crtc in lit and info.crtc not in in_use else next(iter(free), 0)
        if crtc:
            chosen.append((output, crtc))
            in_use.add(crtc)
    refusal = None
    if len(chosen) < len(wanted):
        refusal = f"it has outputs for {len(chosen)} of the {len(wanted)} monitors"
        wanted = _to_origin(wanted[: len(chosen)])
    width, height = max(r.right for r in wanted), max(r.bottom for r in wanted)
    limits = randr.GetScreenSizeRange(root).reply()
    if not (
        limits.min_width <= width <= limits.max_width
        and limits.min_height <= height <= limits.max_height
    ):
        raise RandrError(
            f"its screen can be {limits.min_width}x{limits.min_height} "
            f"to {limits.max_width}x{limits.max_height}"
        )
    current = conn.core.GetGeometry(root).reply()
    mm = int(width * 25.4 / DPI), int(height * 25.4 / DPI)
    if width > current.width or height > current.height:
        randr.SetScreenSizeChecked(
            root, max(width, current.width), max(height, current.height), *mm
        ).check()
    used = [crtc for _output, crtc in chosen]
    for crtc in lit - set(used):
        _set_crtc(randr, root, crtc, 0, 0, 0, [])
        lit.discard(crtc)
    for (output, crtc), area in zip(chosen, wanted, strict=False):
        mode = _mode(randr, root, output, area.width, area.height)
        _set_crtc(randr, root, crtc, area.left, area.top, mode, [output])
        if crtc != used[0]:
            lit.add(crtc)
    randr.SetScreenSizeChecked(root, width, height, *mm).check()
    return used, refusal


def _set_crtc(
    randr: xcffib.randr.randrExtension,
    root: int,
    crtc: int,
    x: int,
    y: int,
    mode: int,
    outputs: list[int],
) -> None:
    # Lighting an output may change the configuration's time stamp: read it each time.
    stamp = randr.GetScreenResourcesCurrent(root).reply().config_timestamp
    rotation = xcffib.randr.Rotation.Rotate_0
    reply = randr.SetCrtcConfig(
        crtc, xp.Time.CurrentTime, stamp, x, y, mode, rotation, len(outputs), outputs
    ).reply()
    if reply.status != xcffib.randr.SetConfig.Success:
        raise RandrError(
            f"SetCrtcConfig status {reply.status} for a {(mode and 'lit') or 'dark'} CRTC"
        )


def _mode(
    randr: xcffib.randr.randrExtension, root: int, output: int, width: int, height: int
) -> int:
    """A mode of this size on ``output``: its own, one the screen has, or a new one."""
    resources = randr.GetScreenResourcesCurrent(root).reply()
    info = randr.GetOutputInfo(output, resources.config_timestamp).reply()
    sized = [m.id for m in resources.modes if (m.width, m.height) == (width, height)]
    own = [m for m in sized if m in info.modes]
    if own:
        return own[0]
    mode = sized[0] if sized else _create_mode(randr, root, width, height)
    randr.AddOutputModeChecked(output, mode).check()
    return mode


def _create_mode(randr: xcffib.randr.randrExtension, root: int, width: int, height: int) -> int:
    """A 60 Hz mode of this size."""
    name = f"{width}x{height}"
    htotal, vtotal = width + 160, height + 25
    mode_info = xcffib.randr.ModeInfo.synthetic(
        0,
        width,
        height,
        htotal * vtotal * 60,
        width + 48,
        width + 80,
        htotal,
        0,
        height + 3,
        height + 7,
        vtotal,
        len(name),
        0,
    )
    mode: int = randr.CreateMode(root, mode_info, len(name), name).reply().mode
    return mode


def _name(areas: Sequence[Rect]) -> str:
    """``WxH`` for one monitor at the origin (a plain resize), else ``WxH+X+Y, ...``."""
    if len(areas) == 1 and areas[0][:2] == (0, 0):
        return f"{areas[0].width}x{areas[0].height}"
    return ", ".join(f"{r.width}x{r.height}+{r.left}+{r.top}" for r in areas)
