"""The display channel: one per Display, sending its surface to each client as it changes.

``channel`` holds what all clients of one display share (its damage, the stream detector),
``client`` one client's surface and dirty region, ``stream`` one client's video stream.
"""

from .channel import DisplayChannel
from .client import DisplayChannelClient

__all__ = ["DisplayChannel", "DisplayChannelClient"]
