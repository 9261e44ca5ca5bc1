"""What the registered devices mean for clients: mouse modes, the agent, monitors.

Client mouse mode (absolute positions) needs something to take them: a tablet, or a real
guest agent. The agent clients talk to is a real one when a ``vdagent`` char device is
registered, else the built-in one (if allowed). A client's monitors config goes to the one
display, or one monitor per display. These rules follow the devices as they come and go,
and every connected client is told when the outcome changes.
"""

from __future__ import annotations

import logging
from typing import Protocol

from .agent.base import AgentContext, AgentEndpoint
from .agent.builtin import BuiltinAgent
from .agent.vdagent import VdagentBridge
from .channels.main import MainChannel
from .config import ServerConfig
from .core.clock import Clock
from .core.ratelog import RateLimitedLog
from .protocol.agent import MonitorConfig
from .protocol.constants import MouseMode

log = logging.getLogger(__name__)


class PolicyHost(AgentContext, Protocol):
    """What the policy needs of the server: the agents' context and the main channel."""

    @property
    def config(self) -> ServerConfig: ...

    @property
    def main_channel(self) -> MainChannel | None: ...

    @property
    def clock(self) -> Clock: ...


class DevicePolicy:
    def __init__(self, host: PolicyHost) -> None:
        self.host = host
        self.mouse_mode = MouseMode.SERVER
        self.agent: AgentEndpoint | None = None
        self._quiet_log = RateLimitedLog(log, host.clock.now)  # clients ask at will

    def devices_changed(self, kind: str, *, added: bool) -> None:
        """A device of this kind was registered (``added``) or removed."""
        if kind == "tablet":
            if added:
                self.update_logical_size()
            self._mouse_modes_changed()
        elif kind == "clipboard" and self.agent is not None:
            self.agent.clipboard_changed()
        elif kind == "char_device":
            self.replace_agent()
            self._mouse_modes_changed()

    # -- mouse mode ------------------------------------------------------------------------

    @property
    def supported_mouse_modes(self) -> MouseMode:
        agent = self.agent
        absolute = self.host.devices.tablet is not None or (
            agent is not None and agent.takes_mouse_state
        )
        return MouseMode.SERVER | (MouseMode.CLIENT if absolute else 0)

    def request_mouse_mode(self, mode: int) -> None:
        """A client asked for a mouse mode; grant it if we can and tell every client."""
        if mode not in (MouseMode.SERVER, MouseMode.CLIENT):
            self._quiet_log.info("ignoring a request for unknown mouse mode %d", mode)
            return
        if not mode & self.supported_mouse_modes:
            self._quiet_log.info(
                "client mouse mode asked for, but nothing takes absolute positions"
            )
            return
        if mode != self.mouse_mode:
            self.mouse_mode = MouseMode(mode)
            self._quiet_log.info("mouse mode is now %s", self.mouse_mode.name)
        self._broadcast_mouse_mode()

    def _mouse_modes_changed(self) -> None:
        if not self.mouse_mode & self.supported_mouse_modes:
            self.mouse_mode = MouseMode.SERVER
            log.info("mouse mode is now server (the tablet went away)")
        self._broadcast_mouse_mode()

    def _broadcast_mouse_mode(self) -> None:
        main = self.host.main_channel
        if main is not None:
            main.broadcast_mouse_mode(self.supported_mouse_modes, self.mouse_mode)

    # -- the agent -------------------------------------------------------------------------

    def replace_agent(self) -> None:
        """Choose the agent for the devices as they are now, and tell the clients."""
        device = self.host.devices.vdagent
        agent: AgentEndpoint | None
        if device is not None:
            agent = VdagentBridge(self.host, device)
        else:
            config = self.host.config
            agent = BuiltinAgent(self.host, config.file_transfer) if config.builtin_agent else None
        old, self.agent = self.agent, agent
        if old is not None:
            old.close()
        main = self.host.main_channel
        if main is not None and (old is not None or agent is not None):
            main.agent_changed(old, agent)
        if agent is not None:
            agent.wakeup()

    # -- displays --------------------------------------------------------------------------

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        """A client asked for these monitors: one display takes them all, else one each."""
        displays = self.host.devices.displays
        if len(displays) == 1:
            (only,) = displays.values()
            return bool(self.host.call_backend(only.client_monitors_config, monitors))
        handled = False
        for index, monitor in enumerate(monitors):
            display = displays.get(index)
            if display is not None:
                handled |= bool(self.host.call_backend(display.client_monitors_config, [monitor]))
        return handled

    def update_logical_size(self) -> None:
        """The tablet scales absolute positions to display 0's size."""
        display = self.host.devices.displays.get(0)
        tablet = self.host.devices.tablet
        if tablet is not None and display is not None:
            self.host.call_backend(tablet.set_logical_size, display.width, display.height)
