"""The guest agent's part of the main channel: a built-in agent, or a bridge to a real one.

Clients talk to "the agent" over MAIN's AGENT_DATA messages. When the back end has no real
agent, the server answers itself (``BuiltinAgent``): capabilities, monitors config (client
driven resize), clipboard. A back end with a real spice-vdagent registers it as a
``vdagent`` char device and ``VdagentBridge`` passes the bytes through instead.
"""

from .base import AgentEndpoint
from .builtin import BuiltinAgent
from .vdagent import VdagentBridge

__all__ = ["AgentEndpoint", "BuiltinAgent", "VdagentBridge"]
