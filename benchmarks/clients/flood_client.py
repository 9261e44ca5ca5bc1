#!/usr/bin/python3
"""spice-gtk on a busy desktop: how soon it links, how much it is shown, how keys echo.

Run by Debian's /usr/bin/python3. Connects once and reports as one JSON line:

* ``link_s``: session.connect() until the main, display, inputs and cursor channels are
  all open; ``first_frame_s``: until the first display-invalidate;
* over --seconds after a --warmup: ``pixels_per_s``, the sum of the areas of every
  display-invalidate per second (what the client repainted), and ``invalidates_per_s``;
* key echo: with the pointer in --echo-rect (x,y,w,h: a terminal running ``cat``), a key
  every --key-every seconds, and the time until the pixels of that rectangle change in
  the client's framebuffer (``echo_p50_ms``, ``echo_p95_ms``, ``echo_missed`` after 2 s).
"""

import argparse
import ctypes
import json
import sys
import time

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

on = GObject.Object.connect
NAMES = {1: "main", 2: "display", 3: "inputs", 4: "cursor"}
ECHO_TIMEOUT_S = 2.0
KEY_X = 0x2D


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="to link and draw")
    parser.add_argument("--key-every", type=float, default=0.25)
    parser.add_argument("--echo-rect", default=None, help="x,y,w,h of the echoing terminal")
    args = parser.parse_args()
    echo = [int(v) for v in args.echo_rect.split(",")] if args.echo_rect else None

    loop = GLib.MainLoop()
    session = Spice.Session(host="127.0.0.1", port=str(args.port), enable_audio=False)
    st = {
        "opened": {},
        "first": None,
        "primary": None,
        "inputs": None,
        "counting": False,
        "pixels": 0,
        "invalidates": 0,
        "key_at": None,
        "key_pixels": None,
        "latencies": [],
        "missed": 0,
        "error": None,
    }
    t0 = time.monotonic()

    def echo_pixels():
        _, _, stride, data = st["primary"]
        x, y, w, h = echo
        raw = ctypes.string_at(data + y * stride, h * stride)
        return b"".join(raw[r * stride + x * 4 : r * stride + (x + w) * 4] for r in range(h))

    def invalidate(channel, x, y, w, h):
        now = time.monotonic()
        if st["first"] is None:
            st["first"] = now - t0
            GLib.timeout_add(int(args.warmup * 1000), start)
        if st["counting"]:
            st["pixels"] += w * h
            st["invalidates"] += 1
        if st["key_at"] is not None and echo is not None:
            ex, ey, ew, eh = echo
            overlaps = x < ex + ew and ex < x + w and y < ey + eh and ey < y + h
            if overlaps and echo_pixels() != st["key_pixels"]:
                st["latencies"].append(now - st["key_at"])
                st["key_at"] = None

    def channel_event(channel, event):
        name = NAMES.get(channel.get_property("channel-type"))
        if name and event == Spice.ChannelEvent.OPENED:
            st["opened"].setdefault(name, time.monotonic() - t0)
        elif name == "main" and event != Spice.ChannelEvent.OPENED:
            st["error"] = f"main channel {event.value_nick}"
            loop.quit()

    def channel_new(sess, channel):
        on(channel, "channel-event", channel_event)
        if isinstance(channel, Spice.DisplayChannel):
            on(channel, "display-invalidate", invalidate)
            on(
                channel,
                "display-primary-create",
                lambda ch, fmt, w, h, stride, shmid, data: st.update(primary=(w, h, stride, data)),
            )
        if isinstance(channel, Spice.InputsChannel):
            st["inputs"] = channel
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def press_key():
        if not st["counting"]:
            return False
        now = time.monotonic()
        if st["key_at"] is not None:
            if now - st["key_at"] < ECHO_TIMEOUT_S:
                return True
            st["missed"] += 1
        st["key_pixels"] = echo_pixels()
        st["key_at"] = time.monotonic()
        st["inputs"].key_press_and_release(KEY_X)
        return True

    def begin_typing():
        GLib.timeout_add(int(args.key_every * 1000), press_key)
        return False

    def start():
        if echo is not None and st["inputs"] is not None:
            x, y, w, h = echo
            st["inputs"].position(x + w - 8, y + h - 8, 0, 0)  # focus follows the pointer
            GLib.timeout_add(300, begin_typing)
        st["counting"] = True
        st["t_count"] = time.monotonic()
        GLib.timeout_add(int(args.seconds * 1000), lambda: loop.quit() or False)
        return False

    def give_up():
        if st["first"] is None:
            st["error"] = "timeout"
            loop.quit()
        return False

    on(session, "channel-new", channel_new)
    GLib.timeout_add(int(args.timeout * 1000), give_up)
    session.connect()
    loop.run()
    counted = time.monotonic() - st["t_count"] if st["counting"] else 0
    session.disconnect()
    opened = st["opened"]
    latencies = sorted(st["latencies"])

    def percentile_ms(p):
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    print(
        json.dumps(
            {
                "error": st["error"],
                "link_s": max(opened.values()) if len(opened) == len(NAMES) else None,
                "first_frame_s": st["first"],
                "pixels_per_s": st["pixels"] / counted if counted else None,
                "invalidates_per_s": st["invalidates"] / counted if counted else None,
                "keys": len(latencies) + st["missed"],
                "echo_p50_ms": percentile_ms(0.5),
                "echo_p95_ms": percentile_ms(0.95),
                "echo_missed": st["missed"],
            }
        )
    )
    return 0 if st["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
