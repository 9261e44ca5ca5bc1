"""Bridges the SPICE clipboard to the X selections CLIPBOARD and PRIMARY.

Client to X: when a client grabs, we take ownership of the X selection with a window of
our own. An X program that pastes sends us a SelectionRequest; we ask the client for the
data and answer the X program when it arrives.

X to client: XFIXES tells us when another X program takes a selection. We ask it which
targets it offers, grab the matching SPICE types for the clients, and convert the
selection when a client asks for the data.

Text travels as UTF-8 (UTF8_STRING, text/plain;charset=utf-8, STRING, TEXT) and images
as PNG (image/png). From X, text is asked for in the first of those the owner offers: a
program that offers STRING alone (Latin-1, as older toolkits do) may refuse UTF8_STRING,
or answer it in Latin-1 all the same; its text is made UTF-8 here. A client's text asked
for as STRING is given in Latin-1.

Large data goes in parts both ways (the ICCCM's INCR): GTK's programs send so above
256 kB, and we do above PART_BYTES. From X the parts are gathered, up to MAX_INCOMING
bytes, each asked for by deleting the one before (CLIPBOARD and PRIMARY can come at
once: each lands in a property of its own). To X, each part is written when the X
program has deleted the one before (we watch its window's properties meanwhile), at
most MAX_OUTGOING transfers at once; one whose program stops taking parts is dropped
after REQUEST_TIMEOUT_S. (As one property, a copy larger than an X request, 16 MB with
BIG-REQUESTS where the agent allows 32, could not go at all.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import xcffib
import xcffib.xfixes
import xcffib.xproto as xp

from ...interfaces.clipboard import ClipboardInterface
from ...protocol.agent import DEFAULT_MAX_CLIPBOARD, ClipboardSelection, ClipboardType
from .connection import XConnection, x_call

log = logging.getLogger(__name__)

TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT")
PNG_TARGET = "image/png"
REQUEST_TIMEOUT_S = 5.0  # for a client's answer, and between the parts of an X program's
MAX_INCOMING = DEFAULT_MAX_CLIPBOARD  # bytes of a selection sent in parts that are gathered
PART_BYTES = 256 * 1024  # a client's data larger than this goes to X programs in parts
MAX_OUTGOING = 8  # transfers in parts to X programs at once
SELECTIONS = {ClipboardSelection.CLIPBOARD: "CLIPBOARD", ClipboardSelection.PRIMARY: "PRIMARY"}


@dataclass
class PendingPaste:
    """An X program waiting for data we asked a client for."""

    requestor: int
    selection: int
    target: int
    property: int
    time: int
    asked: float


@dataclass
class Incoming:
    """A selection an X program sends in parts, for a client that asked for it."""

    selection: ClipboardSelection
    clip_type: ClipboardType
    parts: list[bytes]
    size: int
    last: float  # when the last part came (x.clock)
    kind: int = 0  # the parts' type (STRING: Latin-1 text)


@dataclass
class Outgoing:
    """A client's data going to an X program in parts: the next one is written when the
    program deletes ``property`` from its window ``requestor``; an empty one ends."""

    requestor: int
    property: int
    kind: int
    data: bytes
    sent: int  # bytes written so far
    last: float  # when the program last took a part (x.clock)


class XClipboard(ClipboardInterface):
    description = "X selections"

    def __init__(self, x: XConnection) -> None:
        self.x = x
        self.conn = conn = x.conn
        atom = x.atom
        self.window = conn.generate_id()
        conn.core.CreateWindow(
            0,
            self.window,
            x.root,
            -10,
            -10,
            1,
            1,
            0,
            xp.WindowClass.InputOnly,
            0,
            xp.CW.EventMask,
            [xp.EventMask.PropertyChange],  # the parts of a selection sent in parts
        )
        self.xfixes = conn(xcffib.xfixes.key)
        mask = (
            xcffib.xfixes.SelectionEventMask.SetSelectionOwner
            | xcffib.xfixes.SelectionEventMask.SelectionWindowDestroy
            | xcffib.xfixes.SelectionEventMask.SelectionClientClose
        )
        self.selection_atoms = {sel: atom(name) for sel, name in SELECTIONS.items()}
        for selection_atom in self.selection_atoms.values():
            self.xfixes.SelectSelectionInput(self.window, selection_atom, mask)
        self.text_targets = [atom(name) for name in TEXT_TARGETS]
        self.png_target = atom(PNG_TARGET)
        self.targets_atom = atom("TARGETS")
        self.incr_atom = atom("INCR")
        # Each selection's conversions land in a property of its own: with one for both,
        # a new owner of PRIMARY (any text selected) wrote its TARGETS into a transfer of
        # CLIPBOARD.
        self.properties = {sel: atom(f"SPICE_SERVER_{name}") for sel, name in SELECTIONS.items()}
        self.max_bytes = conn.get_maximum_request_length() * 4 - 64
        self.client_types: dict[int, list[ClipboardType]] = {}  # what clients offer, by selection
        self.text_target: dict[int, int] = {}  # by selection: the owner's first text target
        self.pastes: list[PendingPaste] = []
        self.conversions: dict[int, ClipboardType] = {}  # selection -> type being converted
        self.incoming: dict[ClipboardSelection, Incoming] = {}  # one a selection at most
        self.outgoing: list[Outgoing] = []
        self.part_bytes = min(PART_BYTES, self.max_bytes)
        conn.flush()

    def _selection_of(self, atom: int) -> ClipboardSelection | None:
        for selection, selection_atom in self.selection_atoms.items():
            if selection_atom == atom:
                return selection
        return None

    # -- the client's side (ClipboardInterface callbacks, on the server's loop) ----------

    @x_call
    def client_grab(self, selection: ClipboardSelection, types: list[ClipboardType]) -> None:
        if selection not in self.selection_atoms:
            return
        self.client_types[selection] = list(types)
        self.conn.core.SetSelectionOwner(
            self.window, self.selection_atoms[selection], xp.Time.CurrentTime
        )
        self.conn.flush()

    @x_call
    def client_release(self, selection: ClipboardSelection) -> None:
        if self.client_types.pop(selection, None) is None:
            return
        owner = self.conn.core.GetSelectionOwner(self.selection_atoms[selection]).reply().owner
        if owner == self.window:
            self.conn.core.SetSelectionOwner(
                0, self.selection_atoms[selection], xp.Time.CurrentTime
            )
            self.conn.flush()

    @x_call
    def client_request(self, selection: ClipboardSelection, clip_type: ClipboardType) -> None:
        if selection not in self.selection_atoms:
            self.send_data(selection, clip_type, b"")
            return
        if clip_type == ClipboardType.IMAGE_PNG:
            target = self.png_target
        else:
            target = self.text_target.get(selection, self.text_targets[0])
        if selection in self.incoming:
            self._give_up(selection, "a client asked for it again")
        self.conversions[selection] = clip_type
        self.conn.core.ConvertSelection(
            self.window,
            self.selection_atoms[selection],
            target,
            self.properties[selection],
            xp.Time.CurrentTime,
        )
        self.conn.flush()

    @x_call
    def client_data(
        self, selection: ClipboardSelection, clip_type: ClipboardType, data: bytes
    ) -> None:
        waiting = [p for p in self.pastes if self._selection_of(p.selection) == selection]
        for paste in waiting:
            self.pastes.remove(paste)
            self._answer(paste, data if data else None)
        self.conn.flush()

    # -- X events ------------------------------------------------------------------------

    def handle_event(self, event: object) -> bool:
        """Handle the event if it is about selections; True when it was."""
        if isinstance(event, xp.SelectionRequestEvent):
            self._selection_request(event)
        elif isinstance(event, xp.SelectionNotifyEvent):
            self._selection_notify(event)
        elif isinstance(event, xcffib.xfixes.SelectionNotifyEvent):
            self._owner_changed(event)
        elif isinstance(event, xp.PropertyNotifyEvent):
            if event.window == self.window:
                if event.state == xp.Property.NewValue:
                    self._part_in(event.atom)
            elif event.state == xp.Property.Delete:
                self._part_out(event.window, event.atom)
        elif isinstance(event, xp.SelectionClearEvent):
            selection = self._selection_of(event.selection)
            if selection is not None:
                self.client_types.pop(selection, None)
        else:
            return False
        self.conn.flush()
        return True

    def expire(self) -> None:
        """Refuse pastes whose client never answered."""
        now = self.x.clock()
        for paste in [p for p in self.pastes if now - p.asked > REQUEST_TIMEOUT_S]:
            self.pastes.remove(paste)
            log.info("a client did not answer a clipboard request in time")
            self._answer(paste, None)
        for incoming in [i for i in self.incoming.values() if now - i.last > REQUEST_TIMEOUT_S]:
            self._give_up(incoming.selection, "the X program stopped sending it")
        for transfer in [t for t in self.outgoing if now - t.last > REQUEST_TIMEOUT_S]:
            log.info("clipboard data sent in parts dropped: the X program stopped taking it")
            self._end(transfer)
        self.conn.flush()

    def _selection_request(self, event: xp.SelectionRequestEvent) -> None:
        selection = self._selection_of(event.selection)
        types = self.client_types.get(selection) if selection is not None else None
        paste = PendingPaste(
            event.requestor,
            event.selection,
            event.target,
            event.property or event.target,
            event.time,
            self.x.clock(),
        )
        if selection is None or types is None:
            self._answer(paste, None)
        elif event.target == self.targets_atom:
            targets = [self.targets_atom]
            if ClipboardType.UTF8_TEXT in types:
                targets += self.text_targets
            if ClipboardType.IMAGE_PNG in types:
                targets.append(self.png_target)
            self._reply(paste, xp.Atom.ATOM, 32, targets)
        else:
            wanted = self._wanted_type(event.target)
            if wanted is None or wanted not in types:
                self._answer(paste, None)
                return
            first = not any(self._selection_of(p.selection) == selection for p in self.pastes)
            self.pastes.append(paste)
            if first:
                self.request(selection, wanted)

    def _wanted_type(self, target: int) -> ClipboardType | None:
        if target in self.text_targets:
            return ClipboardType.UTF8_TEXT
        if target == self.png_target:
            return ClipboardType.IMAGE_PNG
        return None

    def _answer(self, paste: PendingPaste, data: bytes | None) -> None:
        if data is None:
            self._send_selection_notify(paste, 0)
            return
        # The property's type is the target asked for; TEXT is answered as UTF8_STRING,
        # STRING in Latin-1 (what it cannot write becomes "?").
        kind = self.text_targets[0] if paste.target == self.text_targets[3] else paste.target
        if kind == xp.Atom.STRING:
            data = data.decode("utf-8", "replace").encode("latin-1", "replace")
        if len(data) > self.part_bytes:
            self._send_in_parts(paste, kind, data)
            return
        self.conn.core.ChangeProperty(
            xp.PropMode.Replace, paste.requestor, paste.property, kind, 8, len(data), data
        )
        self._send_selection_notify(paste, paste.property)

    def _send_in_parts(self, paste: PendingPaste, kind: int, data: bytes) -> None:
        """Answer with INCR and the size; the parts follow as the X program deletes them."""
        if len(self.outgoing) >= MAX_OUTGOING:
            log.info("clipboard data refused: %d transfers in parts are under way", MAX_OUTGOING)
            self._send_selection_notify(paste, 0)
            return
        # Watched before the INCR is written, or its deletion could come unseen.
        self._watch(paste.requestor, True)
        self.conn.core.ChangeProperty(
            xp.PropMode.Replace, paste.requestor, paste.property, self.incr_atom, 32, 1, [len(data)]
        )
        self.outgoing.append(
            Outgoing(paste.requestor, paste.property, kind, data, 0, self.x.clock())
        )
        self._send_selection_notify(paste, paste.property)

    def _part_out(self, window: int, prop: int) -> None:
        """The X program took the last part (or the INCR): write the next, or the empty
        one that ends the transfer."""
        transfer = next(
            (t for t in self.outgoing if t.requestor == window and t.property == prop), None
        )
        if transfer is None:
            return
        part = transfer.data[transfer.sent : transfer.sent + self.part_bytes]
        self.conn.core.ChangeProperty(
            xp.PropMode.Replace, window, prop, transfer.kind, 8, len(part), part
        )
        transfer.sent += len(part)
        transfer.last = self.x.clock()
        if not part:
            self._end(transfer)

    def _end(self, transfer: Outgoing) -> None:
        self.outgoing.remove(transfer)
        if not any(t.requestor == transfer.requestor for t in self.outgoing):
            self._watch(transfer.requestor, False)

    def _watch(self, window: int, on: bool) -> None:
        """Our own event mask on an X program's window (its own is not touched)."""
        mask = xp.EventMask.PropertyChange if on else xp.EventMask.NoEvent
        self.conn.core.ChangeWindowAttributes(window, xp.CW.EventMask, [mask])

    def _reply(self, paste: PendingPaste, kind: int, fmt: int, values: list[int]) -> None:
        self.conn.core.ChangeProperty(
            xp.PropMode.Replace, paste.requestor, paste.property, kind, fmt, len(values), values
        )
        self._send_selection_notify(paste, paste.property)

    def _send_selection_notify(self, paste: PendingPaste, prop: int) -> None:
        event = xp.SelectionNotifyEvent.synthetic(
            paste.time, paste.requestor, paste.selection, paste.target, prop
        )
        self.conn.core.SendEvent(False, paste.requestor, xp.EventMask.NoEvent, event.pack())

    def _owner_changed(self, event: xcffib.xfixes.SelectionNotifyEvent) -> None:
        selection = self._selection_of(event.selection)
        if selection is None or event.owner == self.window:
            return
        if event.owner == 0:
            self.release(selection)
            return
        # Ask the new owner what it offers; the answer comes as a SelectionNotify.
        self.conversions.pop(selection, None)
        if selection in self.incoming:
            self._give_up(selection, "another program took the selection")
        self.conn.core.ConvertSelection(
            self.window,
            event.selection,
            self.targets_atom,
            self.properties[selection],
            event.timestamp,
        )

    def _selection_notify(self, event: xp.SelectionNotifyEvent) -> None:
        selection = self._selection_of(event.selection)
        if selection is None:
            return
        kind, data = self._take_property(event.property) if event.property else (0, None)
        if event.target == self.targets_atom:
            self._offer(selection, data if kind != self.incr_atom else None)
            return
        clip_type = self.conversions.pop(selection, None)
        if clip_type is None:
            return
        if kind == self.incr_atom:
            # Deleting the property (done) asks for the first part; an empty one ends.
            self.incoming[selection] = Incoming(selection, clip_type, [], 0, self.x.clock())
            return
        self.send_data(selection, clip_type, _as_utf8(kind, data or b""))

    def _part_in(self, prop: int) -> None:
        incoming = next(
            (i for i in self.incoming.values() if self.properties[i.selection] == prop), None
        )
        if incoming is None:
            return  # a whole property, or the first of a transfer, read on its notify
        selection = incoming.selection
        kind, data = self._take_property(prop)
        if data is None:
            self._give_up(selection, "a part of it could not be read")
            return
        if not data:
            del self.incoming[selection]
            whole = b"".join(incoming.parts)
            self.send_data(selection, incoming.clip_type, _as_utf8(incoming.kind, whole))
            return
        incoming.size += len(data)
        if incoming.size > MAX_INCOMING:
            self._give_up(selection, f"it is larger than {MAX_INCOMING} bytes")
            return
        incoming.parts.append(bytes(data))
        incoming.last, incoming.kind = self.x.clock(), kind

    def _give_up(self, selection: ClipboardSelection, why: str) -> None:
        """End the selection being received in parts: the client that asked gets nothing."""
        incoming = self.incoming.pop(selection, None)
        if incoming is not None:
            log.info("clipboard data sent in parts dropped: %s", why)
            self.send_data(selection, incoming.clip_type, b"")

    def _offer(self, selection: ClipboardSelection, data: bytes | None) -> None:
        if data is None:
            return
        atoms = set(memoryview(data).cast("I").tolist()) if len(data) % 4 == 0 else set()
        types = []
        offered = [target for target in self.text_targets if target in atoms]
        if offered:
            self.text_target[selection] = offered[0]
            types.append(ClipboardType.UTF8_TEXT)
        if self.png_target in atoms:
            types.append(ClipboardType.IMAGE_PNG)
        if types:
            self.client_types.pop(selection, None)
            self.grab(selection, types)

    def _take_property(self, prop: int) -> tuple[int, bytes | None]:
        """The type and value of our property ``prop``, deleted (which asks for the next
        part of a selection sent in parts); no value if it is larger than one X reply."""
        reply = self.conn.core.GetProperty(
            True, self.window, prop, xp.Atom.Any, 0, self.max_bytes // 4
        ).reply()
        if reply.bytes_after:
            log.info("clipboard data larger than one X request is not supported; dropped")
            return reply.type, None
        return reply.type, reply.value.buf()

    def close(self) -> None:
        try:
            self.conn.core.DestroyWindow(self.window)
            self.conn.flush()
        except xcffib.ConnectionException:
            pass


def _as_utf8(kind: int, data: bytes) -> bytes:
    """Text X sent as ``kind``, in UTF-8: STRING is Latin-1 (ICCCM), the rest already is."""
    return bytes(data).decode("latin-1").encode() if kind == xp.Atom.STRING else bytes(data)
