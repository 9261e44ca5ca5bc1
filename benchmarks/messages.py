"""What building and packing one message costs, for the messages sent on hot paths.

Draws and stream frames go out at up to 60 per second per client, audio frames at 100 per
second, cursor moves and input events as fast as the user moves; each is built then packed
once. This times ``Message(...).pack()`` (and the parse of the busiest client messages) in
nanoseconds of CPU time per message, best of several repeats, so the cost of checking
fields at construction can be compared before and after a change on the same machine;
CPU time rather than wall time keeps other busy processes out of the figures.

    .venv/bin/python benchmarks/messages.py [--number 100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import struct
import time
import timeit
from collections.abc import Callable

from spice_server.protocol.constants import ChannelType
from spice_server.protocol.framing import Message
from spice_server.protocol.messages import parse_client_message
from spice_server.protocol.messages.base import MsgPing, MsgSetAck
from spice_server.protocol.messages.cursor import MsgCursorMove
from spice_server.protocol.messages.display import (
    MsgDisplayCopyBits,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayStreamData,
)
from spice_server.protocol.messages.main import MsgMainAgentData, MsgMainMultiMediaTime
from spice_server.protocol.messages.playback import MsgPlaybackData
from spice_server.protocol.rect import Rect

BOX = Rect(64, 128, 320, 384)
TILE = bytes(93 + 256 * 256 * 4)  # a SpiceImage of a 256x256 bitmap tile
FRAME = bytes(20_000)  # an encoded video frame
OPUS = bytes(160)  # one 10 ms Opus packet
PCM = bytes(480 * 4)  # one 10 ms frame of 48 kHz stereo S16
MOTION = Message(111, struct.pack("<iiH", -3, 5, 1))
POSITION = Message(112, struct.pack("<IIHB", 640, 480, 0, 0))

CASES: dict[str, Callable[[], object]] = {
    "SetAck": lambda: MsgSetAck(1, 20).pack(),
    "Ping": lambda: MsgPing(7, 123456789).pack(),
    "MultiMediaTime": lambda: MsgMainMultiMediaTime(777).pack(),
    "CursorMove": lambda: MsgCursorMove(-3, 40).pack(),
    "AgentData": lambda: MsgMainAgentData(OPUS).pack(),
    "DrawFill": lambda: MsgDisplayDrawFill(0, BOX, 0x336699).pack(),
    "CopyBits": lambda: MsgDisplayCopyBits(0, BOX, 10, 40).pack(),
    "DrawCopy 256x256": lambda: MsgDisplayDrawCopy(0, BOX, TILE).pack(),
    "StreamData 20 kB": lambda: MsgDisplayStreamData(3, 123456, FRAME).pack(),
    "PlaybackData Opus": lambda: MsgPlaybackData(123456, OPUS).pack(),
    "PlaybackData PCM": lambda: MsgPlaybackData(123456, PCM).pack(),
    "parse MouseMotion": lambda: parse_client_message(ChannelType.INPUTS, MOTION),
    "parse MousePosition": lambda: parse_client_message(ChannelType.INPUTS, POSITION),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="repeats; the best counts")
    args = parser.parse_args()
    print(f"{'message':<22} {'ns per message':>14}")
    for name, case in CASES.items():
        best = min(
            timeit.repeat(case, timer=time.process_time, number=args.number, repeat=args.repeat)
        )
        print(f"{name:<22} {best / args.number * 1e9:>14.0f}")


if __name__ == "__main__":
    main()
