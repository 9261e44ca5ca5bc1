#!/usr/bin/python3
"""An unmodified spice-gtk client (SpiceClientGLib), driven over stdin/stdout by the tests.

Runs under Debian's /usr/bin/python3 (packages gir1.2-spiceclientglib-2.0 and python3-gi),
never the project's virtual environment: it is the real client, not our code. It connects
at start, then reads one JSON command per line on stdin and writes one JSON event per line
on stdout. Commands::

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
    {"cmd": "state"}                     -> {"event": "state", ...}
    {"cmd": "playback_save", "path": P}  -> {"event": "playback_saved", "bytes", "path",
                                            "arrivals"}  (the PCM played since the last
                                            playback_start; arrivals: [monotonic time, byte
                                            offset] of each piece as it came)
    {"cmd": "record_send", "path": P, "time": T}   (sends the PCM in file P, in one call)
    {"cmd": "quit"}

Events arrive unasked too: channel (opened/closed/error-*), primary, mark, mouse_mode,
key_modifiers, cursor_set, cursor_move, cursor_hide, agent, clipboard_grab,
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
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

# spice-gtk's Session.connect()/Channel.connect() shadow GObject's signal connect.
on = GObject.Object.connect

CHANNEL_NAMES = {1: "main", 2: "display", 3: "inputs", 4: "cursor", 5: "playback", 6: "record"}


class Client:
    def __init__(self, args: argparse.Namespace) -> None:
        self.loop = GLib.MainLoop()
        self.t0 = time.monotonic()
        self.session = Spice.Session()
        self.session.set_property("host", args.host)
        self.session.set_property("port", str(args.port))
        if args.password is not None:
            self.session.set_property("password", args.password)
        self.session.set_property("enable-audio", args.audio)
        self.main = None
        self.inputs = None
        self.display = None
        self.primary = None
        self.invalidates = 0
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

    def invalidate(self, channel, x, y, w, h) -> None:
        self.invalidates += 1

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
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", default=None)
    parser.add_argument("--audio", action="store_true", help="open playback and record")
    return Client(parser.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
