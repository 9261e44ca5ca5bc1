"""File transfer through the built-in agent, on a fake context: the vdagent exchange as
spice-gtk runs it (START, CAN_SEND_DATA, DATA..., SUCCESS) and every refusal."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from spice_server.agent.builtin import BuiltinAgent
from spice_server.agent.file_transfer import (
    GIO_INVALID_FILENAME,
    MAX_OPEN,
    candidates,
)
from spice_server.config import ConfigurationError, FileTransferSettings, file_transfer_setting
from spice_server.protocol.agent import (
    AgentCap,
    AgentMessage,
    FileXferStatus,
    pack_announce_capabilities,
    unpack_file_xfer_start,
)
from spice_server.protocol.agent import AgentMessageType as T
from spice_server.protocol.errors import RemoteProtocolError

from fakes import FakeContext

DETAILED = frozenset({AgentCap.FILE_XFER_DETAILED_ERRORS})


class Peer:
    def __init__(self) -> None:
        self.records: list[AgentMessage] = []
        self.tokens = 0

    def send_agent(self, message: AgentMessage) -> None:
        self.records.append(message)

    def return_tokens(self, count: int) -> None:
        self.tokens += count

    def statuses(self) -> list[tuple[int, int, bytes]]:
        return [
            (*struct.unpack_from("<II", r.payload), r.payload[8:])
            for r in self.records
            if r.type == T.FILE_XFER_STATUS
        ]


def key_file(name: str, size: int) -> bytes:
    """What spice-gtk sends after the id: g_key_file_to_data() and its NUL."""
    escaped = name.replace("\\", "\\\\").replace("\n", "\\n")
    return f"[vdagent-file-xfer]\nname={escaped}\nsize={size}\n".encode() + b"\0"


def start(xfer_id: int, name: str, size: int) -> bytes:
    return AgentMessage(T.FILE_XFER_START, struct.pack("<I", xfer_id) + key_file(name, size)).pack()


def data(xfer_id: int, chunk: bytes) -> bytes:
    return AgentMessage(T.FILE_XFER_DATA, struct.pack("<IQ", xfer_id, len(chunk)) + chunk).pack()


def status(xfer_id: int, result: int) -> bytes:
    return AgentMessage(T.FILE_XFER_STATUS, struct.pack("<II", xfer_id, result)).pack()


def client(tmp_path: Path, *, enabled: bool = True, max_size: int = 1 << 20, caps=DETAILED):
    settings = FileTransferSettings(tmp_path / "Downloads", max_size) if enabled else None
    agent = BuiltinAgent(FakeContext(), settings)
    peer = Peer()
    agent.attach(peer)
    agent.data(
        peer, AgentMessage(T.ANNOUNCE_CAPABILITIES, pack_announce_capabilities(True, caps)).pack()
    )
    return agent, peer, tmp_path / "Downloads"


def test_a_file_arrives_whole_in_records_cut_anywhere(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    content = bytes(range(256)) * 700  # 179200 bytes, three 64 KiB records
    agent.data(peer, start(7, "report.pdf", len(content)))
    assert peer.statuses() == [(7, FileXferStatus.CAN_SEND_DATA, b"")]
    stream = b"".join(data(7, content[i : i + 65536]) for i in range(0, len(content), 65536))
    for i in range(0, len(stream), 2048):  # as AGENT_DATA messages cut the record stream
        agent.data(peer, stream[i : i + 2048])
    assert peer.statuses()[-1] == (7, FileXferStatus.SUCCESS, b"")
    assert (downloads / "report.pdf").read_bytes() == content
    assert sorted(p.name for p in downloads.iterdir()) == ["report.pdf"]


def test_an_empty_file_completes_with_its_empty_data_record(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(1, "empty", 0))
    agent.data(peer, data(1, b""))
    assert [s[1] for s in peer.statuses()] == [
        FileXferStatus.CAN_SEND_DATA,
        FileXferStatus.SUCCESS,
    ]
    assert (downloads / "empty").read_bytes() == b""


def test_nothing_is_overwritten_a_taken_name_gets_a_number(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    downloads.mkdir()
    (downloads / "notes.txt").write_bytes(b"mine")
    (downloads / "notes (1).txt").write_bytes(b"mine too")
    agent.data(peer, start(1, "notes.txt", 3))
    agent.data(peer, data(1, b"new"))
    assert (downloads / "notes.txt").read_bytes() == b"mine"
    assert (downloads / "notes (1).txt").read_bytes() == b"mine too"
    assert (downloads / "notes (2).txt").read_bytes() == b"new"
    assert candidates(".bashrc")[1] == ".bashrc (1)"
    assert candidates("a.tar.gz")[2] == "a.tar (2).gz"


@pytest.mark.parametrize(
    "name", ["../escape", "..", ".", "a/b", "..\\escape", "", "tab\there", "x" * 256]
)
def test_names_that_are_not_one_plain_file_name_are_refused(tmp_path: Path, name: str) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(3, name, 4))
    agent.data(peer, data(3, b"evil"))  # sent anyway: ignored
    ((xfer_id, result, detail),) = peer.statuses()
    assert (xfer_id, result) == (3, FileXferStatus.ERROR)
    kind, code = struct.unpack("<BI", detail)
    assert kind == 0 and code in (GIO_INVALID_FILENAME, 9)  # invalid, or too long
    assert not (tmp_path / "escape").exists()
    assert list(downloads.iterdir()) == [] if downloads.exists() else True


def test_a_client_without_detailed_errors_gets_the_bare_status(tmp_path: Path) -> None:
    agent, peer, _ = client(tmp_path, caps=frozenset())
    agent.data(peer, start(3, "../escape", 4))
    assert peer.statuses() == [(3, FileXferStatus.ERROR, b"")]


def test_a_file_over_the_limit_is_refused_as_not_enough_space(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path, max_size=1000)
    agent.data(peer, start(5, "big.iso", 1001))
    ((xfer_id, result, detail),) = peer.statuses()
    assert (xfer_id, result) == (5, FileXferStatus.NOT_ENOUGH_SPACE)
    assert struct.unpack("<Q", detail) == (1000,)
    assert not downloads.exists() or list(downloads.iterdir()) == []


def test_disabled_transfers_are_announced_and_refused(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path, enabled=False)
    assert AgentCap.FILE_XFER_DISABLED in agent.caps()
    agent.data(peer, start(2, "a.txt", 1))
    assert peer.statuses() == [(2, FileXferStatus.DISABLED, b"")]
    assert not downloads.exists()
    enabled, _, _ = client(tmp_path)
    assert AgentCap.FILE_XFER_DISABLED not in enabled.caps()
    assert AgentCap.FILE_XFER_DETAILED_ERRORS in enabled.caps()


def test_more_data_than_announced_fails_and_removes_the_file(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(1, "a.bin", 4))
    agent.data(peer, data(1, b"12345"))
    assert peer.statuses()[-1][:2] == (1, FileXferStatus.ERROR)
    assert list(downloads.iterdir()) == []


@pytest.mark.parametrize("result", [FileXferStatus.CANCELLED, FileXferStatus.ERROR])
def test_a_transfer_the_client_ends_leaves_no_partial_file(tmp_path: Path, result: int) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(1, "a.bin", 10))
    agent.data(peer, data(1, b"12345"))
    agent.data(peer, status(1, result))
    agent.data(peer, data(1, b"67890"))  # late data for the ended transfer: ignored
    assert list(downloads.iterdir()) == []
    assert [s[1] for s in peer.statuses()] == [FileXferStatus.CAN_SEND_DATA]


def test_a_client_leaving_mid_transfer_leaves_no_partial_file(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(1, "a.bin", 10))
    agent.data(peer, data(1, b"12345"))
    agent.detach(peer)
    assert list(downloads.iterdir()) == []


def test_an_agent_going_away_cancels_what_clients_are_sending(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    agent.data(peer, start(1, "a.bin", 10))
    agent.data(peer, data(1, b"12345"))
    agent.close()  # a guest agent was registered, or the server stops
    assert peer.statuses()[-1] == (1, FileXferStatus.CANCELLED, b"")
    assert list(downloads.iterdir()) == []


def test_open_transfers_per_client_are_bounded(tmp_path: Path) -> None:
    agent, peer, downloads = client(tmp_path)
    for xfer_id in range(MAX_OPEN + 1):
        agent.data(peer, start(xfer_id, f"f{xfer_id}", 1))
    results = [s[1] for s in peer.statuses()]
    assert results[:MAX_OPEN] == [FileXferStatus.CAN_SEND_DATA] * MAX_OPEN
    assert results[MAX_OPEN] == FileXferStatus.ERROR
    assert len(list(downloads.iterdir())) == MAX_OPEN


def test_a_start_without_a_name_is_refused_and_the_connection_goes_on(tmp_path: Path) -> None:
    agent, peer, _ = client(tmp_path)
    bad = AgentMessage(T.FILE_XFER_START, struct.pack("<I", 9) + b"[other]\nname=x\n\0").pack()
    agent.data(peer, bad)
    assert peer.statuses() == [(9, FileXferStatus.ERROR, struct.pack("<BI", 0, 0))]


def test_a_data_record_whose_size_field_lies_is_a_protocol_error(tmp_path: Path) -> None:
    agent, peer, _ = client(tmp_path)
    agent.data(peer, start(1, "a", 4))
    lying = AgentMessage(T.FILE_XFER_DATA, struct.pack("<IQ", 1, 100) + b"abcd").pack()
    with pytest.raises(RemoteProtocolError):
        agent.data(peer, lying)


def test_key_file_escapes_and_names_with_spaces() -> None:
    payload = struct.pack("<I", 4) + key_file("a\\b\nc", 12)
    offer = unpack_file_xfer_start(payload)
    assert (offer.id, offer.name, offer.size) == (4, "a\\b\nc", 12)
    spaced = struct.pack("<I", 4) + b"[vdagent-file-xfer]\nname=\\stwo  words\nsize=1\n\0"
    assert unpack_file_xfer_start(spaced).name == " two  words"


def test_the_setting_defaults_to_the_downloads_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "user-dirs.dirs").write_text('XDG_DOWNLOAD_DIR="$HOME/Incoming"\n')
    setting = file_transfer_setting(True, None, 10)
    assert setting is not None and setting.directory == tmp_path / "Incoming"
    assert file_transfer_setting(False, None, 10) is None
    assert file_transfer_setting(True, "~/x", 10).directory == tmp_path / "x"  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError):
        file_transfer_setting(True, None, -1)
