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


def connect_uris(host: str, port: int | None, tls_port: int | None = None) -> list[str]:
    """spice:// URIs, as remote-viewer takes them, for a server listening on ``host`` at
    ``port`` (None: no plain port) and ``tls_port`` (None: no TLS port)."""
    if port is None and tls_port is None:
        raise ValueError("a URI needs a port or a TLS port")
    families = WILDCARDS.get(host)
    if families is None:
        return [_uri(host, port, tls_port)]
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in families:
                continue
            ip = ipaddress.ip_address(address.address.split("%")[0])
            if not ip.is_link_local and ip not in found:
                found.append(ip)
    found.sort(key=lambda ip: (ip.is_loopback, ip.version))
    return [_uri(str(ip), port, tls_port) for ip in found] or [_uri(host, port, tls_port)]


def _uri(host: str, port: int | None, tls_port: int | None) -> str:
    """``spice://host:port``, ``spice://host:port?tls-port=N`` or ``spice://host?tls-port=N``."""
    uri = f"spice://[{host}]" if ":" in host else f"spice://{host}"
    if port is not None:
        uri += f":{port}"
    if tls_port is not None:
        uri += f"?tls-port={tls_port}"
    return uri
