"""Message classes for every channel, and the parser of client messages.

Import messages from their channel's module (``messages.main``, ``messages.display``...);
this package adds :func:`parse_client_message`, which picks the class by channel and type.
"""

from __future__ import annotations

from ..constants import ChannelType
from ..errors import RemoteProtocolError
from ..framing import Message
from . import base, cursor, display, inputs, main, playback, record
from .codec import ClientMessage

_CHANNEL_MESSAGES: dict[int, tuple[type[ClientMessage], ...]] = {
    ChannelType.MAIN: main.CLIENT_MESSAGES,
    ChannelType.DISPLAY: display.CLIENT_MESSAGES,
    ChannelType.INPUTS: inputs.CLIENT_MESSAGES,
    ChannelType.CURSOR: cursor.CLIENT_MESSAGES,
    ChannelType.PLAYBACK: playback.CLIENT_MESSAGES,
    ChannelType.RECORD: record.CLIENT_MESSAGES,
}

_PARSERS: dict[int, dict[int, type[ClientMessage]]] = {
    channel: {cls.TYPE: cls for cls in base.CLIENT_MESSAGES + classes}
    for channel, classes in _CHANNEL_MESSAGES.items()
}


def parse_client_message(channel_type: int, message: Message) -> ClientMessage:
    """Turn a framed client message into its message object; unknown types are an error."""
    parsers = _PARSERS.get(channel_type)
    if parsers is None:
        raise RemoteProtocolError(f"no client messages are known for channel type {channel_type}")
    cls = parsers.get(message.type)
    if cls is None:
        raise RemoteProtocolError(f"unknown message type {message.type}")
    return cls.unpack(message.body)
