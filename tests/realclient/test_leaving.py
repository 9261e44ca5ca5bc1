"""Clients that leave, quitting or killed, leave nothing of theirs behind in the server.

A server that people connect to for months sees thousands of clients come and go. What
each one had (its connections, channel clients, session, screens and video encoders) must
go when it does, by reference counting: objects caught in a reference cycle wait for one
of the garbage collector's rare full passes, and with them every buffer they hold (the
soak benchmark saw memory climb by megabytes a client that way). Once the last one has
gone, the allocator is asked to give what is free back to the system.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spice_server.backends.demo import DemoDesktop
from spice_server.backends.x11 import X11Desktop
from spice_server.channels.base import ChannelClient
from spice_server.channels.session import Session
from spice_server.display.video import VideoEncoder
from spice_server.net.connection import Connection

from harness import GtkClient, ServerHarness, wait_until
from xserver import XServer

pytestmark = pytest.mark.realclient

PER_CLIENT = (Connection, ChannelClient, Session, VideoEncoder)
Work = Callable[[GtkClient], None]  # a client does something the back end must see


def live_ids() -> set[int]:
    # By type: a weak proxy (a stream sender's to its client) passes isinstance too.
    return {id(thing) for thing in gc.get_objects() if issubclass(type(thing), PER_CLIENT)}


def held_since(before: set[int]) -> list[weakref.ref[object]]:
    """Weak references to the per-client objects made since ``before`` (on the loop)."""
    return [
        weakref.ref(thing)
        for thing in gc.get_objects()
        if issubclass(type(thing), PER_CLIENT) and id(thing) not in before
    ]


def wait_freed(held: list[weakref.ref[object]], what: str) -> None:
    wait_until(lambda: all(ref() is None for ref in held), what=what)


@contextlib.contextmanager
def demo(harness: ServerHarness, tmp_path: Path) -> Iterator[Work]:
    desktop = DemoDesktop(harness.server, 640, 480)
    harness.call(desktop.start, harness.core)

    def work(client: GtkClient) -> None:
        typed = len(harness.call(lambda: desktop.text))
        client.send(cmd="key_press_and_release", scancode=0x1E)
        wait_until(lambda: len(harness.call(lambda: desktop.text)) > typed, what="a key typed")

    yield work


@contextlib.contextmanager
def x11(harness: ServerHarness, tmp_path: Path) -> Iterator[Work]:
    x = XServer(tmp_path)
    try:
        typed = tmp_path / "typed"
        x.run("xterm", "-geometry", "80x24+0+0", "-e", "sh", "-c", f"cat > {typed}")
        wait_until(typed.exists, what="the xterm running cat")
        desktop = X11Desktop(harness.server, x.name)
        harness.call(desktop.start, harness.core)

        def work(client: GtkClient) -> None:
            before = typed.stat().st_size
            client.send(cmd="position", x=100, y=100, display=0, buttons=0)  # on the xterm
            client.send(cmd="key_press_and_release", scancode=0x1E)
            client.send(cmd="key_press_and_release", scancode=0x1C)  # Enter: cat writes
            wait_until(lambda: typed.stat().st_size > before, what="a key typed in the xterm")

        try:
            yield work
        finally:
            harness.call(desktop.stop)
    finally:
        x.kill()


@pytest.mark.parametrize("backend", [demo, x11], ids=["demo", "x11"])
def test_clients_that_quit_or_are_killed_leave_nothing_behind(
    make_harness, make_client, tmp_path, backend
):
    harness = make_harness()
    admission = harness.server._admission
    idle: list[int] = []
    release = admission._idle
    admission._idle = lambda: (idle.append(len(admission.sessions)), release())
    with backend(harness, tmp_path) as work:
        leave_and_check(harness, make_client, work, idle)


def leave_and_check(harness: ServerHarness, make_client, work: Work, idle: list[int]) -> None:
    def connect_and_work(client: GtkClient) -> None:
        client.wait_ready()
        work(client)
        client.framebuffer()

    gc.collect()
    gc.disable()  # reference counting alone: what a cycle holds would stay
    try:
        before = harness.call(live_ids)
        staying = make_client(harness.port, audio=True)
        connect_and_work(staying)
        held_by_staying = harness.call(held_since, before)
        for kill in (False, True, False, True):
            before = harness.call(live_ids)
            leaving = make_client(harness.port, audio=True)
            connect_and_work(leaving)
            held = harness.call(held_since, before)
            # main, display, inputs and cursor at least (sound where the back end has
            # it): a channel client and a connection each, and the session
            assert len(held) >= 9, f"only {len(held)} per-client objects found"
            if kill:
                leaving.proc.kill()
                leaving.proc.wait(5)
            else:
                leaving.close()
            wait_freed(held, f"the {'killed' if kill else 'quitting'} client's objects freed")
        # The client that stayed was served throughout, and still is.
        connect_and_work(staying)
        assert idle == []  # a session was left each time
        staying.close()
        wait_freed(held_by_staying, "the last client's objects freed")
        wait_until(lambda: idle == [0], what="free memory released once no session is left")
    finally:
        gc.enable()
