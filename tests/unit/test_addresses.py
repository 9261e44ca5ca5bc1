"""The URIs printed for a listening server: both ports, and a wildcard address expanded."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from spice_server.net import addresses
from spice_server.net.addresses import connect_uris


def test_plain_tls_and_both_ports():
    assert connect_uris("127.0.0.1", 5900) == ["spice://127.0.0.1:5900"]
    assert connect_uris("127.0.0.1", 5900, 5901) == ["spice://127.0.0.1:5900?tls-port=5901"]
    assert connect_uris("127.0.0.1", None, 5901) == ["spice://127.0.0.1?tls-port=5901"]
    assert connect_uris("::1", None, 5901) == ["spice://[::1]?tls-port=5901"]
    with pytest.raises(ValueError, match="needs a port"):
        connect_uris("127.0.0.1", None, None)


def test_a_wildcard_address_becomes_the_machines_addresses_with_both_ports(monkeypatch):
    def address(family: int, text: str) -> SimpleNamespace:
        return SimpleNamespace(family=family, address=text)

    interfaces = {
        "lo": [address(socket.AF_INET, "127.0.0.1"), address(socket.AF_INET6, "::1")],
        "eth0": [
            address(socket.AF_INET, "192.0.2.7"),
            address(socket.AF_INET6, "2001:db8::7"),
            address(socket.AF_INET6, "fe80::1%eth0"),  # link-local: needs an interface
        ],
    }
    monkeypatch.setattr(addresses.psutil, "net_if_addrs", lambda: interfaces)
    assert connect_uris("0.0.0.0", 5900, 5901) == [
        "spice://192.0.2.7:5900?tls-port=5901",
        "spice://127.0.0.1:5900?tls-port=5901",
    ]
    assert connect_uris("::", None, 5901) == [
        "spice://192.0.2.7?tls-port=5901",
        "spice://[2001:db8::7]?tls-port=5901",
        "spice://127.0.0.1?tls-port=5901",
        "spice://[::1]?tls-port=5901",
    ]
