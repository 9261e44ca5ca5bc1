"""What the playback and record channels share: a sound device's volume and mute.

Both carry the device's volume and mute to the client the same way (the client has the
VOLUME cap), when it connects and whenever the back end changes them; only the message
types differ.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Channel, ChannelClient


class AudioChannel(Channel):
    """A channel over a sound device that has ``volume`` and ``mute``."""

    device: Any

    def pass_level(self, kind: str, payload: object) -> None:
        """Send a "volume" or "mute" event from the back end on to every client."""
        for client in self.clients:
            assert isinstance(client, AudioChannelClient)
            if kind == "volume":
                assert isinstance(payload, tuple)
                client.send_volume(payload)
            elif kind == "mute":
                client.send_mute(bool(payload))


class AudioChannelClient(ChannelClient):
    volume_cap: ClassVar[int]
    volume_message: ClassVar[Any]
    mute_message: ClassVar[Any]

    channel: AudioChannel

    def send_levels(self) -> None:
        """The device's volume and mute as they stand, for a client that just connected."""
        device = self.channel.device
        if device.volume is not None:
            self.send_volume(device.volume)
        if device.mute is not None:
            self.send_mute(device.mute)

    def send_volume(self, volume: tuple[int, ...]) -> None:
        if self.volume_cap in self.client_caps:
            self.send(self.volume_message(volume))

    def send_mute(self, mute: bool) -> None:
        if self.volume_cap in self.client_caps:
            self.send(self.mute_message(int(mute)))
