"""Where clients can reach a listening server: the URIs to print for it.

A wildcard address (0.0.0.0, ::) is not one to connect to: it means every address of the
machine, so those are listed instead, the ones other machines can use first and loopback
last. IPv6 link-local addresses are left out: they need the client's interface name.
"""

from __future__ import annotations

import ipaddress
import socket

import psutil

WILDCARDS = {"0.0.0.0": (socket.AF_INET,), "::": (socket.AF_INET6, socket.AF_INET)}


def connect_uris(host: str, port: int) -> list[str]:
    """spice:// URIs for a server listening on ``host``:``port``."""
    families = WILDCARDS.get(host)
    if families is None:
        return [_uri(host, port)]
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in families:
                continue
            ip = ipaddress.ip_address(address.address.split("%")[0])
            if not ip.is_link_local and ip not in found:
                found.append(ip)
    found.sort(key=lambda ip: (ip.is_loopback, ip.version))
    return [_uri(str(ip), port) for ip in found] or [_uri(host, port)]


def _uri(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"spice://{host}:{port}"
