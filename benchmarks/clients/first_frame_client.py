#!/usr/bin/python3
"""Connect spice-gtk once, report when the first frame arrived and what the display cost.

Run by Debian's /usr/bin/python3 (gir1.2-spiceclientglib-2.0, python3-gi). Prints one JSON
line: first_frame_s (session.connect() to the first display-invalidate), display_bytes
(read on the display channel once it has been quiet for --quiet-ms), and with --dump the
decoded framebuffer (raw BGRX rows) written to that path. With --tls-port (and --ca-file,
--host-subject) it connects over TLS only; with --duration it stays that long after the
first frame and also reports the frames (invalidates) it drew meanwhile.
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls-port", type=int)
    parser.add_argument("--ca-file")
    parser.add_argument("--host-subject")
    parser.add_argument("--duration", type=float, default=0.0)
    parser.add_argument("--quiet-ms", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--dump")
    args = parser.parse_args()

    loop = GLib.MainLoop()
    session = Spice.Session(host="127.0.0.1", enable_audio=False)
    if args.port is not None:
        session.set_property("port", str(args.port))
    if args.tls_port is not None:
        session.set_property("tls-port", str(args.tls_port))
        session.set_property("ca-file", args.ca_file)
        session.set_property("cert-subject", args.host_subject)
    state = {"first": None, "last": None, "display": None, "primary": None, "error": None}
    counts = {"frames": 0, "bytes_at_first": 0}

    def invalidate(channel, x, y, w, h):
        now = time.monotonic()
        if state["first"] is None:
            state["first"] = now - t0
            counts["bytes_at_first"] = channel.get_property("total-read-bytes")
        state["last"] = now
        counts["frames"] += 1

    def channel_new(sess, channel):
        if isinstance(channel, Spice.DisplayChannel):
            state["display"] = channel
            on(channel, "display-invalidate", invalidate)
            on(
                channel,
                "display-primary-create",
                lambda ch, fmt, w, h, stride, shmid, data: state.update(
                    primary=(w, h, stride, data)
                ),
            )
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def check():
        now = time.monotonic()
        if now - t0 > args.timeout:
            state["error"] = "timeout"
            loop.quit()
        elif args.duration and state["first"] is not None:
            if now - t0 - state["first"] >= args.duration:
                loop.quit()
        elif state["last"] is not None and now - state["last"] > args.quiet_ms / 1000:
            loop.quit()
        return True

    on(session, "channel-new", channel_new)
    GLib.timeout_add(20, check)
    t0 = time.monotonic()
    session.connect()
    loop.run()
    result = {"first_frame_s": state["first"], "error": state["error"]}
    if state["display"] is not None:
        result["display_bytes"] = state["display"].get_property("total-read-bytes")
        if args.duration:
            result["stream_bytes"] = result["display_bytes"] - counts["bytes_at_first"]
            result["frames"] = counts["frames"]
            result["client_cpu"] = time.process_time() / (time.monotonic() - t0)
    if args.dump and state["primary"]:
        w, h, stride, data = state["primary"]
        with open(args.dump, "wb") as f:
            f.write(ctypes.string_at(data, stride * h))
        result["size"] = [w, h, stride]
    session.disconnect()
    print(json.dumps(result))
    return 0 if state["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
