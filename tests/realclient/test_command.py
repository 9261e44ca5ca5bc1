"""What the spice-server command says: where to connect, and why it cannot start.

The command runs as a user runs it (``python -m spice_server``); its output is read as a
user reads it, and a real client connects where it says.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import sys

import psutil
import pytest

from harness import GtkClient

pytestmark = pytest.mark.realclient

COMMAND = [sys.executable, "-m", "spice_server"]


def test_without_a_display_the_x11_command_fails_before_listening():
    env = {name: value for name, value in os.environ.items() if name != "DISPLAY"}
    result = subprocess.run(
        [*COMMAND, "x11", "--port", "0"], capture_output=True, text=True, timeout=30, env=env
    )
    assert result.returncode == 2
    assert "no X display to share: give --display" in result.stderr
    assert "listening on" not in result.stderr + result.stdout


def test_an_unreachable_display_fails_before_listening():
    result = subprocess.run(
        [*COMMAND, "x11", "--display", ":399", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "cannot connect to X display :399" in result.stderr
    assert "listening on" not in result.stderr + result.stdout


def machine_ipv4() -> set[str]:
    return {
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET
    }


def test_a_wildcard_address_prints_the_addresses_to_connect_to(real_client, tmp_path):
    proc = subprocess.Popen(
        [*COMMAND, "demo", "--addr", "0.0.0.0", "--port", "0", "--insecure"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        uris = re.findall(r"spice://([\d.]+):(\d+)", "".join(lines))
        while len(uris) - 1 < len(machine_ipv4()):  # the first is on both lines
            line = proc.stdout.readline()
            assert line.strip().startswith("or: remote-viewer"), line
            uris += re.findall(r"spice://([\d.]+):(\d+)", line)
        print("".join(lines), uris)
        hosts = [host for host, _ in uris]
        assert "0.0.0.0" not in hosts
        assert hosts[0] == hosts[1] and set(hosts[1:]) == machine_ipv4()
        assert hosts[-1] == "127.0.0.1"  # loopback last: another machine cannot use it
        assert not ipaddress.ip_address(hosts[0]).is_loopback or len(machine_ipv4()) == 1
        # A real client connects where the first line says.
        host, port = uris[0]
        client = GtkClient(int(port), tmpdir=tmp_path, host=host)
        try:
            client.wait_ready()
        finally:
            client.close()
    finally:
        proc.terminate()
        proc.wait(10)
