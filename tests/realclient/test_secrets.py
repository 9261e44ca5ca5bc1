"""Secrets off the command line, and the .vv file, with the spice-server command itself.

The server runs as users run it (``python -m spice_server demo ...``); spice-gtk and
remote-viewer (Debian ``virt-viewer``, under Xvfb) connect with what it was given or wrote.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness import GtkClient
from xserver import XServer

pytestmark = pytest.mark.realclient

PASSWORD = "s3cret-Tr0ub4dor"


class Command:
    """``spice-server demo`` in a subprocess, its output lines collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spice_server", "demo", "--core", "selector", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_line(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        for line in self.seen:
            if match := re.search(pattern, line):
                return match
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}: {self.seen[-30:]}") from None
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def commands():
    started: list[Command] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Command:
        command = Command(*args, env=env)
        started.append(command)
        return command

    yield start
    for command in started:
        command.stop()


def password_file(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    path.chmod(mode)
    return path


def visible_in_ps() -> str:
    return subprocess.run(["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True).stdout


@pytest.mark.parametrize("source", ["file", "environment"])
def test_the_password_never_shows_in_ps(commands, real_client, tmp_path, source):
    env = dict(os.environ)
    args = ["--port", "0"]
    if source == "file":
        args += ["--password-file", str(password_file(tmp_path))]
    else:
        env["SPICE_PASSWORD"] = PASSWORD
    server = commands(*args, env=env)
    port = int(server.wait_line(r"spice://127\.0\.0\.1:(\d+)").group(1))
    listing = visible_in_ps()
    assert f"{server.proc.pid} " in listing and "spice_server demo" in listing
    assert PASSWORD not in listing

    wrong = GtkClient(port, "not-it", tmp_path)
    try:
        wrong.wait_for(lambda e: e["event"] == "channel" and e["state"] == "error-auth")
    finally:
        wrong.close()
    client = GtkClient(port, PASSWORD, tmp_path)
    try:
        client.wait_ready()
    finally:
        client.close()
    server.wait_line(r"client 127\.0\.0\.1 connected")


def test_a_password_file_others_can_read_is_refused(tmp_path):
    path = password_file(tmp_path, 0o640)
    refused = subprocess.run(
        [sys.executable, "-m", "spice_server", "demo", "--port", "0", "--password-file", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert f"the password file {path} can be read by other users" in refused.stderr
    assert f"chmod 600 {path}" in refused.stderr


def test_password_on_the_command_line_warns(commands, tmp_path):
    server = commands("--port", "0", "--password", PASSWORD)
    server.wait_line(r"--password is visible to every user of this machine")


def test_an_open_address_names_the_options(tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "spice_server", "demo", "--addr", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    for flag in ("--password-file", "--tls-port", "--insecure"):
        assert flag in refused.stderr
    assert "allow_insecure" not in refused.stderr


def test_remote_viewer_opens_the_vv_file_over_tls(commands, tmp_path):
    viewer = shutil.which("remote-viewer")
    assert viewer, "remote-viewer is missing: install the Debian package virt-viewer"
    vv = tmp_path / "demo.vv"
    server = commands(
        "--port", "off", "--tls-port", "0", "--state-dir", str(tmp_path / "state"),
        "--password-file", str(password_file(tmp_path)), "--vv-file", str(vv), "--vv-password",
    )  # fmt: skip
    server.wait_line(r"remote-viewer connection file")
    assert vv.stat().st_mode & 0o777 == 0o600
    text = vv.read_text()
    assert "tls-port=" in text and "\nport=" not in text and "ca=-----BEGIN" in text
    assert f"password={PASSWORD}" in text
    xserver = XServer(tmp_path)
    try:
        xserver.run(viewer, str(vv))
        server.wait_line(r"client 127\.0\.0\.1 connected over TLS", timeout=30)
    finally:
        xserver.kill()
    server.wait_line(r"client 127\.0\.0\.1 disconnected")


def test_the_printed_settings_let_spice_gtk_in(commands, real_client, tmp_path):
    server = commands("--port", "off", "--tls-port", "0", "--state-dir", str(tmp_path / "s"))
    fingerprint = server.wait_line(r"SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
    match = server.wait_line(
        r"remote-viewer --spice-ca-file=(\S+) --spice-host-subject='([^']+)' "
        r"'spice://127\.0\.0\.1\?tls-port=(\d+)'"
    )
    ca_file, subject, tls_port = match.group(1), match.group(2), int(match.group(3))
    assert Path(ca_file).parent == tmp_path / "s" / "x509"
    client = GtkClient(
        None, tmpdir=tmp_path, tls_port=tls_port, ca_file=Path(ca_file), host_subject=subject
    )
    try:
        client.wait_ready()
    finally:
        client.close()
    server.wait_line(r"client 127\.0\.0\.1 connected")
    # The fingerprint printed is the CA's, as `openssl x509 -fingerprint` shows it.
    shown = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", ca_file],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert fingerprint.group(1) in shown


@pytest.mark.parametrize("given", ["x509-dir", "files"])
def test_the_command_with_qemus_certificate_options(commands, real_client, tmp_path, given):
    from spice_server.net.certificates import self_signed

    made = self_signed(tmp_path / "elsewhere")  # certificates the user brings
    creds = made.credentials
    assert creds.ca_file is not None
    if given == "x509-dir":
        options = ["--x509-dir", str(creds.cert_file.parent)]
    else:
        options = [
            "--x509-cert-file", str(creds.cert_file), "--x509-key-file", str(creds.key_file),
            "--cacert-file", str(creds.ca_file),  # the Xspice launcher's name for it
        ]  # fmt: skip
    server = commands("--port", "off", "--tls-port", "0", "--tls-ciphers", "HIGH", *options)
    match = server.wait_line(r"--spice-ca-file=(\S+) 'spice://127\.0\.0\.1\?tls-port=(\d+)'")
    assert Path(match.group(1)) == creds.ca_file
    assert not (tmp_path / "state").exists()
    client = GtkClient(
        None,
        tmpdir=tmp_path,
        tls_port=int(match.group(2)),
        ca_file=creds.ca_file,
        host_subject=made.host_subject,
    )
    try:
        client.wait_ready()
    finally:
        client.close()
    server.wait_line(r"client 127\.0\.0\.1 connected")


def test_bad_tls_options_stop_the_command_with_a_reason(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spice_server", "demo", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    state = ["--state-dir", str(tmp_path / "s")]
    ciphers = run("--tls-port", "0", "--tls-ciphers", "NOT-A-CIPHER", *state)
    assert ciphers.returncode == 2 and "no usable cipher" in ciphers.stderr
    missing = run("--tls-port", "0", "--x509-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "missing" in missing.stderr
    channel = run("--tls-channel", "inputs")
    assert channel.returncode == 2 and "--tls-port" in channel.stderr
    off = run("--port", "off")
    assert off.returncode == 2 and "--port off needs a --tls-port" in off.stderr


def test_print_vv_leaves_the_password_out_unless_asked(commands, tmp_path):
    secret = str(password_file(tmp_path))
    server = commands(
        "--port", "0", "--password-file", secret, "--print-vv", "--tls-channel", "main,inputs",
        "--tls-port", "0", "--state-dir", str(tmp_path / "s"),
    )  # fmt: skip
    server.wait_line(r"^\[virt-viewer\]")
    server.wait_line(r"^secure-channels=main;inputs$")
    server.wait_line(r"^delete-this-file=0")
    assert not any(PASSWORD in line for line in server.seen)
    with_password = commands(
        "--port", "0", "--password-file", secret, "--print-vv", "--vv-password"
    )  # fmt: skip
    with_password.wait_line(rf"^password={re.escape(PASSWORD)}$")
