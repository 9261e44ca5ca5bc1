"""The SPICE wire protocol, sans I/O: link handshake, framing, messages. No sockets, no clocks."""
