"""The resize policy on a stand-in screen: who may resize, and the size given back."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from spice_server.backends.x11.resizing import SizeKeeper
from spice_server.protocol.agent import MonitorConfig


class Screen:
    """A screen that takes any layout, as Xorg with the dummy driver does (monitors side
    by side here)."""

    max_monitors = 4

    def __init__(self, width: int = 1024, height: int = 768) -> None:
        self.size = (width, height)
        self.requests: list[tuple[int, int]] = []
        self.heads = 1

    def configure(self, monitors: Sequence[MonitorConfig]) -> bool:
        self.size = (sum(m.width for m in monitors), max(m.height for m in monitors))
        self.requests.append(self.size)
        self.heads = len(monitors)
        return True

    def resize(self, width: int, height: int) -> bool:
        return self.configure([MonitorConfig(width, height)])

    def current(self) -> tuple[int, int]:
        return self.size


@pytest.mark.parametrize(
    ("policy", "started_here", "follows"),
    [
        ("always", False, True),
        ("always", True, True),
        ("virtual", True, True),
        ("virtual", False, False),  # the default for a display someone else started
        ("never", True, False),
        ("never", False, False),
    ],
)
def test_who_may_resize(policy, started_here, follows):
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size, policy, started_here=started_here)
    assert keeper.configure([MonitorConfig(800, 600)]) is follows
    assert screen.requests == ([(800, 600)] if follows else [])


def test_a_refusal_is_logged_once_with_its_reason(caplog):
    caplog.set_level(logging.INFO)
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size)
    for width in (800, 900, 1000):
        assert not keeper.configure([MonitorConfig(width, 600)])
    assert len(caplog.records) == 1
    assert "asked for a 800x600 screen: the X screen keeps its size" in caplog.text
    assert "--resize always" in caplog.text


def test_the_original_size_comes_back_once_when_clients_leave(caplog):
    caplog.set_level(logging.INFO)
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size, "always")
    keeper.clients_left()  # nothing changed it: nothing to do
    assert screen.requests == []
    keeper.configure([MonitorConfig(800, 600)])
    keeper.configure([MonitorConfig(640, 480)])
    keeper.clients_left()
    keeper.clients_left()
    assert screen.requests == [(800, 600), (640, 480), (1024, 768)]
    assert "the X screen goes back to 1024x768" in caplog.text


def test_the_size_stays_when_told_not_to_restore():
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size, "always", restore=False)
    keeper.configure([MonitorConfig(800, 600)])
    keeper.clients_left()
    assert screen.size == (800, 600) and not keeper.changed


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="resize policy 'sometimes'"):
        SizeKeeper(Screen(), (1024, 768), "sometimes")  # type: ignore[arg-type]


def test_monitors_follow_the_policy_and_one_monitor_comes_back():
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size, "virtual", started_here=True)
    assert keeper.max_monitors == 4
    assert keeper.configure([MonitorConfig(800, 600), MonitorConfig(800, 600, x=800)])
    assert (screen.size, screen.heads) == ((1600, 600), 2)
    keeper.clients_left()
    assert (screen.size, screen.heads) == ((1024, 768), 1)


def test_two_monitors_of_the_original_size_still_go_back_to_one():
    screen = Screen(1600, 600)
    keeper = SizeKeeper(screen, screen.size, "always")
    keeper.configure([MonitorConfig(800, 600), MonitorConfig(800, 600, x=800)])
    keeper.clients_left()
    assert screen.heads == 1 and screen.requests[-1] == (1600, 600)


def test_a_screen_that_may_not_change_offers_one_monitor(caplog):
    caplog.set_level(logging.INFO)
    screen = Screen()
    keeper = SizeKeeper(screen, screen.size, "never")
    assert keeper.max_monitors == 1
    assert not keeper.configure([MonitorConfig(800, 600), MonitorConfig(800, 600, x=800)])
    assert screen.requests == []
    assert "asked for a 800x600+0+0, 800x600+800+0 screen" in caplog.text
