"""Connections driven by core watches: sockets, write queues, the link handshake, auth."""
