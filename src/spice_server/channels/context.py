"""What a channel may use of the server: a narrow, typed context instead of the server itself.

Channels never hold the :class:`~spice_server.server.Server`. They get this context,
which the server implements and tests replace with a fake: the frozen configuration, the
core (timers), the clock, the devices, the agent, the mouse mode, a way to call the back
end safely and a way to run heavy work (image and video encoding) off the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..agent.base import AgentContext, AgentEndpoint
from ..core.clock import Clock
from ..protocol.constants import MouseMode

T = TypeVar("T")


class ChannelContext(AgentContext, Protocol):
    @property
    def clock(self) -> Clock: ...

    @property
    def agent(self) -> AgentEndpoint | None:
        """The guest agent clients talk to, if any (built-in or a real one)."""
        ...

    @property
    def mouse_mode(self) -> MouseMode: ...

    @property
    def supported_mouse_modes(self) -> MouseMode: ...

    @property
    def display_count(self) -> int: ...

    @property
    def playback_active(self) -> bool:
        """Whether sound is playing to clients (their media clock then follows it)."""
        ...

    def request_mouse_mode(self, mode: int) -> None:
        """A client asked for a mouse mode; the server decides and tells every client."""
        ...

    def keyboard_leds(self) -> int:
        """The keyboard's lock-key LEDs as the back end has them (0 without a keyboard)."""
        ...

    def offload(self, work: Callable[[], T], done: Callable[[Future[T]], None]) -> None:
        """Run ``work`` off the loop (encoder threads); ``done`` gets its future on the loop."""
        ...

    def channel_list(self) -> list[tuple[int, int]]:
        """Every channel but MAIN, as (type, id), in the order clients should connect them."""
        ...


@dataclass(frozen=True)
class ClientLink:
    """What the link stage settled for one channel connection."""

    common_caps: frozenset[int]
    channel_caps: frozenset[int]
    mini_header: bool = True
