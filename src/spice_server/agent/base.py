"""The agent's seams: what an agent needs from the server, from a client, and what it offers.

An agent is the guest agent's side of the MAIN channel: the built-in one, or a bridge to
a real spice-vdagent. It never sees the server or a channel, only these small protocols:
the server's :class:`AgentContext`, one :class:`AgentPeer` per client (its main channel),
and the :class:`AgentEndpoint` it implements for the main channel and the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from ..config import ServerConfig
from ..core.base import Core
from ..interfaces.events import ClipboardAction
from ..interfaces.registry import DeviceRegistry
from ..protocol.agent import AgentMessage, MonitorConfig

P = ParamSpec("P")
R = TypeVar("R")


class AgentContext(Protocol):
    """What an agent needs from the server."""

    @property
    def config(self) -> ServerConfig: ...

    @property
    def core(self) -> Core: ...

    @property
    def devices(self) -> DeviceRegistry: ...

    def call_backend(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """Call the back end's code; its exceptions are logged and give None."""
        ...

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        """A client asked for these monitors; True if a display takes them."""
        ...


class AgentPeer(Protocol):
    """One client's end of the agent conversation: its main channel."""

    @property
    def takes_replies(self) -> bool:
        """Whether REPLY records may go to this client (besides its announcing REPLY)."""
        ...

    def send_agent(self, message: AgentMessage) -> None:
        """One whole agent record to this client."""
        ...

    def return_tokens(self, count: int) -> None:
        """Give the client back ``count`` tokens: its AGENT_DATA messages were consumed."""
        ...


class AgentEndpoint(Protocol):
    """What the main channel and the server need from an agent, whichever kind."""

    @property
    def takes_mouse_state(self) -> bool:
        """Whether client-mode pointer positions go to this agent (a real guest agent
        moves the guest's pointer; the built-in agent has no pointer to move)."""
        ...

    def attach(self, peer: AgentPeer) -> None:
        """A client's main channel is up (MAIN_INIT told it an agent is connected)."""

    def detach(self, peer: AgentPeer) -> None:
        """That client's main channel is gone."""

    def start(self, peer: AgentPeer, tokens: int) -> None:
        """The client sent AGENT_START, granting ``tokens`` for our records."""

    def data(self, peer: AgentPeer, data: bytes) -> None:
        """The body of one AGENT_DATA message; the agent returns the token when consumed."""

    def mouse_state(self, x: int, y: int, buttons: int, display_id: int) -> None:
        """A client-mode pointer position (only when ``takes_mouse_state``)."""

    def clipboard_changed(self) -> None:
        """A clipboard interface came or went."""

    def clipboard_action(self, action: ClipboardAction) -> None:
        """The back end's clipboard grabbed, released, requested or sent data."""

    def wakeup(self) -> None:
        """The agent's device can be read, or written again."""

    def close(self) -> None:
        """The agent goes away (replaced, or its device removed)."""
