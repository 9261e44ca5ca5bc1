"""Registering interfaces: versions are checked, failures change nothing, removal works."""

from __future__ import annotations

import sys
from typing import ClassVar

import pytest

from spice_server import (
    ConfigurationError,
    Display,
    InterfaceError,
    KeyboardInterface,
    MouseInterface,
    SelectorCore,
    Server,
    TabletInterface,
)


class Keyboard(KeyboardInterface):
    def push_scan_freq(self, frag: int) -> None:
        pass


class Mouse(MouseInterface):
    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        pass

    def buttons(self, buttons_state: int) -> None:
        pass


class Tablet(TabletInterface):
    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        pass

    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        pass

    def buttons(self, buttons_state: int) -> None:
        pass


class FutureKeyboard(Keyboard):
    minor_version: ClassVar[int] = 2


class OtherMajorKeyboard(Keyboard):
    major_version: ClassVar[int] = 2


class OldMinorKeyboard(Keyboard):
    minor_version: ClassVar[int] = 0


class Joystick(Keyboard):
    type: ClassVar[str] = "joystick"


@pytest.fixture
def server() -> Server:
    return Server(port=None)


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        (FutureKeyboard(), "newer than this server's 1.1"),
        (OtherMajorKeyboard(), "major version must be 1"),
        (Joystick(), "unknown interface type 'joystick'"),
    ],
)
def test_bad_interfaces_are_refused_and_change_nothing(server, instance, message) -> None:
    with pytest.raises(InterfaceError, match=message):
        server.add_interface(instance)
    assert server.devices.keyboard is None
    assert instance._notify is None


def test_an_older_minor_version_is_accepted(server) -> None:
    keyboard = OldMinorKeyboard()
    server.add_interface(keyboard)
    assert server.devices.keyboard is keyboard


def test_one_keyboard_mouse_and_tablet_at_a_time(server) -> None:
    keyboard, mouse, tablet = Keyboard(), Mouse(), Tablet()
    for instance in (keyboard, mouse, tablet):
        server.add_interface(instance)
    with pytest.raises(InterfaceError, match="already registered"):
        server.add_interface(Keyboard())
    with pytest.raises(InterfaceError, match="already registered"):
        server.add_interface(keyboard)
    assert server.devices.keyboard is keyboard
    server.remove_interface(keyboard)
    assert server.devices.keyboard is None
    with pytest.raises(InterfaceError, match="not registered"):
        server.remove_interface(keyboard)
    server.add_interface(Keyboard())


def test_a_tablet_enables_client_mouse_mode(server) -> None:
    assert int(server.supported_mouse_modes) == 1
    tablet = Tablet()
    server.add_interface(tablet)
    assert int(server.supported_mouse_modes) == 3
    server.request_mouse_mode(2)
    assert server.mouse_mode == 2
    server.remove_interface(tablet)
    assert server.mouse_mode == 1 and int(server.supported_mouse_modes) == 1


def test_display_ids_are_unique(server) -> None:
    server.add_interface(Display(64, 64))
    with pytest.raises(InterfaceError, match="id 0"):
        server.add_interface(Display(64, 64))
    second = Display(64, 64, display_id=1)
    server.add_interface(second)
    assert server.display_count == 2
    server.remove_interface(second)
    assert server.display_count == 1


def test_a_class_that_only_claims_a_type_is_refused(server) -> None:
    class Impostor:
        type = "keyboard"
        major_version = 1
        minor_version = 1

    with pytest.raises(InterfaceError, match="must be a KeyboardInterface"):
        server.add_interface(Impostor())  # type: ignore[arg-type]


def test_a_core_of_another_major_version_is_refused() -> None:
    class OldCore(SelectorCore):
        major_version = 2

    core = OldCore()
    with pytest.raises(InterfaceError, match="core interface major version 2"):
        Server(port=None).init(core)
    core.close()


def test_an_open_address_needs_a_password_or_an_explicit_flag() -> None:
    core = SelectorCore()
    with pytest.raises(ConfigurationError, match="without a password"):
        Server(addr="0.0.0.0", port=0).init(core)
    for server in (
        Server(addr="0.0.0.0", port=0, password="pw"),
        Server(addr="0.0.0.0", port=0, allow_insecure=True),
        Server(addr="localhost", port=0),
    ):
        server.init(core)
        assert server.address[1] > 0
        server.destroy()
    core.close()


@pytest.fixture
def switch_interval():
    """Python's thread switch interval, put back after the test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("switch_interval")
def test_init_lowers_the_thread_switch_interval_unless_told_not_to() -> None:
    """The host's other threads take turns with a busy loop within a millisecond or so
    (see ServerConfig.switch_interval); None leaves the host's choice alone."""
    core = SelectorCore()
    for interval, after in ((None, 0.005), (0.01, 0.005), (0.001, 0.001), (0.002, 0.001)):
        server = Server(port=None, switch_interval=interval)
        server.init(core)
        assert sys.getswitchinterval() == pytest.approx(after)
        server.destroy()
    core.close()
    with pytest.raises(ConfigurationError, match="switch interval 0 is not above 0"):
        Server(port=None, switch_interval=0)


def test_errors_in_back_end_callbacks_are_contained(server, caplog) -> None:
    class Broken(Keyboard):
        def get_leds(self):  # type: ignore[override]
            raise RuntimeError("boom")

    server.add_interface(Broken())
    assert server.keyboard_leds() == 0
    assert "boom" in caplog.text


def test_a_port_in_use_is_reported_and_leaves_the_server_unchanged() -> None:
    core = SelectorCore()
    first = Server(port=0)
    first.init(core)
    second = Server(port=first.address[1])
    with pytest.raises(OSError):
        second.init(core)
    with pytest.raises(ConfigurationError):
        second.core  # noqa: B018  # still not initialised
    port = first.address[1]
    first.destroy()
    second.init(core)  # and it can try again once the port is free
    assert second.address[1] == port
    second.destroy()
    second.destroy()
    core.close()
