#!/usr/bin/python3
"""spice-gtk as a measuring user: what it shows, when, and how long inputs take to show.

Run by Debian's /usr/bin/python3 (gir1.2-spiceclientglib-2.0, python3-gi) with the
benchmarks directory on PYTHONPATH (for framecode). It connects, prints
``{"event": "ready", ...}`` at its first display update, then answers JSON commands, one
a line on stdin, with one JSON line each on stdout:

- ``mark``: the client's clock and counters now (display bytes read, invalidated pixels,
  and refreshed pixels: those invalidated, each counted once per 60 Hz frame, as a
  monitor can show them: a pixel drawn three times within a frame shows once, and the
  60 Hz frames that brought any change); with ``--count-changes``, also the changed
  pixels: the framebuffer sampled once per 60 Hz frame (at its first update) and the
  pixels that differ from the sample before counted, so that a redraw of pixels that
  stay the same does not count;
- ``type``: click at ``click``, then press a key every ``interval`` s until ``until`` and
  time each from the key's sending to its echo in ``area`` (an xterm running cat): the
  glyph in the cell the cursor was in, or the cursor's block in the next cell, whichever
  shows first (cells found from the cursor's block before the first key). A server may
  send the two as separate draws, and the later one can land after the next key was
  sent: counted as a change of the area, it passed for that key's echo;
- ``drag``: hold button 1 and move the pointer along ``path``, one point every
  ``interval`` s, and time each point from its sending to the moment the dragged window's
  marker shows at that point plus ``offset``;
- ``dump``: write the framebuffer (B, G, R, X rows as spice-gtk decoded them) to ``path``;
- ``results``: everything recorded; ``quit``.

With ``--strip X,Y,CELL`` every display update that touches the frame-number strip there
is decoded (framecode) and the first time each number shows is kept. Reads rejected as
ambiguous are counted. The framebuffer is spice-gtk's primary surface memory, read with
ctypes where the display-primary-create signal says it is.
"""

import argparse
import ctypes
import json
import os
import random
import sys
import time

import gi

from framecode import read_strip, sample_rows, strip_size

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

on = GObject.Object.connect
MONITOR_HZ = 60  # refreshed pixels count once per frame of a monitor this fast
TILE = 32  # the grid on which "the whole screen has been drawn once" is tracked
KEY_X = 0x2D  # PC scancode of the x key
BUTTON_LEFT, LEFT_MASK = 1, 1
INPUT_TIMEOUT_S = 5.0
# A cell with at least this share of dark pixels is the cursor's block, one with fewer
# (but some) a glyph. Dark: every channel under 128, so a lossy picture's noise is not ink.
BLOCK_INK = 0.6
EDGE = 3  # the xterm window's border and inner border, where no cell is
CORNER = 40  # the square where the cursor of an empty xterm is looked for
MAX_CELL_WIDTH = 24  # ink wider than this in that corner is no cursor's block


def overlaps(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def union(box, other):
    """The box (left, top, right, bottom) holding both; ``box`` may be None."""
    if box is None:
        return other
    (left, top, right, bottom), (x0, y0, x1, y1) = box, other
    return (min(left, x0), min(top, y0), max(right, x1), max(bottom, y1))


def dark_pixels(row):
    """For each pixel of a row of B, G, R, X bytes, whether it is dark (ink)."""
    return [
        b < 128 and g < 128 and r < 128
        for b, g, r in zip(row[0::4], row[1::4], row[2::4], strict=True)
    ]


class Measurer:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.session = Spice.Session(host=args.host, port=str(args.port), enable_audio=False)
        self.t0 = time.monotonic()
        self.primary = None  # (width, height, stride, address)
        self.display = self.inputs = self.main = None
        self.opened = {}
        self.first_invalidate = self.full_frame = None
        self.covered = set()
        self.invalidates = self.invalidated_pixels = 0
        # Pixels invalidated in the current 60 Hz frame (one byte each), the box they lie
        # in (left, top, right, bottom; None: none yet), which frame that is, and the
        # pixels of the frames before it: each pixel at most once a frame.
        self.frame_mask = bytearray()
        self.frame_box = None
        self.frame_index = 0
        self.refreshed_pixels = 0
        self.refreshed_frames = 0  # 60 Hz frames in which anything was invalidated
        self.changed_pixels = 0  # (--count-changes) differing between 60 Hz samples
        self.sample = None  # the framebuffer at the start of the current 60 Hz frame
        self.frames = {}
        self.reads = self.rejected = 0
        self.strip = None
        if args.strip:
            x, y, cell = (int(v) for v in args.strip.split(","))
            width, height = strip_size(cell)
            self.strip = (x, y, width, height, cell)
        self.typing = None
        self.keys = []
        self.dragging = None
        self.drag_points = []
        self.pending = b""

    # --- connection -------------------------------------------------------------------
    def start(self):
        on(self.session, "channel-new", self.channel_new)
        GLib.io_add_watch(0, GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP, self.stdin_ready)
        GLib.timeout_add(int(self.args.timeout * 1000), self.give_up)
        self.session.connect()
        self.loop.run()

    def give_up(self):
        if self.first_invalidate is None:
            self.say({"event": "error", "error": "no display update", "opened": self.opened})
            self.loop.quit()
        return False

    def channel_new(self, session, channel):
        on(channel, "channel-event", self.channel_event)
        if isinstance(channel, Spice.DisplayChannel):
            self.display = channel
            on(channel, "display-primary-create", self.primary_create)
            on(channel, "display-primary-destroy", self.primary_destroy)
            on(channel, "display-invalidate", self.invalidate)
        elif isinstance(channel, Spice.InputsChannel):
            self.inputs = channel
        elif isinstance(channel, Spice.MainChannel):
            self.main = channel
        if not isinstance(channel, Spice.MainChannel):
            channel.connect()

    def channel_event(self, channel, event):
        if event == Spice.ChannelEvent.OPENED:
            name = channel.get_property("channel-type")
            self.opened[str(name)] = time.monotonic() - self.t0

    def primary_create(self, channel, fmt, width, height, stride, shmid, address):
        self.primary = (width, height, stride, address)

    def primary_destroy(self, channel):
        self.primary = None

    # --- what the display shows -------------------------------------------------------
    def rows(self, x, y, width, count):
        _, _, stride, address = self.primary
        return [ctypes.string_at(address + (y + r) * stride + x * 4, width * 4) for r in count]

    def invalidate(self, channel, x, y, w, h):
        now = time.monotonic()
        if self.primary is None:
            return
        rect = (x, y, w, h)
        self.invalidates += 1
        self.invalidated_pixels += w * h
        self.refresh(now, x, y, w, h)
        if self.first_invalidate is None:
            self.first_invalidate = now - self.t0
            self.say({"event": "ready", "first_invalidate_s": self.first_invalidate})
        if self.full_frame is None:
            self.cover(rect, now)
        if self.strip is not None and overlaps(rect, self.strip[:4]):
            self.read_number(now)
        typing = self.typing
        if typing is not None and typing["sent"] is not None and overlaps(rect, typing["area"]):
            self.check_echo(now)
        if self.dragging is not None and self.dragging["pending"]:
            self.check_drag(rect, now)

    def cover(self, rect, now):
        width, height = self.primary[:2]
        x, y, w, h = rect
        for ty in range(y // TILE, (y + h - 1) // TILE + 1):
            for tx in range(x // TILE, (x + w - 1) // TILE + 1):
                self.covered.add((tx, ty))
        if len(self.covered) >= -(-width // TILE) * -(-height // TILE):
            self.full_frame = now - self.t0

    def read_number(self, now):
        x, y, width, _, cell = self.strip
        offsets = [y + r for r in sample_rows(cell)]
        rows = self.rows(x, 0, width, offsets)
        number = read_strip(rows, cell)
        self.reads += 1
        if number is None:
            self.rejected += 1
        elif number not in self.frames:
            self.frames[number] = now

    def area_pixels(self, area):
        x, y, w, h = area
        return b"".join(self.rows(x, y, w, range(h)))

    # --- typing -------------------------------------------------------------------------
    def start_typing(self, command):
        area = tuple(command["area"])
        self.typing = {
            "area": area,
            "interval": command["interval"],
            "until": command["until"],
            "sent": None,
            "random": random.Random(1),
        }
        x, y = command["click"]
        self.inputs.position(x, y, 0, 0)
        self.inputs.button_press(BUTTON_LEFT, LEFT_MASK)
        self.inputs.button_release(BUTTON_LEFT, 0)
        GLib.timeout_add(500, self.send_key)

    def send_key(self):
        typing = self.typing
        if typing is None or time.monotonic() > typing["until"]:
            return False
        if "cell" not in typing:
            typing["cell"], typing["keys"] = self.cursor_cell(typing["area"]), 0
        typing["keys"] += 1
        typing["before"] = self.area_pixels(typing["area"])
        typing["sent"] = time.monotonic()
        self.inputs.key_press_and_release(KEY_X)
        GLib.timeout_add(int(INPUT_TIMEOUT_S * 1000), self.key_timeout, typing["sent"])
        return False

    def check_echo(self, now):
        typing = self.typing
        if self.echoed(typing):
            self.keys.append([typing["sent"], now - typing["sent"]])
            self.next_key()

    def echoed(self, typing):
        """Whether the echo of the last key shows (see ``type`` above); where no cursor
        block was found, or the line is full, any change of the area counts."""
        cell, keys = typing["cell"], typing["keys"]
        if cell is not None:
            x, y, width, height = cell
            area_x, _, area_width, _ = typing["area"]
            if x + (keys + 1) * width <= area_x + area_width - EDGE:
                glyph = self.ink(x + (keys - 1) * width, y, width, height)
                block = self.ink(x + keys * width, y, width, height)
                return 0 < glyph < BLOCK_INK or block >= BLOCK_INK
        return self.area_pixels(typing["area"]) != typing["before"]

    def ink(self, x, y, width, height):
        """The share of dark pixels in the cell at (x, y)."""
        dark = sum(sum(dark_pixels(row)) for row in self.rows(x, y, width, range(height)))
        return dark / (width * height)

    def cursor_cell(self, area):
        """The cell of the xterm's cursor, the only ink in the top left corner of an empty
        focused xterm (the pointer, in its middle, may be drawn into the picture): (x, y,
        width, height), or None if what is dark there is no block."""
        x, y, width, height = area
        x, y = x + EDGE, y + EDGE
        width, height = min(CORNER, width - 2 * EDGE), min(CORNER, height - 2 * EDGE)
        dark = [
            (col, line)
            for line, row in enumerate(self.rows(x, y, width, range(height)))
            for col, is_dark in enumerate(dark_pixels(row))
            if is_dark
        ]
        if not dark:
            return None
        cols, lines = [c for c, _ in dark], [r for _, r in dark]
        left, top = min(cols), min(lines)
        width, height = max(cols) - left + 1, max(lines) - top + 1
        if width > MAX_CELL_WIDTH or len(dark) < BLOCK_INK * width * height:
            return None
        return x + left, y + top, width, height

    def key_timeout(self, sent):
        if self.typing is not None and self.typing["sent"] == sent:
            self.keys.append([sent, None])
            self.next_key()
        return False

    def next_key(self):
        typing = self.typing
        typing["sent"] = None
        # Jitter, so keys do not lock to the server's or the workload's frame clock.
        delay = typing["interval"] * (0.75 + 0.5 * typing["random"].random())
        GLib.timeout_add(max(1, int(delay * 1000)), self.send_key)

    # --- dragging -----------------------------------------------------------------------
    def start_drag(self, command):
        self.dragging = {
            "path": command["path"],
            "interval": command["interval"],
            "until": command["until"],
            "offset": command["offset"],
            "quad": command["quad"],
            "colours": command["colours"],
            "tolerance": command["tolerance"],
            "next": 1,
            "pending": [],
        }
        x, y = command["path"][0]
        self.inputs.position(x, y, 0, 0)
        GLib.timeout_add(300, self.press_button)

    def press_button(self):
        self.inputs.button_press(BUTTON_LEFT, LEFT_MASK)
        GLib.timeout_add(max(1, int(self.dragging["interval"] * 1000)), self.move_pointer)
        return False

    def move_pointer(self):
        drag = self.dragging
        index = drag["next"]
        if index >= len(drag["path"]) or time.monotonic() > drag["until"]:
            GLib.timeout_add(50, self.release_button)
            return False
        x, y = drag["path"][index]
        sent = time.monotonic()
        self.inputs.position(x, y, 0, LEFT_MASK)
        self.drag_points.append([sent, None])
        drag["pending"].append(index)
        drag["next"] = index + 1
        while drag["pending"] and sent - self.drag_points[drag["pending"][0] - 1][0] > 5:
            drag["pending"].pop(0)  # never shown
        return True

    def release_button(self):
        self.inputs.button_release(BUTTON_LEFT, 0)
        return False

    def marker_at(self, x, y):
        drag = self.dragging
        quad = drag["quad"]
        width, height = self.primary[:2]
        if x < 0 or y < 0 or x + 2 * quad > width or y + 2 * quad > height:
            return False
        for (qx, qy), colour in zip(((0, 0), (1, 0), (0, 1), (1, 1)), drag["colours"], strict=True):
            cx, cy = x + qx * quad + quad // 2 - 1, y + qy * quad + quad // 2 - 1
            rows = self.rows(cx, cy, 2, range(2))
            for channel, want in zip((2, 1, 0), colour, strict=True):
                got = sum(row[channel::4][k] for row in rows for k in range(2)) / 4
                if abs(got - want) > drag["tolerance"]:
                    return False
        return True

    def check_drag(self, rect, now):
        drag = self.dragging
        quad, (dx, dy) = drag["quad"], drag["offset"]
        for index in reversed(drag["pending"]):
            px, py = drag["path"][index]
            x, y = px + dx, py + dy
            if overlaps(rect, (x, y, 2 * quad, 2 * quad)) and self.marker_at(x, y):
                self.drag_points[index - 1][1] = now - self.drag_points[index - 1][0]
                drag["pending"] = [i for i in drag["pending"] if i > index]
                return

    # --- commands -----------------------------------------------------------------------
    def stdin_ready(self, fd, condition):
        data = os.read(0, 65536)
        if not data:
            self.loop.quit()
            return False
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            if line.strip():
                self.command(json.loads(line))
        return True

    def refresh(self, now, x, y, w, h):
        """Count the pixels of this invalidation not yet invalidated in this 60 Hz frame.

        Only the box of the frame's invalidations is counted, cleared and (for changes)
        compared: the whole screen each frame cost this client a third of a core at
        1920x1080, on the machine whose servers it measures."""
        width, height = self.primary[0], self.primary[1]
        left, right = max(0, x), min(width, x + w)
        top, bottom = max(0, y), min(height, y + h)
        index = int((now - self.t0) * MONITOR_HZ)
        if len(self.frame_mask) != width * height:
            self.frame_mask = bytearray(width * height)
            self.frame_box = None
            self.sample = None
        elif index != self.frame_index:
            drawn = self.frame_drawn()
            self.refreshed_pixels += drawn
            self.refreshed_frames += drawn > 0
            if self.args.count_changes:
                # What the last frame drew, and this first draw of the new one (it is
                # already in the framebuffer): nothing else can differ from the sample.
                box = self.frame_box
                if right > left and bottom > top:
                    box = union(box, (left, top, right, bottom))
                self.count_changes(box)
            self.clear_frame()
        self.frame_index = index
        if right <= left or bottom <= top:
            return
        self.frame_box = union(self.frame_box, (left, top, right, bottom))
        ones = b"\x01" * (right - left)
        for row in range(top, bottom):
            start = row * width + left
            self.frame_mask[start : start + len(ones)] = ones

    def frame_drawn(self):
        """The pixels invalidated in the current 60 Hz frame."""
        if self.frame_box is None:
            return 0
        width = self.primary[0]
        left, top, right, bottom = self.frame_box
        mask = self.frame_mask
        return sum(mask.count(1, r * width + left, r * width + right) for r in range(top, bottom))

    def clear_frame(self):
        """Start a 60 Hz frame: nothing invalidated in it yet."""
        if self.frame_box is None:
            return
        width = self.primary[0]
        left, top, right, bottom = self.frame_box
        zeros = bytes(right - left)
        for row in range(top, bottom):
            self.frame_mask[row * width + left : row * width + right] = zeros
        self.frame_box = None

    def count_changes(self, box):
        """Count the pixels in ``box`` that differ from the sample, which then takes them:
        the framebuffer as it was at the start of each 60 Hz frame."""
        import numpy as np  # Debian's python3-numpy; only the flood counts changes

        width, height, stride, address = self.primary
        memory = (ctypes.c_uint32 * (stride // 4 * height)).from_address(address)
        pixels = np.frombuffer(memory, dtype=np.uint32).reshape(height, -1)[:, :width]
        if self.sample is None:
            self.sample = pixels & 0xFFFFFF
            return
        if box is None:
            return
        left, top, right, bottom = box
        area = pixels[top:bottom, left:right] & 0xFFFFFF
        kept = self.sample[top:bottom, left:right]
        self.changed_pixels += int(np.count_nonzero(area != kept))
        kept[...] = area

    def command(self, command):
        name = command["cmd"]
        if name == "mark":
            drawn = self.frame_drawn()  # in the 60 Hz frame under way
            self.say(
                {
                    "t": time.monotonic(),
                    "display_bytes": self.display.get_property("total-read-bytes"),
                    "invalidates": self.invalidates,
                    "invalidated_pixels": self.invalidated_pixels,
                    "refreshed_pixels": self.refreshed_pixels + drawn,
                    "refreshed_frames": self.refreshed_frames + (drawn > 0),
                    "changed_pixels": self.changed_pixels,
                }
            )
        elif name == "type":
            self.start_typing(command)
            self.say({"ok": True})
        elif name == "drag":
            self.start_drag(command)
            self.say({"ok": True})
        elif name == "dump":
            width, height, stride, address = self.primary
            with open(command["path"], "wb") as f:
                f.write(ctypes.string_at(address, stride * height))
            self.say({"t": time.monotonic(), "width": width, "height": height, "stride": stride})
        elif name == "results":
            self.say(
                {
                    "frames": self.frames,
                    "reads": self.reads,
                    "rejected": self.rejected,
                    "keys": self.keys,
                    "drag": self.drag_points,
                    "first_invalidate_s": self.first_invalidate,
                    "full_frame_s": self.full_frame,
                    "opened_s": self.opened,
                    "mouse_mode": self.main.get_property("mouse-mode") if self.main else None,
                }
            )
        elif name == "quit":
            self.session.disconnect()
            self.loop.quit()

    @staticmethod
    def say(message):
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--strip", help="X,Y,CELL of the frame-number strip to read")
    parser.add_argument("--timeout", type=float, default=10.0, help="for the first update")
    parser.add_argument(
        "--count-changes", action="store_true", help="sample the framebuffer at 60 Hz"
    )
    Measurer(parser.parse_args()).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
