"""The cursor channel: the pointer's shape, visibility and position for one display.

Like the display channel it sends the newest state when there is room, never a backlog:
a burst of moves becomes one MOVE with the latest position.
"""

from __future__ import annotations

from ..display.cursor import CursorImage
from ..interfaces.display import Display
from ..protocol.constants import ChannelType, CursorType
from ..protocol.messages.cursor import (
    CursorShape,
    MsgCursorHide,
    MsgCursorInit,
    MsgCursorMove,
    MsgCursorSet,
)
from .base import Channel, ChannelClient, Transport
from .context import ChannelContext, ClientLink
from .session import Session


def cursor_shape(image: CursorImage) -> CursorShape:
    return CursorShape(
        unique=0,
        type=CursorType.ALPHA,
        width=image.width,
        height=image.height,
        hot_spot_x=image.hot_x,
        hot_spot_y=image.hot_y,
        data=image.pixels,
    )


class CursorChannel(Channel):
    type = ChannelType.CURSOR

    def __init__(self, context: ChannelContext, display: Display) -> None:
        super().__init__(context, display.display_id)
        self.display = display

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> CursorChannelClient:
        return CursorChannelClient(self, session, transport, link)

    def distribute(self) -> None:
        for client in list(self.clients):  # a send may close one
            client.pump()


class CursorChannelClient(ChannelClient):
    ack_window = 20
    max_message_size = 4 * 1024

    channel: CursorChannel

    def __init__(
        self, channel: CursorChannel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        self._serial: int | None = None
        self._position_serial: int | None = None

    def start(self) -> None:
        super().start()
        image, visible, (x, y), serial, position_serial = self.channel.display.cursor_state()
        self.send(MsgCursorInit(x, y, 0, 0, int(visible), cursor_shape(image)))
        self._serial, self._position_serial = serial, position_serial

    def pump(self) -> None:
        if not self.can_send_more():
            return
        image, visible, (x, y), serial, position_serial = self.channel.display.cursor_state()
        if serial != self._serial:
            if visible:
                self.send(MsgCursorSet(x, y, 1, cursor_shape(image)))
            else:
                self.send(MsgCursorHide())
        elif position_serial != self._position_serial and visible:
            self.send(MsgCursorMove(x, y))
        self._serial, self._position_serial = serial, position_serial
