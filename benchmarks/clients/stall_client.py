#!/usr/bin/python3
"""A spice-gtk client that can be frozen and asked for what it shows.

Run by Debian's /usr/bin/python3. It connects, prints "ready" once the first frame is
there, and then answers lines on stdin: "dump PATH" writes its framebuffer (B, G, R, X
rows, as spice-gtk decoded them) to PATH and prints "dumped". The benchmark freezes it
with SIGSTOP, so a stalled client is a real one whose socket simply stops being read.
"""

import argparse
import ctypes
import sys

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

on = GObject.Object.connect


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    loop = GLib.MainLoop()
    session = Spice.Session(host="127.0.0.1", port=str(args.port), enable_audio=False)
    primary = {}

    def primary_create(channel, fmt, width, height, stride, shmid, address):
        primary.update(width=width, height=height, stride=stride, address=address)

    def mark(channel, mark_on):
        if mark_on and not primary.get("ready"):
            primary["ready"] = True
            print("ready", flush=True)

    def channel_new(sess, channel):
        if isinstance(channel, Spice.DisplayChannel):
            on(channel, "display-primary-create", primary_create)
            on(channel, "display-mark", mark)
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def command(source, condition):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        verb, _, path = line.strip().partition(" ")
        if verb == "dump":
            size = primary["stride"] * primary["height"]
            with open(path, "wb") as out:
                out.write(ctypes.string_at(primary["address"], size))
            print(f"dumped {primary['width']} {primary['height']} {primary['stride']}", flush=True)
        return True

    on(session, "channel-new", channel_new)
    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, command)
    session.connect()
    loop.run()
    session.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
