"""What the main channel needs from an agent, whichever kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..channels.main import MainChannelClient


class AgentEndpoint(Protocol):
    def attach(self, client: MainChannelClient) -> None:
        """A client's main channel is up (MAIN_INIT told it an agent is connected)."""

    def detach(self, client: MainChannelClient) -> None:
        """That client's main channel is gone."""

    def start(self, client: MainChannelClient, tokens: int) -> None:
        """The client sent AGENT_START."""

    def data(self, client: MainChannelClient, data: bytes) -> None:
        """The body of one AGENT_DATA message; the agent returns the token when consumed."""

    def close(self) -> None:
        """The agent goes away (replaced, or its device removed)."""
