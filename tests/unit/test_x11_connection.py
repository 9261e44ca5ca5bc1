"""The x11 back end's X connection on a real Xvfb: fences, the bounded pump, reply waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_server.backends.x11.connection import MAX_EVENTS_PER_CALL, XConnection

from harness import wait_until
from xserver import HandCore, XServer


@pytest.fixture
def x(tmp_path: Path) -> Iterator[XConnection]:
    server = XServer(tmp_path)
    connection = XConnection(server.name, clock=lambda: 0.0)
    connection.start(HandCore())
    yield connection
    connection.close()
    server.kill()


def test_fences_come_back_in_order_once_x_has_handled_what_went_before(x):
    done: list[int] = []
    cookie = x.conn.core.GetInputFocus()
    for n in range(3):
        x.fence(lambda n=n: done.append(n))
    assert done == []  # nothing runs until the pump reads the fences
    wait_until(lambda: x.pump_events() or done == [0, 1, 2], what="the fences")
    cookie.reply()  # already read before the fences: returns at once


def test_the_pump_stops_after_a_bounded_number_of_events_and_comes_back_by_timer(x):
    done: list[int] = []
    total = 2 * MAX_EVENTS_PER_CALL + 50
    for n in range(total):
        x.fence(lambda n=n: done.append(n))
    x.conn.core.GetInputFocus().reply()  # every fence is now in xcb's queue, not the socket
    core = x.core
    assert isinstance(core, HandCore)
    x.pump_events()
    assert len(done) == MAX_EVENTS_PER_CALL
    assert list(core.started.values()) == [0]  # the rest after a zero-delay timer
    core.fire()
    assert len(done) == 2 * MAX_EVENTS_PER_CALL
    core.fire()
    assert done == list(range(total))
    assert core.started == {}  # drained: no timer left


def test_a_reply_waited_for_in_a_guarded_call_does_not_strand_the_events_before_it(x):
    done: list[str] = []
    x.fence(lambda: done.append("fence"))
    # The reply wait reads the fence into xcb's queue, where the socket's watch cannot see
    # it; guarded pumps afterwards.
    x.guarded(lambda: x.conn.core.GetInputFocus().reply() and None)
    assert done == ["fence"]


def test_a_lost_x_server_ends_the_connection_once_instead_of_raising(tmp_path):
    server = XServer(tmp_path)
    x = XConnection(server.name, clock=lambda: 0.0)
    x.start(HandCore())
    reasons: list[str] = []
    x.on_lost = reasons.append
    server.kill()
    for _ in range(2):
        x.guarded(lambda: x.conn.core.GetInputFocus().reply() and None)
    assert x.lost and len(reasons) == 1
    x.close()
