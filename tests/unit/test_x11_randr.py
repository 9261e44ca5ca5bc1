"""The x11 back end's RandR layout: the pure arithmetic, and ScreenSize on a real Xorg with
the dummy driver (16 outputs) and on Xvfb (one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_server.backends.x11.connection import XConnection
from spice_server.backends.x11.randr import ScreenSize, layout
from spice_server.protocol.agent import MonitorConfig
from spice_server.protocol.rect import Rect

from xserver import HandCore, XServer


def test_layout_moves_monitors_to_the_origin_and_rounds_widths_to_8() -> None:
    monitors = [MonitorConfig(805, 600, x=-805, y=10), MonitorConfig(640, 480, x=0, y=0)]
    assert layout(monitors) == [Rect(0, 10, 800, 610), Rect(800, 0, 1440, 480)]
    assert layout([]) == []


class Screen:
    """A ScreenSize on its own X connection, following its reports as a desktop would."""

    def __init__(self, x: XConnection) -> None:
        self.size = (x.screen.width_in_pixels, x.screen.height_in_pixels)
        self.monitors: list[Rect] = []
        self.screen = ScreenSize(x, lambda: self.size, self._resized, self._monitors)
        self.x = x

    def _resized(self, width: int, height: int) -> None:
        self.size = (width, height)

    def _monitors(self, monitors: list[Rect]) -> None:
        self.monitors = monitors


@pytest.fixture(params=["dummy", "xvfb"])
def screen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Screen]:
    server = XServer(tmp_path, request.param)
    connection = XConnection(server.name, clock=lambda: 0.0)
    connection.handlers.append(lambda event: screen.screen.handle(event))
    connection.start(HandCore())
    screen = Screen(connection)
    yield screen
    connection.close()
    server.kill()


def kind(screen: Screen) -> str:
    return "dummy" if screen.screen.max_monitors > 1 else "xvfb"


def test_monitors_in_the_clients_order_whatever_their_places(screen: Screen) -> None:
    two = [MonitorConfig(800, 600, x=640), MonitorConfig(640, 480, x=0)]
    done = screen.screen.configure(two)
    screen.screen.report()
    if kind(screen) == "dummy":
        assert done and screen.size == (1440, 600)
        assert screen.monitors == [Rect(640, 0, 1440, 600), Rect(0, 0, 640, 480)]
    else:  # one output: the first monitor alone, and the request answered as not done
        assert not done and screen.monitors == [Rect(0, 0, 800, 600)]


@pytest.mark.parametrize("screen", ["dummy"], indirect=True)
def test_a_plain_resize_after_several_monitors_darkens_the_others(screen: Screen) -> None:
    assert screen.screen.configure([MonitorConfig(640, 480), MonitorConfig(640, 480, x=640)])
    assert screen.screen.resize(800, 600)
    screen.screen.report()
    assert screen.size == (800, 600) and screen.monitors == [Rect(0, 0, 800, 600)]


def test_monitors_too_small_are_refused_and_nothing_changes(screen: Screen) -> None:
    before = screen.size
    assert not screen.screen.configure([MonitorConfig(800, 600), MonitorConfig(32, 600, x=800)])
    assert screen.size == before
