"""The benchmark's side of the measuring client (clients/display_client.py).

spice-gtk runs under the system Python, which has its GObject bindings, in a subprocess;
this class starts it and speaks its protocol: one JSON command in, one JSON answer out.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from lineproc import LineProcess, LineProcessError

HERE = Path(__file__).parent
CLIENT = HERE / "clients" / "display_client.py"


class GtkClient(LineProcess):
    """An unmodified spice-gtk 0.42 session, measuring."""

    def __init__(
        self, port: int, strip: tuple[int, int, int] | None = None, count_changes: bool = False
    ) -> None:
        args = ["/usr/bin/python3", str(CLIENT), "--port", str(port)]
        if strip is not None:
            args += ["--strip", ",".join(str(v) for v in strip)]
        if count_changes:
            if subprocess.run(["/usr/bin/python3", "-c", "import numpy"]).returncode:
                raise SystemExit("counting changed pixels: apt-get install python3-numpy")
            args.append("--count-changes")
        super().__init__(args, dict(os.environ, PYTHONPATH=str(HERE)))

    def ready(self, timeout: float = 60.0) -> dict:
        """Wait for the first display update."""
        event = self.read(timeout)
        if event.get("event") != "ready":
            opened = ", ".join(event.get("opened") or {}) or "none"
            raise LineProcessError(
                f"client: {event.get('error')} within its timeout (channel types opened: {opened})"
            )
        return event

    def screen(self, path: Path) -> tuple[float, np.ndarray]:
        """When (client clock) and what the client showed: (h, w) 0x00RRGGBB."""
        answer = self.ask({"cmd": "dump", "path": str(path)})
        rows = np.fromfile(path, dtype=np.uint32).reshape(answer["height"], -1)
        return answer["t"], rows[:, : answer["width"]] & 0xFFFFFF

    def quit(self) -> None:
        self.close({"cmd": "quit"})
