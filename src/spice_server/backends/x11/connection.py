"""The X connection on the server's loop: one watch, an event pump that yields, fences.

Everything the back end does with X runs on the server's loop through its core. So that
a desktop that never stops drawing cannot keep that loop from its clients, the pump
handles a bounded number of events per callback, and the capture never waits for a
reply: it sends its requests and a *fence*, and carries on when the fence comes back.

Waiting for any reply makes xcb read the events that came before it into its queue,
where the socket's watch no longer sees them. So every way into X code from the loop
(``guarded`` for the back end's own callbacks, ``x_call`` for the server's calls into
its interfaces) pumps the events afterwards; otherwise a fence could sit unread there.

xcffib is untyped: events and replies are its generated classes, tested with isinstance
where they are handled (``XEvent`` below is that: whatever xcffib hands out).
"""

from __future__ import annotations

import functools
import logging
import struct
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import xcffib
import xcffib.xproto as xp

from ...core.base import Core, EventMask, Timer, Watch

log = logging.getLogger(__name__)

MAX_EVENTS_PER_CALL = 200  # then the loop serves the rest before we handle more
CLIENT_MESSAGE = 33  # the core protocol's event code
FENCE_EVENT = struct.Struct("=BB2xII5I")  # a ClientMessage: format 32, window, type, data

Clock = Callable[[], float]
"""Seconds from an arbitrary origin (time.monotonic); tests may pass their own."""
XEvent = object
"""An event as xcffib parses it (its classes are untyped)."""
EventHandler = Callable[[XEvent], bool]
"""Handles an event if it is its kind, saying True; False passes it on."""


class X11Error(RuntimeError):
    """The X display cannot be exported (cannot connect, lacks an extension...)."""


class XConnection:
    """The xcffib connection, its atoms, and the pump that hands events to the handlers."""

    def __init__(self, display_name: str | None, clock: Clock) -> None:
        self.name = display_name or "(default)"
        self.clock = clock
        try:
            self.conn = xcffib.connect(display=display_name)
        except xcffib.ConnectionException as exc:
            raise X11Error(f"cannot connect to X display {self.name}: {exc}") from exc
        self.setup = self.conn.get_setup()
        self.screen = self.setup.roots[self.conn.pref_screen]
        self.root: int = self.screen.root
        self.lost = False
        self.on_lost: Callable[[str], None] | None = None
        self.handlers: list[EventHandler] = []
        self.core: Core | None = None
        self._watch: Watch | None = None
        self._pump_timer: Timer | None = None
        self._atoms: dict[str, int] = {}
        self._fences: dict[int, Callable[[], None]] = {}
        self._fence_serial = 0
        self._fence_window = self.conn.generate_id()
        self.conn.core.CreateWindow(
            0, self._fence_window, self.root, -1, -1, 1, 1, 0, xp.WindowClass.InputOnly, 0, 0, []
        )
        self._fence_atom = self.atom("SPICE_SERVER_FENCE")

    def has_extension(self, name: str) -> bool:
        return bool(self.conn.core.QueryExtension(len(name), name).reply().present)

    def atom(self, name: str) -> int:
        atom = self._atoms.get(name)
        if atom is None:
            atom = self._atoms[name] = (
                self.conn.core.InternAtom(False, len(name), name).reply().atom
            )
        return atom

    # -- life cycle ----------------------------------------------------------------------

    def start(self, core: Core) -> None:
        """Watch the socket on ``core``; events go to ``handlers`` from now on."""
        self.core = core
        self._pump_timer = core.timer_add(lambda opaque: self.guarded(self.pump_events))
        self._watch = core.watch_add(
            self.conn.get_file_descriptor(),
            EventMask.READ,
            lambda fd, events, opaque: self.guarded(self.pump_events),
        )
        self.conn.flush()
        self.pump_events()

    def close(self) -> None:
        core = self.core
        if core is not None:
            if self._watch is not None:
                core.watch_remove(self._watch)
            if self._pump_timer is not None:
                core.timer_remove(self._pump_timer)
        self._watch = self._pump_timer = None
        if not self.lost:
            self.conn.disconnect()

    def connection_lost(self, reason: str) -> None:
        if self.lost:
            return
        self.lost = True
        log.error("X display %s is gone (%s)", self.name, reason)
        if self.on_lost is not None:
            self.on_lost(reason)

    def guarded(self, func: Callable[[], None]) -> None:
        """Run ``func`` (X work from a loop callback), then handle the events read meanwhile.

        A lost X connection ends the desktop instead of raising, and an X error is logged
        (it answers one request only).
        """
        if self.lost:
            return
        try:
            func()
            if func != self.pump_events:
                self.pump_events()
        except (xcffib.ConnectionException, OSError) as exc:
            self.connection_lost(str(exc) or type(exc).__name__)
        except xcffib.XcffibException as exc:
            log.warning("X error while handling events: %s", type(exc).__name__)

    # -- events --------------------------------------------------------------------------

    def pump_events(self) -> None:
        """Handle the events xcb has read, including those read while awaiting replies.

        At most MAX_EVENTS_PER_CALL at a time. xcb may already hold the rest in its queue,
        where the socket's watch cannot see them, so a zero-delay timer comes back for them.
        """
        for _ in range(MAX_EVENTS_PER_CALL):
            try:
                event = self.conn.poll_for_event()
                if event is None:
                    break
                self._handle(event)
            except (xcffib.ConnectionException, OSError):
                raise
            except xcffib.XcffibException as exc:  # an error for one request: go on
                log.warning("X refused a request: %s", type(exc).__name__)
        else:
            if self.core is not None and self._pump_timer is not None:
                self.core.timer_start(self._pump_timer, 0)
        self.conn.flush()

    def _handle(self, event: XEvent) -> None:
        if isinstance(event, xp.ClientMessageEvent) and event.window == self._fence_window:
            then = self._fences.pop(event.data.data32[0], None)
            if then is not None:
                then()
            return
        for handler in self.handlers:
            if handler(event):
                return

    def fence(self, then: Callable[[], None]) -> None:
        """Call ``then`` from the pump once X has handled every request sent before.

        X handles a client's requests in order, and an event sent to a window of ours with
        no event mask comes back to us. When it is read, so is every reply X sent before
        it: reading those replies then returns at once instead of waiting for X.
        """
        self._fence_serial = serial = (self._fence_serial + 1) & 0xFFFFFFFF
        self._fences[serial] = then
        window = self._fence_window
        event = FENCE_EVENT.pack(CLIENT_MESSAGE, 32, window, self._fence_atom, serial, 0, 0, 0, 0)
        self.conn.core.SendEvent(False, window, 0, event)
        self.conn.flush()


P = ParamSpec("P")
R = TypeVar("R")


class UsesX(Protocol):
    """What ``x_call`` methods belong to: anything holding the X connection as ``x``."""

    x: XConnection


S = TypeVar("S", bound=UsesX)


def x_call(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R | None]:
    """An X-using method called by the server (input, resize): a lost X connection ends
    the desktop instead of raising, an X refusal is logged, and the events read while
    waiting for its replies are handled; None in both failure cases."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        x = self.x
        if x.lost:
            return None
        try:
            result = method(self, *args, **kwargs)
            x.pump_events()
            return result
        except (xcffib.ConnectionException, OSError) as exc:
            x.connection_lost(str(exc) or type(exc).__name__)
        except xcffib.XcffibException as exc:
            log.warning("X refused %s: %s", method.__name__, type(exc).__name__)
        return None

    return wrapper
