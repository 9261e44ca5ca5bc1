#!/usr/bin/python3
"""An unmodified spice-gtk client (SpiceClientGLib), driven over stdin/stdout by the tests.

Runs under Debian's /usr/bin/python3 (packages gir1.2-spiceclientglib-2.0 and python3-gi),
never the project's virtual environment: it is the real client, not our code. It connects
at start, then reads one JSON command per line on stdin and writes one JSON event per line
on stdout. With --tls-port (and --ca-file, --host-subject) it also connects over TLS, as
spice-gtk decides per channel. Commands::

    {"cmd": "framebuffer", "path": P}   -> {"event": "framebuffer", "width", "height", "stride",
                                            "path", "invalidates"}  (raw BGRX rows written to P)
    {"cmd": "key_press" | "key_release" | "key_press_and_release", "scancode": N}
    {"cmd": "motion", "dx", "dy", "buttons"}
    {"cmd": "position", "x", "y", "display", "buttons"}
    {"cmd": "button_press" | "button_release", "button", "buttons"}
    {"cmd": "request_mouse_mode", "mode"}
    {"cmd": "set_key_locks", "locks"}    (the client's lock keys, sent as KEY_MODIFIERS)
    {"cmd": "clipboard_set", "selection", "type", "data"}   (hex; grabs, answers requests)
    {"cmd": "clipboard_release", "selection"}
    {"cmd": "clipboard_request", "selection", "type"}   -> clipboard_data event
    {"cmd": "monitor_config", "width", "height", ["x", "y"]}   (as a window resize does)
    {"cmd": "monitors_config", "monitors": [{"x", "y", "width", "height"}, ...], "align"}
                                         (several monitors, the others disabled; with
                                         align false spice-gtk keeps their positions)
    {"cmd": "state"}                     -> {"event": "state", ...}
    {"cmd": "frame_gaps"}                -> {"event": "frame_gaps", "count", "max_gap_ms"}
                                            (display updates since the last asking, and
                                            the longest time without one)
    {"cmd": "playback_save", "path": P}  -> {"event": "playback_saved", "bytes", "path",
                                            "arrivals"}  (the PCM played since the last
                                            playback_start; arrivals: [monotonic time, byte
                                            offset] of each piece as it came)
    {"cmd": "record_send", "path": P, "time": T}   (sends the PCM in file P, in one call)
    {"cmd": "file_copy", "paths": [P, ...], ["names": [N, ...]]}   (a name: the one the
                                            file gives instead of its own)
                                         -> {"event": "file_copy", "ok", "error",
                                            "failures", "progress"}  (spice-gtk's
                                            file_copy_async; the operation's GError and each
                                            failed file's: domain, code and message)
    {"cmd": "quit"}

Events arrive unasked too: channel (opened/closed/error-*), primary, mark, mouse_mode,
key_modifiers, cursor_set, cursor_move, cursor_hide, agent, monitors (the display
channel's monitors property: id, x, y, width, height each; and monitors-max), clipboard_grab,
clipboard_request, clipboard_data, clipboard_release; with --audio also playback_start,
playback_stop, playback_volume, playback_mute, playback_latency, record_start,
record_stop, record_volume, record_mute, and mm_time_reset.

With --audio the client also plays the part of a sound device that buffers what the
server's LATENCY asks for: when spice-gtk asks for the device delay it is told min-latency,
and spice-gtk then sets its media clock from the playback stamps, as with real speakers.
playback_start carries "clock", the machine's monotonic time when it came.
"""

import argparse
import ctypes
import json
import os
import sys
import time

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import Gio, GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

# spice-gtk's Session.connect()/Channel.connect() shadow GObject's signal connect.
on = GObject.Object.connect

CHANNEL_NAMES = {1: "main", 2: "display", 3: "inputs", 4: "cursor", 5: "playback", 6: "record"}


class MonitorConfig(ctypes.Structure):
    """spice-gtk's SpiceDisplayMonitorConfig (channel-display.h)."""

    _fields_ = [(name, ctypes.c_uint) for name in ("id", "surface_id", "x", "y", "width", "height")]


class GArray(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_uint)]


GOBJECT = ctypes.CDLL("libgobject-2.0.so.0")
GOBJECT.g_object_get.restype = None
GOBJECT.g_array_unref.argtypes = [ctypes.c_void_p]


def monitors(channel) -> list:
    """The display channel's "monitors" property: PyGObject cannot convert that GArray of
    structures, so it is read through GObject's C API."""
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(channel.__gpointer__, None)
    array = ctypes.c_void_p()
    GOBJECT.g_object_get(
        ctypes.c_void_p(address), b"monitors", ctypes.byref(array), ctypes.c_void_p(None)
    )
    if not array.value:
        return []
    garray = GArray.from_address(array.value)
    items = (MonitorConfig * garray.len).from_address(garray.data) if garray.len else []
    found = [{"id": m.id, "x": m.x, "y": m.y, "width": m.width, "height": m.height} for m in items]
    GOBJECT.g_array_unref(array)
    return found


class RenamedFile(GObject.Object, Gio.File):
    """A local file that gives another name: what a file from a GVfs back end or another
    system's file manager may be called, where a local file's own name never holds '/'."""

    def __init__(self, path: str, name: str) -> None:
        super().__init__()
        self.local = Gio.File.new_for_path(path)
        self.name = name

    def do_get_basename(self):
        return self.name

    def do_get_uri(self):
        return self.local.get_uri()

    def do_get_path(self):
        return None

    def do_get_parse_name(self):
        return self.name

    def do_dup(self):
        return RenamedFile(self.local.get_path(), self.name)

    def do_hash(self):
        return self.local.hash()

    def do_equal(self, other):
        return other is self

    def do_is_native(self):
        return False

    def do_query_info(self, attributes, flags, cancellable):
        info = self.local.query_info(attributes, flags, cancellable)
        info.set_attribute_byte_string(Gio.FILE_ATTRIBUTE_STANDARD_NAME, self.name)
        return info

    def do_read_fn(self, cancellable):
        return self.local.read(cancellable)


class Client:
    def __init__(self, args: argparse.Namespace) -> None:
        self.loop = GLib.MainLoop()
        self.t0 = time.monotonic()
        self.session = Spice.Session()
        self.session.set_property("host", args.host)
        if args.port is not None:
            self.session.set_property("port", str(args.port))
        if args.tls_port is not None:
            self.session.set_property("tls-port", str(args.tls_port))
        if args.ca_file is not None:
            self.session.set_property("ca-file", args.ca_file)
        if args.host_subject is not None:
            self.session.set_property("cert-subject", args.host_subject)  # checked instead of host
        if args.username is not None:
            self.session.set_property("username", args.username)
        if args.password is not None:
            self.session.set_property("password", args.password)
        self.session.set_property("enable-audio", args.audio)
        self.main = None
        self.inputs = None
        self.display = None
        self.primary = None
        self.invalidates = 0
        self.last_invalidate: float | None = None
        self.gap_count = 0
        self.max_gap = 0.0
        self.pending = b""
        self.clipboard = {}  # (selection, type) -> bytes this client offers
        self.playback = None
        self.record = None
        self.played = bytearray()  # PCM since the last playback-start
        self.arrivals = []  # (monotonic time, offset in played) of each piece
        self.data_events = 0
        on(self.session, "channel-new", self.channel_new)
        on(self.session, "mm-time-reset", lambda session: self.emit("mm_time_reset"))

    def emit(self, event: str, **fields) -> None:
        fields["event"] = event
        fields["t"] = round(time.monotonic() - self.t0, 4)
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()

    # -- signals -------------------------------------------------------------------------

    def channel_new(self, session, channel) -> None:
        kind = CHANNEL_NAMES.get(channel.get_property("channel-type"), "other")
        on(channel, "channel-event", self.channel_event)
        if isinstance(channel, Spice.MainChannel):
            self.main = channel
            on(channel, "notify::mouse-mode", self.mouse_mode)
            on(channel, "main-agent-update", self.agent_update)
            on(channel, "main-clipboard-selection-grab", self.clipboard_grab)
            on(channel, "main-clipboard-selection-request", self.clipboard_request)
            on(channel, "main-clipboard-selection", self.clipboard_data)
            on(
                channel,
                "main-clipboard-selection-release",
                lambda ch, selection: self.emit("clipboard_release", selection=selection),
            )
        elif isinstance(channel, Spice.DisplayChannel):
            self.display = channel
            on(channel, "display-primary-create", self.primary_create)
            on(channel, "display-primary-destroy", lambda ch: self.emit("primary_destroy"))
            on(channel, "display-invalidate", self.invalidate)
            on(channel, "display-mark", lambda ch, mark: self.emit("mark", mark=mark))
            on(channel, "notify::monitors", self.monitors_changed)
        elif isinstance(channel, Spice.InputsChannel):
            self.inputs = channel
            on(channel, "inputs-modifiers", self.key_modifiers)
        elif isinstance(channel, Spice.CursorChannel):
            on(channel, "cursor-set", self.cursor_set)
            on(channel, "cursor-move", lambda ch, x, y: self.emit("cursor_move", x=x, y=y))
            on(channel, "cursor-hide", lambda ch: self.emit("cursor_hide"))
        elif isinstance(channel, Spice.PlaybackChannel):
            self.playback = channel
            on(channel, "playback-start", self.playback_start)
            on(channel, "playback-data", self.playback_data)
            on(channel, "playback-stop", self.playback_stop)
            on(channel, "playback-get-delay", self.playback_get_delay)
            on(channel, "notify::volume", lambda ch, p: self.emit_volume("playback", ch))
            on(channel, "notify::mute", lambda ch, p: self.emit_mute("playback", ch))
            on(
                channel,
                "notify::min-latency",
                lambda ch, p: self.emit("playback_latency", ms=ch.get_property("min-latency")),
            )
        elif isinstance(channel, Spice.RecordChannel):
            self.record = channel
            on(
                channel,
                "record-start",
                lambda ch, fmt, channels, rate: self.emit(
                    "record_start", format=fmt, channels=channels, rate=rate
                ),
            )
            on(channel, "record-stop", lambda ch: self.emit("record_stop"))
            on(channel, "notify::volume", lambda ch, p: self.emit_volume("record", ch))
            on(channel, "notify::mute", lambda ch, p: self.emit_mute("record", ch))
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()
        self.emit("channel_new", channel=kind, id=channel.get_property("channel-id"))

    def channel_event(self, channel, event) -> None:
        kind = CHANNEL_NAMES.get(channel.get_property("channel-type"), "other")
        self.emit("channel", channel=kind, state=event.value_nick)

    def primary_create(self, channel, fmt, width, height, stride, shmid, imgdata) -> None:
        self.primary = (width, height, stride, imgdata)
        self.emit("primary", width=width, height=height, stride=stride, format=fmt)

    def monitors_changed(self, channel, pspec) -> None:
        self.emit("monitors", max=channel.get_property("monitors-max"), monitors=monitors(channel))

    def invalidate(self, channel, x, y, w, h) -> None:
        self.invalidates += 1
        now = time.monotonic()
        if self.last_invalidate is not None:
            self.max_gap = max(self.max_gap, now - self.last_invalidate)
        self.last_invalidate = now
        self.gap_count += 1

    def agent_update(self, channel) -> None:
        self.emit(
            "agent",
            connected=channel.get_property("agent-connected"),
            caps=channel.get_property("agent-caps-0"),
        )

    def clipboard_grab(self, channel, selection, types, ntypes) -> bool:
        # PyGObject hands the guint32 array over as a list already.
        self.emit("clipboard_grab", selection=selection, types=list(types)[:ntypes])
        return True

    def clipboard_request(self, channel, selection, clip_type) -> bool:
        data = self.clipboard.get((selection, clip_type))
        self.emit("clipboard_request", selection=selection, type=clip_type)
        if data is None:
            return False
        channel.clipboard_selection_notify(selection, clip_type, list(data))
        return True

    def clipboard_data(self, channel, selection, clip_type, data, size) -> None:
        content = ctypes.string_at(data, size) if size else b""
        self.emit("clipboard_data", selection=selection, type=clip_type, data=content.hex())

    def mouse_mode(self, channel, pspec) -> None:
        self.emit("mouse_mode", mode=channel.get_property("mouse-mode"))

    def key_modifiers(self, channel) -> None:
        self.emit("key_modifiers", modifiers=channel.get_property("key-modifiers"))

    def playback_start(self, channel, fmt, channels, rate) -> None:
        self.played = bytearray()
        self.arrivals = []
        self.data_events = 0
        self.emit(
            "playback_start", format=fmt, channels=channels, rate=rate, clock=time.monotonic()
        )

    def playback_data(self, channel, data, size) -> None:
        self.arrivals.append((time.monotonic(), len(self.played)))
        self.played += ctypes.string_at(data, size)
        self.data_events += 1

    def playback_stop(self, channel) -> None:
        self.emit("playback_stop", bytes=len(self.played), frames=self.data_events)

    def playback_get_delay(self, channel) -> None:
        channel.set_delay(channel.get_property("min-latency"))

    def emit_volume(self, kind, channel) -> None:
        count = channel.get_property("nchannels")
        address = channel.get_property("volume")
        levels = list((ctypes.c_uint16 * count).from_address(address)) if address else []
        self.emit(f"{kind}_volume", volume=levels)

    def emit_mute(self, kind, channel) -> None:
        self.emit(f"{kind}_mute", mute=channel.get_property("mute"))

    def cursor_set(self, channel, width, height, hot_x, hot_y, rgba) -> None:
        pixels = ctypes.string_at(rgba, width * height * 4) if rgba else b""
        self.emit(
            "cursor_set", width=width, height=height, hot_x=hot_x, hot_y=hot_y, pixels=pixels.hex()
        )

    # -- commands ------------------------------------------------------------------------

    def stdin_ready(self, source, condition) -> bool:
        # Read what is there and split it ourselves: a buffered readline() would swallow
        # several commands while the watch only fires once.
        data = os.read(sys.stdin.fileno(), 65536)
        if not data:
            self.loop.quit()
            return False
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            try:
                self.command(json.loads(line))
            except Exception as exc:  # report, keep serving: the test decides what it means
                self.emit("error", message=f"{type(exc).__name__}: {exc}")
        return True

    def command(self, cmd: dict) -> None:
        name = cmd["cmd"]
        if name == "quit":
            self.session.disconnect()
            self.loop.quit()
        elif name == "framebuffer":
            if self.primary is None:
                self.emit("framebuffer", width=0, height=0)
                return
            width, height, stride, address = self.primary
            with open(cmd["path"], "wb") as f:
                f.write(ctypes.string_at(address, stride * height))
            self.emit(
                "framebuffer",
                width=width,
                height=height,
                stride=stride,
                path=cmd["path"],
                invalidates=self.invalidates,
            )
        elif name in ("key_press", "key_release", "key_press_and_release"):
            getattr(self.inputs, name)(cmd["scancode"])
            self.emit("done", cmd=name)
        elif name == "motion":
            self.inputs.motion(cmd["dx"], cmd["dy"], cmd.get("buttons", 0))
            self.emit("done", cmd=name)
        elif name == "position":
            self.inputs.position(cmd["x"], cmd["y"], cmd.get("display", 0), cmd.get("buttons", 0))
            self.emit("done", cmd=name)
        elif name in ("button_press", "button_release"):
            getattr(self.inputs, name)(cmd["button"], cmd.get("buttons", 0))
            self.emit("done", cmd=name)
        elif name == "clipboard_set":
            data = bytes.fromhex(cmd["data"])
            self.clipboard[(cmd["selection"], cmd["type"])] = data
            self.main.clipboard_selection_grab(cmd["selection"], [cmd["type"]])
            self.emit("done", cmd=name)
        elif name == "clipboard_release":
            self.main.clipboard_selection_release(cmd["selection"])
            self.emit("done", cmd=name)
        elif name == "clipboard_request":
            self.main.clipboard_selection_request(cmd["selection"], cmd["type"])
            self.emit("done", cmd=name)
        elif name == "monitor_config":
            self.main.update_display(
                0, cmd.get("x", 0), cmd.get("y", 0), cmd["width"], cmd["height"], True
            )
            self.main.update_display_enabled(0, True, True)
            self.emit("done", cmd=name, sent=self.main.send_monitor_config())
        elif name == "monitors_config":
            # What remote-viewer does with several windows: each monitor its place and
            # size, the ones beyond switched off, then one MONITORS_CONFIG for all.
            wanted = cmd["monitors"]
            # spice-gtk lines monitors up left to right unless told to keep their places
            self.main.set_property("disable-display-align", not cmd.get("align", True))
            for i in range(16):
                if i < len(wanted):
                    m = wanted[i]
                    self.main.update_display(i, m["x"], m["y"], m["width"], m["height"], False)
                self.main.update_display_enabled(i, i < len(wanted), False)
            self.emit("done", cmd=name, sent=self.main.send_monitor_config())
        elif name == "set_key_locks":
            self.inputs.set_key_locks(cmd["locks"])
            self.emit("done", cmd=name)
        elif name == "request_mouse_mode":
            self.main.request_mouse_mode(cmd["mode"])
            self.emit("done", cmd=name)
        elif name == "playback_save":
            with open(cmd["path"], "wb") as f:
                f.write(self.played)
            self.emit(
                "playback_saved", bytes=len(self.played), path=cmd["path"], arrivals=self.arrivals
            )
        elif name == "record_send":
            with open(cmd["path"], "rb") as f:
                pcm = f.read()
            buffer = ctypes.create_string_buffer(pcm, len(pcm))
            self.record.send_data(ctypes.addressof(buffer), len(pcm), cmd.get("time", 0))
            self.emit("done", cmd=name, bytes=len(pcm))
        elif name == "frame_gaps":
            if self.last_invalidate is not None:  # the time since the last one counts too
                self.max_gap = max(self.max_gap, time.monotonic() - self.last_invalidate)
            self.emit("frame_gaps", count=self.gap_count, max_gap_ms=round(self.max_gap * 1000))
            self.gap_count, self.max_gap = 0, 0.0
        elif name == "file_copy":
            self.file_copy(cmd["paths"], cmd.get("names"))
        elif name == "state":
            self.emit(
                "state",
                mouse_mode=self.main.get_property("mouse-mode") if self.main else None,
                key_modifiers=self.inputs.get_property("key-modifiers") if self.inputs else None,
                invalidates=self.invalidates,
                bytes={
                    CHANNEL_NAMES.get(c.get_property("channel-type"), "other"): c.get_property(
                        "total-read-bytes"
                    )
                    for c in self.session.get_channels()
                },
            )
        else:
            self.emit("error", message=f"unknown command {name}")

    def file_copy(self, paths, names=None) -> None:
        # Progress comes from the transfer tasks: the progress_callback argument is not
        # safe from Python (its scope ends with the call, spice-gtk calls it later).
        progress, failures = [], []

        def on_finished(task, error) -> None:
            if error is not None:
                failures.append(
                    {"domain": error.domain, "code": error.code, "message": error.message}
                )

        def on_task(channel, task) -> None:
            on(task, "finished", on_finished)
            on(
                task,
                "notify::progress",
                lambda t, p: progress.append(
                    [t.get_property("transferred-bytes"), t.get_property("total-bytes")]
                ),
            )

        handler = on(self.main, "new-file-transfer", on_task)

        def on_done(channel, result, data) -> None:
            GObject.Object.disconnect(self.main, handler)
            try:
                ok, error = channel.file_copy_finish(result), None
            except GLib.Error as exc:
                ok = False
                error = {"domain": exc.domain, "code": exc.code, "message": exc.message}

            # spice-gtk ends the operation from the first "finished" handler, its own:
            # the tasks' errors reach ours just after.
            def report() -> bool:
                self.emit(
                    "file_copy", ok=ok, error=error, failures=failures, progress=progress[-3:]
                )
                return False

            GLib.idle_add(report)

        files = [
            RenamedFile(path, name) if name else Gio.File.new_for_path(path)
            for path, name in zip(paths, names or [None] * len(paths), strict=True)
        ]
        self.main.file_copy_async(files, Gio.FileCopyFlags.NONE, None, None, None, on_done, None)

    def run(self) -> int:
        GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, self.stdin_ready)
        if not self.session.connect():
            self.emit("error", message="session.connect() failed")
            return 1
        self.emit("started")
        self.loop.run()
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--tls-port", type=int, default=None)
    parser.add_argument("--ca-file", default=None, help="the CA that signed the server's cert")
    parser.add_argument("--host-subject", default=None, help="the server certificate's subject")
    parser.add_argument("--username", default=None, help="for SASL")
    parser.add_argument("--password", default=None)
    parser.add_argument("--audio", action="store_true", help="open playback and record")
    return Client(parser.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
