"""The x11 back end's clipboard on a real Xvfb: selections sent in parts, both ways.

The X programs here (an owner, a program that pastes) are X clients of the test's own
that speak the ICCCM's INCR protocol part by part as the test says, so that a stalled
or oversized transfer can be staged (GTK's and xclip's real ones are in
tests/realclient/test_x11.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xcffib
import xcffib.xfixes
import xcffib.xproto as xp

from spice_server.backends.x11 import clipboard as clipboard_module
from spice_server.backends.x11.clipboard import REQUEST_TIMEOUT_S, XClipboard
from spice_server.backends.x11.connection import XConnection
from spice_server.protocol.agent import ClipboardSelection, ClipboardType

from fakes import FakeClock
from harness import wait_until
from xserver import XServer

CLIPBOARD = ClipboardSelection.CLIPBOARD
PRIMARY = ClipboardSelection.PRIMARY
TEXT = ClipboardType.UTF8_TEXT


class XProgram:
    """An X client of the test's own with a window (``events``: what it selects there)."""

    def __init__(self, name: str, events: int = 0) -> None:
        self.conn = xcffib.connect(display=name)
        root = self.conn.get_setup().roots[0].root
        self.window = self.conn.generate_id()
        mask, values = (xp.CW.EventMask, [events]) if events else (0, [])
        self.conn.core.CreateWindow(
            0, self.window, root, 0, 0, 1, 1, 0, xp.WindowClass.InputOnly, 0, mask, values
        )

    def _atom(self, name: str) -> int:
        return self.conn.core.InternAtom(False, len(name), name).reply().atom

    def close(self) -> None:
        self.conn.disconnect()


class InParts(XProgram):
    """An X program owning ``selection`` that offers text as ``text`` and answers with
    INCR, then sends the parts it is given, each once the requestor deleted the one
    before (and, while ``paused``, once that is over)."""

    def __init__(
        self, name: str, parts: list[bytes], selection: str = "CLIPBOARD", text: str = "UTF8_STRING"
    ) -> None:
        super().__init__(name)
        self.parts = list(parts)
        self.paused = False
        self.asked = False  # the requestor deleted the last part: the next is due
        self.selection, self.incr = self._atom(selection), self._atom("INCR")
        self.text, self.targets = self._atom(text), self._atom("TARGETS")
        self.requestor = self.property = 0
        self.conn.core.SetSelectionOwner(self.window, self.selection, xp.Time.CurrentTime)
        self.conn.flush()

    def step(self) -> None:
        while (event := self.conn.poll_for_event()) is not None:
            if isinstance(event, xp.SelectionRequestEvent):
                self._request(event)
            elif (
                isinstance(event, xp.PropertyNotifyEvent)
                and event.window == self.requestor
                and event.atom == self.property
                and event.state == xp.Property.Delete
            ):
                self.asked = True
        if self.asked and self.parts and not self.paused:
            self.asked = False
            self._set(self.text, 8, self.parts.pop(0))
        self.conn.flush()

    def _request(self, event: xp.SelectionRequestEvent) -> None:
        self.requestor, self.property = event.requestor, event.property
        if event.target == self.targets:
            self._set(xp.Atom.ATOM, 32, [self.targets, self.text])
        else:
            self.conn.core.ChangeWindowAttributes(
                event.requestor, xp.CW.EventMask, [xp.EventMask.PropertyChange]
            )
            self._set(self.incr, 32, [sum(len(part) for part in self.parts)])
        notify = xp.SelectionNotifyEvent.synthetic(
            event.time, event.requestor, event.selection, event.target, event.property
        )
        self.conn.core.SendEvent(False, event.requestor, 0, notify.pack())

    def _set(self, kind: int, fmt: int, values: bytes | list[int]) -> None:
        """Bytes for format 8, numbers for 32 (xcffib packs a list of numbers as 32 bits)."""
        self.conn.core.ChangeProperty(
            xp.PropMode.Replace, self.requestor, self.property, kind, fmt, len(values), values
        )


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[XServer, XConnection, XClipboard, FakeClock, list]]:
    server = XServer(tmp_path, width=320, height=240)
    clock = FakeClock(100.0)
    x = XConnection(server.name, clock.now)
    x.conn(xcffib.xfixes.key).QueryVersion(5, 0).reply()
    clipboard = XClipboard(x)
    x.handlers.append(clipboard.handle_event)
    sent: list[tuple[ClipboardSelection, ClipboardType, bytes]] = []
    clipboard.send_data = lambda *args: sent.append(args)  # type: ignore[method-assign]
    clipboard.grab = lambda *args: sent.append(("grab", *args))  # type: ignore[method-assign]
    yield server, x, clipboard, clock, sent
    x.close()
    server.kill()


def run_until(x: XConnection, owner: InParts, condition: Callable[[], object], what: str) -> None:
    wait_until(lambda: owner.step() or x.pump_events() or condition(), what=what)


def offered(x: XConnection, owner: InParts, sent: list) -> None:
    """Let the clipboard learn what the new owner offers (its TARGETS) and grab for the
    clients, before a client asks for the data."""
    run_until(x, owner, lambda: sent, "the grab for the clients")
    assert sent == [("grab", CLIPBOARD, [TEXT])]
    sent.clear()


def test_a_selection_sent_in_parts_goes_to_the_client_whole(setup):
    server, x, clipboard, _clock, sent = setup
    parts = [b"first part, ", "second ✓, ".encode(), b"and the last", b""]
    owner = InParts(server.name, parts)
    offered(x, owner, sent)
    clipboard.client_request(CLIPBOARD, TEXT)
    run_until(x, owner, lambda: sent, "the data")
    assert sent == [(CLIPBOARD, TEXT, b"".join(parts))]
    assert clipboard.incoming == {}
    owner.close()


def test_a_transfer_that_stops_gives_the_client_nothing_after_a_while(setup, caplog):
    server, x, clipboard, clock, sent = setup
    owner = InParts(server.name, [b"a first part"])  # and never the end
    offered(x, owner, sent)
    clipboard.client_request(CLIPBOARD, TEXT)
    run_until(x, owner, lambda: not owner.parts and clipboard.incoming, "the first part")
    clipboard.expire()
    assert sent == []  # not yet
    clock.time += REQUEST_TIMEOUT_S + 0.1
    with caplog.at_level("INFO"):
        clipboard.expire()
    assert sent == [(CLIPBOARD, TEXT, b"")]
    assert clipboard.incoming == {}
    assert "stopped sending it" in caplog.text
    owner.close()


def test_a_transfer_larger_than_the_limit_is_dropped_at_the_part_past_it(
    setup, caplog, monkeypatch
):
    server, x, clipboard, _clock, sent = setup
    monkeypatch.setattr(clipboard_module, "MAX_INCOMING", 1000)
    owner = InParts(server.name, [b"x" * 600, b"y" * 600, b"z" * 600, b""])
    offered(x, owner, sent)
    with caplog.at_level("INFO"):
        clipboard.client_request(CLIPBOARD, TEXT)
        run_until(x, owner, lambda: sent, "the refusal")
    assert sent == [(CLIPBOARD, TEXT, b"")]
    assert clipboard.incoming == {}
    assert "larger than 1000 bytes" in caplog.text
    assert len(owner.parts) == 2  # the third was never asked for
    owner.close()


def test_a_new_owner_of_primary_leaves_a_transfer_of_the_clipboard_alone(setup):
    """Text selected in an X program (PRIMARY changes hands, and its TARGETS are asked
    for) while a large copy of CLIPBOARD comes in parts."""
    server, x, clipboard, _clock, sent = setup
    parts = [b"one, ", b"two, ", b"three", b""]
    owner = InParts(server.name, parts)
    offered(x, owner, sent)
    owner.paused = True
    clipboard.client_request(CLIPBOARD, TEXT)
    run_until(x, owner, lambda: owner.asked and clipboard.incoming, "the transfer begun")
    selected = InParts(server.name, [], selection="PRIMARY")
    wait_until(
        lambda: selected.step() or owner.step() or x.pump_events() or sent,
        what="PRIMARY's grab for the clients",
    )
    assert sent == [("grab", PRIMARY, [TEXT])]
    sent.clear()
    owner.paused = False
    run_until(x, owner, lambda: sent, "the data")
    assert sent == [(CLIPBOARD, TEXT, b"".join(parts))]
    selected.close()
    owner.close()


def test_both_selections_come_in_parts_at_once(setup):
    """A client asks for PRIMARY while CLIPBOARD comes in parts: each arrives whole (the
    request for PRIMARY ended the other transfer, and its client got nothing)."""
    server, x, clipboard, _clock, sent = setup
    copied = [b"copied, ", b"in parts", b""]
    selected = [b"selected, ", b"in parts too", b""]
    owner = InParts(server.name, copied)
    offered(x, owner, sent)
    owner.paused = True
    clipboard.client_request(CLIPBOARD, TEXT)
    run_until(x, owner, lambda: owner.asked and clipboard.incoming, "CLIPBOARD's transfer begun")
    other = InParts(server.name, selected, selection="PRIMARY")

    def both() -> None:
        other.step()
        owner.step()
        x.pump_events()

    wait_until(lambda: both() or sent, what="PRIMARY's grab for the clients")
    assert sent == [("grab", PRIMARY, [TEXT])]
    sent.clear()
    clipboard.client_request(PRIMARY, TEXT)
    wait_until(lambda: both() or len(clipboard.incoming) == 2, what="both transfers under way")
    owner.paused = False
    wait_until(lambda: both() or len(sent) == 2, what="both selections")
    assert sorted(sent) == [
        (CLIPBOARD, TEXT, b"".join(copied)),
        (PRIMARY, TEXT, b"".join(selected)),
    ]
    assert clipboard.incoming == {}
    other.close()
    owner.close()


def test_latin_1_text_sent_in_parts_goes_to_the_client_as_utf_8(setup):
    server, x, clipboard, _clock, sent = setup
    owner = InParts(server.name, ["café, ".encode("latin-1"), b"fin", b""], text="STRING")
    offered(x, owner, sent)
    clipboard.client_request(CLIPBOARD, TEXT)
    run_until(x, owner, lambda: sent, "the data")
    assert sent == [(CLIPBOARD, TEXT, "café, fin".encode())]
    owner.close()


class Pasting(XProgram):
    """An X program that pastes ``selection`` as UTF8_STRING and takes the parts of an
    INCR answer, deleting each once read (while ``paused``, not)."""

    def __init__(self, name: str, selection: str = "CLIPBOARD") -> None:
        super().__init__(name, xp.EventMask.PropertyChange)
        self.property = self._atom("PASTED")
        self.incr, self.utf8 = self._atom("INCR"), self._atom("UTF8_STRING")
        self.paused = False
        self.in_parts = False
        self.refused = False
        self.parts: list[bytes] = []
        self.done: bytes | None = None
        self.conn.core.ConvertSelection(
            self.window, self._atom(selection), self.utf8, self.property, xp.Time.CurrentTime
        )
        self.conn.flush()

    def step(self) -> None:
        while (event := self.conn.poll_for_event()) is not None:
            if isinstance(event, xp.SelectionNotifyEvent):
                if event.property == 0:
                    self.refused = True
                    continue
                kind, value = self._take()
                if kind == self.incr:
                    self.in_parts = True
                else:
                    self.done = value
            elif (
                isinstance(event, xp.PropertyNotifyEvent)
                and event.atom == self.property
                and event.state == xp.Property.NewValue
                and self.in_parts
                and not self.paused
            ):
                _kind, part = self._take()
                if part:
                    self.parts.append(part)
                else:
                    self.done = b"".join(self.parts)
        self.conn.flush()

    def _take(self) -> tuple[int, bytes]:
        reply = self.conn.core.GetProperty(
            True, self.window, self.property, xp.Atom.Any, 0, 1 << 24
        ).reply()
        return reply.type, reply.value.buf()


def client_owns(clipboard: XClipboard, x: XConnection, data: bytes) -> None:
    """A client grabs CLIPBOARD, and answers X's requests for it with ``data``."""
    clipboard.request = lambda selection, kind: clipboard.client_data(selection, kind, data)  # type: ignore[method-assign]
    clipboard.client_grab(CLIPBOARD, [TEXT])
    x.conn.core.GetInputFocus().reply()  # X has taken the grab


def pasted(x: XConnection, paste: Pasting, what: str) -> None:
    wait_until(lambda: paste.step() or x.pump_events() or paste.done is not None, what=what)


def test_a_client_copy_larger_than_a_part_goes_to_x_in_parts(setup):
    """An X program's paste of a long copy gets it whole, in parts of PART_BYTES."""
    server, x, clipboard, _clock, _sent = setup
    text = "".join(f"line {n:06d} ✓\n" for n in range(60000)).encode()
    assert len(text) > 3 * clipboard_module.PART_BYTES
    client_owns(clipboard, x, text)
    paste = Pasting(server.name)
    pasted(x, paste, "the whole copy")
    assert paste.in_parts
    assert paste.done == text
    assert [len(part) for part in paste.parts[:-1]] == [clipboard_module.PART_BYTES] * (
        len(paste.parts) - 1
    )
    assert clipboard.outgoing == []
    paste.close()


def test_a_client_copy_under_a_part_goes_to_x_whole(setup):
    server, x, clipboard, _clock, _sent = setup
    text = "a short copy ✓".encode()
    client_owns(clipboard, x, text)
    paste = Pasting(server.name)
    pasted(x, paste, "the copy")
    assert not paste.in_parts
    assert paste.done == text
    paste.close()


def test_a_program_that_stops_taking_parts_is_dropped_after_a_while(setup, caplog):
    server, x, clipboard, clock, _sent = setup
    client_owns(clipboard, x, b"z" * (3 * clipboard_module.PART_BYTES))
    paste = Pasting(server.name)
    paste.paused = True
    wait_until(lambda: paste.step() or x.pump_events() or paste.in_parts, what="the INCR")
    wait_until(lambda: paste.step() or x.pump_events() or clipboard.outgoing[0].sent, what="a part")
    clipboard.expire()
    assert len(clipboard.outgoing) == 1  # not yet
    clock.time += REQUEST_TIMEOUT_S + 0.1
    with caplog.at_level("INFO"):
        clipboard.expire()
    assert clipboard.outgoing == []
    assert "stopped taking it" in caplog.text
    paste.close()


def test_transfers_in_parts_past_the_limit_are_refused(setup, caplog, monkeypatch):
    server, x, clipboard, _clock, _sent = setup
    monkeypatch.setattr(clipboard_module, "MAX_OUTGOING", 2)
    client_owns(clipboard, x, b"z" * (2 * clipboard_module.PART_BYTES))
    pastes = [Pasting(server.name) for _ in range(3)]
    for paste in pastes:
        paste.paused = True

    def third_refused() -> bool:
        for paste in pastes:
            paste.step()
        x.pump_events()
        return pastes[2].refused

    with caplog.at_level("INFO"):
        wait_until(third_refused, what="the third refused")
    assert [p.in_parts for p in pastes] == [True, True, False]
    assert "2 transfers in parts are under way" in caplog.text
    for paste in pastes:
        paste.close()
