"""The two ready-made cores honour the core interface: one-shot timers, watches, masks."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from spice_server import AsyncioCore, Core, EventMask, SelectorCore


class Driver:
    """Runs a core's loop for a while, whichever kind it is."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "asyncio":
            self.loop = asyncio.new_event_loop()
            self.core: Core = AsyncioCore(self.loop)
        else:
            self.core = SelectorCore()

    def run_for(self, seconds: float) -> None:
        if isinstance(self.core, SelectorCore):
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                self.core.run_once(left)
        else:
            self.loop.run_until_complete(asyncio.sleep(seconds))

    def run_until(self, done: Callable[[], bool], timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.run_for(0.01)
        assert done(), "the condition did not come true in time"

    def run_past(self, ms: int) -> None:
        """Run until a marker timer started now for ``ms`` has fired: a deadline before
        it has passed too. This waits on the loop's own timers, not on a sleep."""
        fired: list[object] = []
        self.core.timer_start(self.core.timer_add(fired.append), ms)
        self.run_until(lambda: bool(fired))

    def close(self) -> None:
        if isinstance(self.core, SelectorCore):
            self.core.close()
        else:
            self.loop.close()


@pytest.fixture(params=["asyncio", "selector"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = Driver(request.param)
    yield d
    d.close()


def test_core_interface_identity() -> None:
    assert (Core.type, Core.major_version, Core.minor_version) == ("core", 1, 3)


def test_timer_fires_once_with_its_opaque(driver: Driver) -> None:
    fired: list[object] = []
    timer = driver.core.timer_add(fired.append, "opaque")
    driver.core.timer_start(timer, 20)
    driver.run_past(10)
    assert fired == []
    driver.run_until(lambda: bool(fired))
    driver.run_past(60)
    assert fired == ["opaque"]


def test_timer_restart_cancel_and_remove(driver: Driver) -> None:
    fired: list[float] = []
    core = driver.core
    timer = core.timer_add(lambda _: fired.append(time.monotonic()))
    start = time.monotonic()
    core.timer_start(timer, 30)
    core.timer_start(timer, 80)  # restarting replaces the first deadline
    driver.run_until(lambda: bool(fired), 1.0)
    assert len(fired) == 1 and fired[0] - start >= 0.075
    core.timer_start(timer, 20)
    core.timer_cancel(timer)
    driver.run_past(60)
    assert len(fired) == 1
    core.timer_start(timer, 10)  # a cancelled timer can be started again
    driver.run_until(lambda: len(fired) == 2, 1.0)
    assert len(fired) == 2
    core.timer_start(timer, 10)
    core.timer_remove(timer)
    driver.run_past(50)
    assert len(fired) == 2


def test_watch_reports_read_and_write_and_follows_its_mask(driver: Driver) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    events: list[EventMask] = []
    core = driver.core
    watch = core.watch_add(a.fileno(), EventMask.READ, lambda fd, ev, op: events.append(ev))
    driver.run_past(20)
    assert events == []
    b.send(b"x")
    driver.run_until(lambda: bool(events))
    assert events[0] == EventMask.READ
    a.recv(10)
    events.clear()
    core.watch_update_mask(watch, EventMask.WRITE)
    driver.run_until(lambda: bool(events))
    assert set(events) == {EventMask.WRITE}
    core.watch_update_mask(watch, EventMask(0))
    events.clear()
    b.send(b"y")
    driver.run_past(30)
    assert events == []
    core.watch_update_mask(watch, EventMask.READ)
    driver.run_until(lambda: bool(events))
    assert events[-1] == EventMask.READ
    core.watch_remove(watch)
    events.clear()
    driver.run_past(30)
    assert events == []
    a.close()
    b.close()


def test_channel_event_goes_to_the_callback() -> None:
    seen: list[object] = []
    core = SelectorCore(on_channel_event=lambda event, info: seen.append((event, info)))
    core.channel_event(1, None)  # type: ignore[arg-type]
    assert seen == [(1, None)]
    core.close()


def test_selector_core_run_stops_from_another_thread() -> None:
    import threading

    core = SelectorCore()
    calls: list[int] = []
    thread = threading.Thread(target=core.run)
    thread.start()
    core.call_soon_threadsafe(calls.append, 1)
    core.stop()
    thread.join(2)
    assert not thread.is_alive() and calls == [1]
    core.close()


def test_a_failing_callback_is_logged_and_the_loop_goes_on(driver: Driver, caplog) -> None:
    fired: list[int] = []
    core = driver.core

    def boom(_: object) -> None:
        raise RuntimeError("boom")

    core.timer_start(core.timer_add(boom), 0)
    core.timer_start(core.timer_add(lambda _: fired.append(1)), 10)
    driver.run_until(lambda: bool(fired))
    assert fired == [1]
    assert "boom" in caplog.text


def test_a_removed_timer_or_watch_lets_go_of_its_owner(driver: Driver) -> None:
    """Owners keep their timers and watches, whose callbacks are the owners' methods: a
    removed one must let go of its callback, or the pair is a cycle (and a timer still in
    a loop's queue a plain reference) that keeps the owner until a full garbage collection."""

    class Owner:
        def __init__(self, core: Core, fd: int) -> None:
            self.timer = core.timer_add(self.fired)
            self.watch = core.watch_add(fd, EventMask.READ, self.ready)

        def fired(self, opaque: object) -> None:
            raise AssertionError("a removed timer fired")

        def ready(self, fd: int, events: EventMask, opaque: object) -> None:
            raise AssertionError("a removed watch was called")

    core = driver.core
    ours, theirs = socket.socketpair()
    gc.disable()  # only reference counting frees it: no cycle may be left
    try:
        owner = Owner(core, ours.fileno())
        core.timer_start(owner.timer, 60_000)
        core.timer_remove(owner.timer)
        core.watch_remove(owner.watch)
        gone = weakref.ref(owner)
        del owner
        assert gone() is None
        theirs.send(b"x")
        driver.run_for(0.05)
    finally:
        gc.enable()
        ours.close()
        theirs.close()


def test_a_closed_selector_core_may_still_be_told_to_stop() -> None:
    """Stopped from another thread, the loop may see the stop, return and close its
    wake-up pipe before that thread writes to it: the write then finds it closed (it
    raised OSError, EBADF, in a test's teardown)."""
    core = SelectorCore()
    core.close()
    core.stop()
    core.call_soon_threadsafe(lambda: None)
