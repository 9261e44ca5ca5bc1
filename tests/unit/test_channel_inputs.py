"""The inputs and cursor channels against a fake context: keys, locks, pointer, cursor shape."""

from __future__ import annotations

import pytest

from spice_server.channels.cursor import CursorChannel
from spice_server.channels.inputs import InputsChannel
from spice_server.display.cursor import CursorImage
from spice_server.interfaces.display import Display
from spice_server.interfaces.keyboard import KeyboardInterface
from spice_server.interfaces.mouse import MouseInterface
from spice_server.interfaces.tablet import TabletInterface
from spice_server.protocol.constants import ButtonMask, KeyboardModifier, MouseButton, MouseMode
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.messages.cursor import (
    MsgCursorHide,
    MsgCursorInit,
    MsgCursorMove,
    MsgCursorSet,
)
from spice_server.protocol.messages.inputs import (
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

from fakes import FakeContext, link


class Keyboard(KeyboardInterface):
    def __init__(self) -> None:
        self.bytes: list[int] = []

    def push_scan_freq(self, frag: int) -> None:
        self.bytes.append(frag)


class Mouse(MouseInterface):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        self.calls.append(("motion", dx, dy, dz, buttons_state))

    def buttons(self, buttons_state: int) -> None:
        self.calls.append(("buttons", buttons_state))


class Tablet(TabletInterface):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def set_logical_size(self, width: int, height: int) -> None:
        self.calls.append(("size", width, height))

    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        self.calls.append(("position", x, y, buttons_state, display_id))

    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        self.calls.append(("wheel", wheel_motion, buttons_state))

    def buttons(self, buttons_state: int) -> None:
        self.calls.append(("buttons", buttons_state))


def inputs(context: FakeContext):
    client, transport = link(InputsChannel(context))
    return client, transport


def test_keys_reach_the_keyboard_byte_by_byte_and_init_carries_the_leds() -> None:
    context = FakeContext()
    keyboard = Keyboard()
    keyboard.set_leds(KeyboardModifier.CAPS_LOCK)
    context.devices.add(keyboard)
    _client, transport = inputs(context)
    assert transport.take() == [MsgInputsInit(KeyboardModifier.CAPS_LOCK)]
    transport.feed(MsgcInputsKeyDown(0x1E))
    transport.feed(MsgcInputsKeyUp(0x9E))
    transport.feed(MsgcInputsKeyDown(0x1DE0))  # right ctrl: e0 1d, low byte first
    transport.feed(MsgcInputsKeyScancode(bytes([0xE0, 0x9D])))
    assert keyboard.bytes == [0x1E, 0x9E, 0xE0, 0x1D, 0xE0, 0x9D]


def test_keys_held_when_the_client_goes_are_released() -> None:
    context = FakeContext()
    keyboard = Keyboard()
    context.devices.add(keyboard)
    _client, transport = inputs(context)
    transport.feed(MsgcInputsKeyDown(0x2A))  # shift
    transport.feed(MsgcInputsKeyDown(0x48E0))  # up arrow
    keyboard.bytes.clear()
    transport.close("gone")
    assert keyboard.bytes == [0xAA, 0xE0, 0xC8]


def test_a_run_of_prefix_bytes_is_refused_before_it_reaches_the_keyboard() -> None:
    """Real keys have one E0 or E1 before them; a pile of them is bad input, never held."""
    context = FakeContext()
    keyboard = Keyboard()
    context.devices.add(keyboard)
    _client, transport = inputs(context)
    transport.feed(MsgcInputsKeyScancode(bytes([0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5])))  # pause
    assert keyboard.bytes == [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
    keyboard.bytes.clear()
    with pytest.raises(RemoteProtocolError, match="prefix bytes"):
        transport.feed(MsgcInputsKeyScancode(bytes([0xE0] * 4000)))
    assert keyboard.bytes == []


def test_a_lock_state_that_differs_from_the_leds_presses_that_lock_key() -> None:
    context = FakeContext()
    keyboard = Keyboard()
    context.devices.add(keyboard)
    _client, transport = inputs(context)
    transport.feed(MsgcInputsKeyModifiers(KeyboardModifier.NUM_LOCK))
    assert keyboard.bytes == [0x45, 0xC5]
    keyboard.bytes.clear()
    keyboard.set_leds(KeyboardModifier.NUM_LOCK)
    transport.feed(MsgcInputsKeyModifiers(KeyboardModifier.NUM_LOCK))
    assert keyboard.bytes == []


def test_leds_of_the_back_end_are_broadcast() -> None:
    context = FakeContext()
    channel = InputsChannel(context)
    _, first = link(channel)
    _, second = link(channel)
    first.take(), second.take()
    channel.broadcast_leds(KeyboardModifier.SCROLL_LOCK)
    assert first.take() == second.take() == [MsgInputsKeyModifiers(KeyboardModifier.SCROLL_LOCK)]


def test_every_fourth_motion_is_acknowledged_and_server_mode_moves_the_mouse() -> None:
    context = FakeContext()
    mouse = Mouse()
    context.devices.add(mouse)
    _client, transport = inputs(context)
    transport.take()
    for _ in range(8):
        transport.feed(MsgcInputsMouseMotion(1, -2, 0))
    assert transport.take() == [MsgInputsMouseMotionAck(), MsgInputsMouseMotionAck()]
    assert mouse.calls == [("motion", 1, -2, 0, 0)] * 8
    transport.feed(MsgcInputsMousePosition(5, 5, 0, 0))  # client mode only
    assert len(mouse.calls) == 8


def test_client_mode_goes_to_the_tablet_with_buttons_and_wheel() -> None:
    context = FakeContext()
    context.mouse_mode = MouseMode.CLIENT
    tablet, mouse = Tablet(), Mouse()
    context.devices.add(tablet)
    context.devices.add(mouse)
    _client, transport = inputs(context)
    transport.feed(MsgcInputsMousePosition(10, 20, 0, 0))
    transport.feed(MsgcInputsMousePress(MouseButton.LEFT, 0))
    transport.feed(MsgcInputsMouseRelease(MouseButton.LEFT, ButtonMask.LEFT))
    transport.feed(MsgcInputsMousePress(MouseButton.DOWN, 0))
    transport.feed(MsgcInputsMouseRelease(MouseButton.DOWN, 0))  # the press did the work
    transport.feed(MsgcInputsMouseMotion(3, 3, 0))  # server mode only
    assert tablet.calls == [
        ("position", 10, 20, 0, 0),
        ("buttons", ButtonMask.LEFT),
        ("buttons", 0),
        ("wheel", 1, 0),
    ]
    assert mouse.calls == []


def test_the_cursor_channel_sends_shape_visibility_and_the_newest_position() -> None:
    context = FakeContext()
    display = Display(64, 64)
    channel = CursorChannel(context, display)
    _client, transport = link(channel)
    (init,) = transport.take()[1:]
    assert isinstance(init, MsgCursorInit) and init.visible == 1
    for x in range(5):
        display.move_cursor(x, 7)
    channel.distribute()
    assert transport.take() == [MsgCursorMove(4, 7)]  # a burst of moves is one MOVE
    display.hide_cursor()
    channel.distribute()
    assert transport.take() == [MsgCursorHide()]
    image = CursorImage(2, 2, 1, 1, bytes(16))
    display.set_cursor(image)
    channel.distribute()
    (shape,) = transport.take()
    assert isinstance(shape, MsgCursorSet) and (shape.cursor.width, shape.cursor.height) == (2, 2)
