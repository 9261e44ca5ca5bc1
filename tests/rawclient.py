"""A hand-driven SPICE client over a raw socket, for feeding the server bad input.

It speaks just enough of the protocol (with our own sans-I/O pieces, used from the client
side) to link a channel and then send whatever bytes a test wants.
"""

from __future__ import annotations

import socket
import struct
import time

from spice_server.net.auth import encrypt_ticket
from spice_server.protocol.constants import CommonCap, LinkError
from spice_server.protocol.events import NEED_DATA
from spice_server.protocol.framing import DataStream, Message, pack_client_message
from spice_server.protocol.link import ClientLink, LinkReply, LinkRequest, LinkResult

CLIENT_COMMON_CAPS = frozenset({CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.MINI_HEADER})


class RawClient:
    def __init__(
        self, port: int | None = None, timeout: float = 5.0, sock: socket.socket | None = None
    ) -> None:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.settimeout(timeout)
        self.sock = sock
        self.buffer = b""
        self.link_stage = ClientLink()
        self.stream: DataStream | None = None
        self.serial = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_link_event(self) -> LinkReply | LinkResult:
        while (event := self.link_stage.next_event()) is NEED_DATA:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server during the link stage")
            self.link_stage.receive_data(chunk)
        return event

    def read_reply(self) -> LinkReply:
        reply = self.read_link_event()
        assert isinstance(reply, LinkReply)
        return reply

    def link(
        self,
        channel_type: int = 1,
        channel_id: int = 0,
        connection_id: int = 0,
        password: str = "",
        common_caps: frozenset[int] = CLIENT_COMMON_CAPS,
        mechanism: int = 1,
        channel_caps: frozenset[int] = frozenset(),
    ) -> int:
        """Run the whole link stage; returns the u32 link result."""
        self.send(
            LinkRequest(connection_id, channel_type, channel_id, common_caps, channel_caps).pack()
        )
        reply = self.read_reply()
        if reply.error != LinkError.OK:
            return reply.error
        if CommonCap.PROTOCOL_AUTH_SELECTION in common_caps:
            self.send(struct.pack("<I", mechanism))
        self.send(encrypt_ticket(reply.public_key, password))
        result = self.read_link_event()
        assert isinstance(result, LinkResult)
        mini = CommonCap.MINI_HEADER in common_caps and CommonCap.MINI_HEADER in reply.common_caps
        self.stream = DataStream(mini_header=mini, max_message_size=64 * 1024 * 1024)
        self.stream.receive_data(self.link_stage.trailing_data())
        return result.error

    def send_message(self, msg_type: int, body: bytes = b"") -> None:
        assert self.stream is not None
        self.serial += 1
        self.send(
            pack_client_message(
                msg_type, body, mini_header=self.stream.mini_header, serial=self.serial
            )
        )

    def read_message(self, timeout: float = 5.0) -> Message:
        assert self.stream is not None
        deadline = time.monotonic() + timeout
        while True:
            message = self.stream.next_event()
            if message is not NEED_DATA:
                assert isinstance(message, Message)
                return message
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.stream.receive_data(chunk)

    def read_until(self, msg_type: int, timeout: float = 5.0) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            message = self.read_message(max(0.01, deadline - time.monotonic()))
            if message.type == msg_type:
                return message

    def is_closed_by_server(self, timeout: float = 5.0) -> bool:
        """True once the server has closed the connection (what it sent before is skipped)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        return False

    def close(self) -> None:
        self.sock.close()
