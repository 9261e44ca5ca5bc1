"""The inputs channel: keys, lock-key LEDs and the mouse, to the back end's interfaces.

Keys arrive as scancodes and go to the keyboard byte by byte. The client's lock keys are
kept in step with the back end's LEDs: when the client reports a lock state that differs
from ``get_leds()``, the server presses and releases that lock key on the keyboard; when
the back end's LEDs change, every client is told. Mouse messages go to the mouse in server
mode and to the tablet in client mode. Every fourth motion is acknowledged, or the client
stops sending motion.
"""

from __future__ import annotations

import logging

from ..protocol.constants import (
    ButtonMask,
    ChannelType,
    InputsCap,
    KeyboardModifier,
    MouseButton,
    MouseMode,
)
from ..protocol.errors import RemoteProtocolError
from ..protocol.messages.codec import ClientMessage
from ..protocol.messages.inputs import (
    MsgcInputsKeyDown,
    MsgcInputsKeyModifiers,
    MsgcInputsKeyScancode,
    MsgcInputsKeyUp,
    MsgcInputsMouseMotion,
    MsgcInputsMousePosition,
    MsgcInputsMousePress,
    MsgcInputsMouseRelease,
    MsgInputsInit,
    MsgInputsKeyModifiers,
    MsgInputsMouseMotionAck,
)
from .base import Channel, ChannelClient, Transport
from .context import ClientLink
from .session import Session

log = logging.getLogger(__name__)

MOTION_ACK_BUNCH = 4
MAX_PREFIX = 2  # E0 or E1 bytes before a key; real keyboards send one
LOCK_KEYS = (
    (KeyboardModifier.SCROLL_LOCK, 0x46),
    (KeyboardModifier.NUM_LOCK, 0x45),
    (KeyboardModifier.CAPS_LOCK, 0x3A),
)
BUTTON_MASKS: dict[int, int] = {
    MouseButton.LEFT: ButtonMask.LEFT,
    MouseButton.MIDDLE: ButtonMask.MIDDLE,
    MouseButton.RIGHT: ButtonMask.RIGHT,
    MouseButton.SIDE: ButtonMask.SIDE,
    MouseButton.EXTRA: ButtonMask.EXTRA,
}
WHEEL: dict[int, int] = {MouseButton.UP: -1, MouseButton.DOWN: 1}


def scancode_bytes(code: int) -> list[int]:
    """The bytes packed in a KEY_DOWN/KEY_UP code: low byte first, up to the first zero."""
    out = []
    for _ in range(4):
        byte = code & 0xFF
        if byte == 0:
            break
        out.append(byte)
        code >>= 8
    return out


class InputsChannel(Channel):
    type = ChannelType.INPUTS

    def caps(self) -> frozenset[int]:
        return frozenset({InputsCap.KEY_SCANCODE})

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> InputsChannelClient:
        return InputsChannelClient(self, session, transport, link)

    def broadcast_leds(self, leds: int) -> None:
        for client in list(self.clients):  # a send may close one
            client.send(MsgInputsKeyModifiers(leds))


class InputsChannelClient(ChannelClient):
    max_message_size = 4 * 1024

    def __init__(
        self, channel: Channel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        self.devices = self.context.devices
        self._motions = 0
        self._pressed: set[tuple[int, ...]] = set()  # keys held, to release when we go
        self._prefix: list[int] = []
        self._agent_position = (0, 0, 0)

    def start(self) -> None:
        super().start()
        self.send(MsgInputsInit(self.context.keyboard_leds()))

    def on_closed(self) -> None:
        # A client that vanishes with keys down must not leave them stuck in the back end.
        for key in sorted(self._pressed):
            *prefix, code = key
            self._push([*prefix, code | 0x80])
        self._pressed.clear()

    def handle_message(self, message: ClientMessage) -> None:
        self.session.last_input = self.clock.now()
        match message:
            case MsgcInputsKeyDown(code=code) | MsgcInputsKeyUp(code=code):
                self._keys(scancode_bytes(code))
            case MsgcInputsKeyScancode(data=data):
                self._keys(list(data))
            case MsgcInputsKeyModifiers(modifiers=modifiers):
                self._sync_locks(modifiers)
            case MsgcInputsMouseMotion(dx=dx, dy=dy, buttons_state=state):
                self._count_motion()
                mouse = self.devices.mouse
                if self.context.mouse_mode == MouseMode.SERVER and mouse is not None:
                    self.context.call_backend(mouse.motion, dx, dy, 0, state)
            case MsgcInputsMousePosition(x=x, y=y, buttons_state=state, display_id=display):
                self._count_motion()
                if self.context.mouse_mode == MouseMode.CLIENT:
                    self._position(x, y, state, display)
            case MsgcInputsMousePress(button=button, buttons_state=state):
                self._button(button, state | BUTTON_MASKS.get(button, 0), pressed=True)
            case MsgcInputsMouseRelease(button=button, buttons_state=state):
                self._button(button, state & ~BUTTON_MASKS.get(button, 0), pressed=False)
            case _:
                super().handle_message(message)

    # -- keyboard ------------------------------------------------------------------------

    def _keys(self, data: list[int]) -> None:
        """Track presses (to release them on disconnect), then hand the bytes on."""
        for byte in data:
            if byte in (0xE0, 0xE1):
                if len(self._prefix) >= MAX_PREFIX:
                    # Refused before any of it reaches the keyboard: no scancode set has
                    # such keys, and an unbounded prefix would be held and replayed.
                    raise RemoteProtocolError(f"inputs: more than {MAX_PREFIX} prefix bytes")
                self._prefix.append(byte)
                continue
            key = (*self._prefix, byte & 0x7F)
            self._prefix = []
            if byte & 0x80:
                self._pressed.discard(key)
            else:
                self._pressed.add(key)
        self._push(data)

    def _push(self, data: list[int]) -> None:
        keyboard = self.devices.keyboard
        if keyboard is None:
            self.quiet_log.debug("%r: no keyboard; dropping %d scancode bytes", self, len(data))
            return
        for byte in data:
            self.context.call_backend(keyboard.push_scan_freq, byte)

    def _sync_locks(self, client_state: int) -> None:
        if self.devices.keyboard is None:
            return
        leds = self.context.keyboard_leds()
        for flag, code in LOCK_KEYS:
            if (client_state ^ leds) & flag:
                self._push([code, code | 0x80])

    # -- mouse ---------------------------------------------------------------------------

    def _count_motion(self) -> None:
        self._motions += 1
        if self._motions % MOTION_ACK_BUNCH == 0:
            self.send(MsgInputsMouseMotionAck())

    def _position(self, x: int, y: int, state: int, display: int) -> None:
        tablet, agent = self.devices.tablet, self.context.agent
        if tablet is not None:
            self.context.call_backend(tablet.position, x, y, state, display)
        elif agent is not None and agent.takes_mouse_state:
            self._agent_position = (x, y, display)
            agent.mouse_state(x, y, state, display)

    def _button(self, button: int, state: int, *, pressed: bool) -> None:
        context, devices = self.context, self.devices
        tablet, mouse, agent = devices.tablet, devices.mouse, context.agent
        dz = WHEEL.get(button)
        if dz is not None and not pressed:
            return  # a wheel "click" is a press and a release; the press did the work
        client_mode = context.mouse_mode == MouseMode.CLIENT
        if client_mode and tablet is not None:
            if dz is not None:
                context.call_backend(tablet.wheel, dz, state)
            else:
                context.call_backend(tablet.buttons, state)
        elif client_mode and agent is not None and agent.takes_mouse_state:
            # The agent takes the wheel as a press and release of its UP / DOWN buttons.
            x, y, display = self._agent_position
            wheel = {-1: ButtonMask.UP, 1: ButtonMask.DOWN}.get(dz or 0, 0)
            agent.mouse_state(x, y, state | wheel, display)
            if wheel:
                agent.mouse_state(x, y, state, display)
        elif mouse is not None:
            if dz is not None:
                context.call_backend(mouse.motion, 0, 0, dz, state)
            else:
                context.call_backend(mouse.buttons, state)
