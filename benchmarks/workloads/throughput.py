"""Copies stdin to stdout and logs how many bytes went through: a terminal's throughput.

``... | python throughput.py LOG`` in front of a terminal's program: writes to the pty
block while the terminal is behind, so the bytes through per second are the bytes the
terminal took in per second. Every LOG_EVERY_S, blocked or not, it appends
"MONOTONIC_TIME TOTAL_BYTES" to LOG (CLOCK_MONOTONIC, the benchmark's clock).
"""

from __future__ import annotations

import os
import sys
import threading
import time

LOG_EVERY_S = 0.02
CHUNK = 4096


def main() -> None:
    written = [0]  # bytes the terminal has taken, as the copying thread counts them

    def log_forever() -> None:
        with open(sys.argv[1], "a", buffering=1) as log:
            while True:
                log.write(f"{time.monotonic():.4f} {written[0]}\n")
                time.sleep(LOG_EVERY_S)

    threading.Thread(target=log_forever, daemon=True).start()
    while chunk := os.read(0, CHUNK):
        view = memoryview(chunk)
        while view:
            done = os.write(1, view)
            written[0] += done
            view = view[done:]


if __name__ == "__main__":
    main()
