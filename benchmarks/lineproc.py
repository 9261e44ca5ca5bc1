"""A helper process the benchmark talks to in lines of JSON: the measuring client and the
workloads. Reads are unbuffered so that a timeout means the process said nothing."""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Sequence


class LineProcessError(RuntimeError):
    pass


class LineProcess:
    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self.args = list(args)
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.buffer = b""

    def read(self, timeout: float = 60.0) -> dict:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            readable, _, _ = select.select([fd], [], [], timeout)
            data = os.read(fd, 1 << 20) if readable else b""
            if not data:
                status = self.proc.poll()
                raise LineProcessError(f"{self.args[1]} said nothing (exit status {status})")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def send(self, message: str | dict) -> None:
        assert self.proc.stdin is not None
        text = message if isinstance(message, str) else json.dumps(message)
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, message: str | dict, timeout: float = 60.0) -> dict:
        self.send(message)
        return self.read(timeout)

    def close(self, goodbye: str | dict | None = None) -> None:
        if self.proc.poll() is None:
            try:
                if goodbye is not None:
                    self.send(goodbye)
                    self.proc.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
