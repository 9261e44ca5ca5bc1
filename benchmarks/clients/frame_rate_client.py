#!/usr/bin/python3
"""Connect spice-gtk and measure what arrives: frames per second and display bytes.

Run by Debian's /usr/bin/python3. After --warmup seconds it counts for --seconds: frames
(bursts of display-invalidate signals separated by more than 4 ms, since spice-gtk
signals each draw) and bytes read on the display channel. Prints one JSON line.
"""

import argparse
import json
import sys
import time

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

on = GObject.Object.connect
BURST_GAP_S = 0.004


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    loop = GLib.MainLoop()
    session = Spice.Session(host="127.0.0.1", port=str(args.port), enable_audio=False)
    state = {"display": None, "frames": 0, "last": 0.0, "counting": False, "start_bytes": 0}

    def invalidate(channel, x, y, w, h):
        now = time.monotonic()
        if state["counting"] and now - state["last"] > BURST_GAP_S:
            state["frames"] += 1
        state["last"] = now

    def channel_new(sess, channel):
        if isinstance(channel, Spice.DisplayChannel):
            state["display"] = channel
            on(channel, "display-invalidate", invalidate)
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def start_counting():
        state["counting"] = True
        state["start_bytes"] = state["display"].get_property("total-read-bytes")
        GLib.timeout_add(int(args.seconds * 1000), lambda: loop.quit() or False)
        return False

    on(session, "channel-new", channel_new)
    GLib.timeout_add(int(args.warmup * 1000), start_counting)
    session.connect()
    loop.run()
    display_bytes = state["display"].get_property("total-read-bytes") - state["start_bytes"]
    session.disconnect()
    print(
        json.dumps(
            {
                "fps": state["frames"] / args.seconds,
                "display_bytes": display_bytes,
                "bytes_per_s": display_bytes / args.seconds,
                "bytes_per_frame": display_bytes / state["frames"] if state["frames"] else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
