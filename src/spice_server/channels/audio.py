"""What the playback and record channels share: a sound device's volume and mute.

Both carry the device's volume and mute to the client the same way (the client has the
VOLUME cap), when it connects and whenever the back end changes them; only the message
types differ, which each channel client says in ``volume_message`` / ``mute_message``.
"""

from __future__ import annotations

from typing import ClassVar

from ..interfaces.audio import AudioInterface
from ..protocol.messages.codec import ServerMessage
from .base import Channel, ChannelClient


class AudioChannel(Channel):
    """A channel over a sound device that has ``volume`` and ``mute``."""

    device: AudioInterface

    def pass_volume(self, levels: tuple[int, ...]) -> None:
        for client in list(self.clients):  # a send may close one
            assert isinstance(client, AudioChannelClient)
            client.send_volume(levels)

    def pass_mute(self, mute: bool) -> None:
        for client in list(self.clients):  # a send may close one
            assert isinstance(client, AudioChannelClient)
            client.send_mute(mute)


class AudioChannelClient(ChannelClient):
    volume_cap: ClassVar[int]

    channel: AudioChannel

    def volume_message(self, levels: tuple[int, ...]) -> ServerMessage:
        raise NotImplementedError

    def mute_message(self, mute: bool) -> ServerMessage:
        raise NotImplementedError

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
            self.send(self.mute_message(mute))
