#!/usr/bin/python3
"""Connect spice-gtk and measure what arrives: frames per second and display bytes.

Run by Debian's /usr/bin/python3. After --warmup seconds it counts for --seconds: frames
(bursts of display-invalidate signals separated by more than 4 ms, since spice-gtk
signals each draw) and bytes read on the display channel. With --type-every it also
presses a key that often (after putting the pointer at --pointer) and records the time
from the key to the next display update: input-to-pixel latency. Prints one JSON line.
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
    parser.add_argument("--type-every", type=float, default=0.0, help="seconds between keys")
    parser.add_argument("--pointer", default="200,200", help="x,y to put the pointer at")
    args = parser.parse_args()

    loop = GLib.MainLoop()
    session = Spice.Session(host="127.0.0.1", port=str(args.port), enable_audio=False)
    state = {
        "display": None,
        "frames": 0,
        "last": 0.0,
        "counting": False,
        "start_bytes": 0,
        "inputs": None,
        "key_sent": None,
        "latencies": [],
    }

    def invalidate(channel, x, y, w, h):
        now = time.monotonic()
        if state["key_sent"] is not None:
            state["latencies"].append(now - state["key_sent"])
            state["key_sent"] = None
        if state["counting"] and now - state["last"] > BURST_GAP_S:
            state["frames"] += 1
        state["last"] = now

    def channel_new(sess, channel):
        if isinstance(channel, Spice.DisplayChannel):
            state["display"] = channel
            on(channel, "display-invalidate", invalidate)
        if isinstance(channel, Spice.InputsChannel):
            state["inputs"] = channel
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def press_key():
        if state["inputs"] is not None and state["key_sent"] is None:
            state["key_sent"] = time.monotonic()
            state["inputs"].key_press_and_release(0x2D)  # x
        return True

    def start_counting():
        if args.type_every:
            x, y = (int(v) for v in args.pointer.split(","))
            state["inputs"].position(x, y, 0, 0)
            GLib.timeout_add(int(args.type_every * 1000), press_key)
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
    latencies = sorted(state["latencies"])

    def percentile_ms(p):
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    frames = state["frames"]
    print(
        json.dumps(
            {
                "fps": frames / args.seconds,
                "display_bytes": display_bytes,
                "bytes_per_s": display_bytes / args.seconds,
                "bytes_per_frame": display_bytes / frames if frames else None,
                "keys": len(latencies),
                "latency_p50_ms": percentile_ms(0.5),
                "latency_p95_ms": percentile_ms(0.95),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
