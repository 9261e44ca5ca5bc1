"""What a display client is told about the surface's monitors: MONITORS_CONFIG.

spice-gtk (remote-viewer) shows each head in a window of its own. spice-html5 has no
handler for the message and logs "Unknown message type" for it, so a client that did not
announce the MONITORS_CONFIG capability is sent none (it shows the one surface anyway).
"""

from __future__ import annotations

from ...interfaces.display import Display
from ...protocol.constants import DisplayCap
from ...protocol.messages.display import MonitorHead, MsgDisplayMonitorsConfig
from .stream import PRIMARY_SURFACE


def monitors_config(
    display: Display, client_caps: frozenset[int]
) -> tuple[MsgDisplayMonitorsConfig | None, int]:
    """The message for the display's monitors as they are now (None for a client without
    the capability), and the monitors' serial it answers."""
    heads, serial = display.monitor_heads()
    if DisplayCap.MONITORS_CONFIG not in client_caps:
        return None, serial
    message = MsgDisplayMonitorsConfig(
        tuple(
            MonitorHead(i, PRIMARY_SURFACE, r.width, r.height, r.left, r.top)
            for i, r in enumerate(heads)
        ),
        max(len(heads), display.max_monitors),
    )
    return message, serial
