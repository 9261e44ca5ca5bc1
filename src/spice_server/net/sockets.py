"""Client sockets: the options libspice sets on them, and their addresses as logs say them."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ..core.base import SocketAddress


def configure_client_socket(sock: socket.socket) -> None:
    """TCP_NODELAY (input and small draws must not wait) and keep-alive, as libspice does."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 600)


def socket_address(getter: Callable[[], SocketAddress]) -> SocketAddress | None:
    """The socket's own or its peer's address (``getter``), None once it is gone."""
    try:
        return getter()
    except OSError:
        return None


def format_address(address: SocketAddress | None) -> str:
    """host:port as logs name a peer ([host]:port for IPv6)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = f"[{address[0]}]" if ":" in str(address[0]) else address[0]
        return f"{host}:{address[1]}"
    return str(address or "unix socket")
