#!/usr/bin/python3
"""GStreamer's colour conversion as spice-gtk's stream decoder runs it, on raw frames.

Run by Debian's /usr/bin/python3. spice-gtk decodes H.264 and VP8 streams to I420 and
its playbin's video sink converts them to B, G, R, X with videoconvert. This script does
that conversion alone: ``gst_convert.py WIDTH HEIGHT`` reads I420 frames (planes packed,
no row padding) from stdin until it ends and writes each frame's B, G, R, X rows to
stdout, in order.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main() -> int:
    width, height = int(sys.argv[1]), int(sys.argv[2])
    frame_size = width * height * 3 // 2
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"appsrc name=src caps=video/x-raw,format=I420,width={width},height={height},"
        "framerate=30/1 ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false"
    )
    source, sink = pipeline.get_by_name("src"), pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    data = sys.stdin.buffer.read()
    frames = len(data) // frame_size
    for n in range(frames):
        source.emit(
            "push-buffer", Gst.Buffer.new_wrapped(data[n * frame_size : (n + 1) * frame_size])
        )
    source.emit("end-of-stream")
    for _ in range(frames):
        sample = sink.emit("pull-sample")
        buffer = sample.get_buffer()
        ok, mapped = buffer.map(Gst.MapFlags.READ)
        assert ok
        sys.stdout.buffer.write(bytes(mapped.data))
        buffer.unmap(mapped)
    pipeline.set_state(Gst.State.NULL)
    return 0 if frames else 1


if __name__ == "__main__":
    sys.exit(main())
