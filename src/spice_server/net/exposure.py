"""Who may reach the server: the listening address and the web pages allowed in.

Two rules, both about not exposing a desktop by accident. Without a password or TLS the
server listens only on a loopback address (unless told the network is trusted). And since any
web site open in a browser on this machine can open a WebSocket to a loopback port,
"loopback only" does not keep strangers out: browsers always send the page's origin and
pages cannot forge it, so only pages from a loopback host, or from origins the caller
allowed, may connect. This holds with a password too: otherwise any page could try
passwords against it from the user's browser. Clients that send no origin are not
browsers; they could open the plain TCP port just as well.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse


def exposure_refusal(
    addr: str, *, password: bool, tls: bool = False, allow_insecure: bool = False
) -> str | None:
    """Why listening on ``addr`` is refused, or None when it is allowed.

    The message names the command's options: that is where most users meet it.
    """
    if password or tls or allow_insecure or is_loopback(addr):
        return None
    return (
        f"refusing to listen on {addr} without a password or TLS: give a password "
        "(--password-file FILE or SPICE_PASSWORD), a TLS port (--tls-port), a loopback "
        "--addr, or pass --insecure if the network is trusted"
    )


def origin_refusal(
    origin: str | None, *, allowed: frozenset[str] = frozenset(), allow_insecure: bool = False
) -> str | None:
    """Why a WebSocket from a page of ``origin`` is refused, or None to accept it.

    ``allowed`` are origins as browsers send them (``"https://host:port"``, no path)."""
    if origin is None or allow_insecure or origin.rstrip("/").lower() in allowed:
        return None
    host = urllib.parse.urlsplit(origin).hostname or ""
    if host == "localhost" or is_loopback_literal(host):
        return None
    return "only pages from a loopback address or an allowed origin may connect"


def is_loopback_literal(host: str) -> bool:
    """Whether ``host`` is a loopback IP address as written (no name lookup)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(addr: str) -> bool:
    """Whether every address ``addr`` resolves to is a loopback one."""
    try:
        infos = socket.getaddrinfo(addr, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )
