"""File transfer with the real client: spice-gtk's file-copy API (what a file dropped on
remote-viewer's window runs) sends files to the built-in agent, which writes them into the
server's file-transfer directory or refuses them with the vdagent protocol's status."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from spice_server import Display
from spice_server.protocol.agent import (
    AgentCap,
    AgentMessage,
    AgentStream,
    FileXferStatus,
    pack_announce_capabilities,
    split_for_client,
)
from spice_server.protocol.agent import AgentMessageType as T
from spice_server.protocol.constants import MsgcMain, MsgMain
from spice_server.protocol.events import NEED_DATA

from rawclient import RawClient

pytestmark = pytest.mark.realclient

GIO_INVALID_FILENAME = 10
SPICE_CLIENT_ERROR_FAILED = 0


def connect(make_harness, make_client, downloads: Path, **options):
    harness = make_harness(file_transfer_dir=downloads, **options)
    harness.call(harness.server.add_interface, Display(320, 200))
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_for(lambda e: e["event"] == "agent" and e["caps"], what="the agent's caps")
    return harness, client


def copy(client, *paths: Path, names: list[str] | None = None) -> dict:
    client.send(cmd="file_copy", paths=[str(p) for p in paths], names=names)
    return client.next_event(lambda e: e["event"] == "file_copy", timeout=60, what="file copy")


def test_a_file_arrives_intact_and_nothing_is_overwritten(make_harness, make_client, tmp_path):
    downloads = tmp_path / "Downloads"  # not there yet: created on the first file
    _harness, client = connect(make_harness, make_client, downloads)
    source = tmp_path / "outbox" / "photo album.bin"
    source.parent.mkdir()
    content = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: many DATA records
    source.write_bytes(content)

    done = copy(client, source)
    assert done["ok"], done
    assert done["progress"][-1] == [len(content), len(content)]
    received = downloads / "photo album.bin"
    assert hashlib.sha256(received.read_bytes()).digest() == hashlib.sha256(content).digest()

    # The same name again: the first copy stays, the second gets a number.
    received.write_bytes(b"edited by the user")
    source.write_bytes(b"second version")
    assert copy(client, source)["ok"]
    assert received.read_bytes() == b"edited by the user"
    assert (downloads / "photo album (1).bin").read_bytes() == b"second version"
    assert sorted(p.name for p in downloads.iterdir()) == ["photo album (1).bin", "photo album.bin"]


def test_a_file_over_the_limit_is_refused_for_lack_of_space(make_harness, make_client, tmp_path):
    downloads = tmp_path / "Downloads"
    _harness, client = connect(make_harness, make_client, downloads, file_transfer_max_size=5000)
    source = tmp_path / "big.iso"
    source.write_bytes(b"x" * 6000)
    done = copy(client, source)
    assert not done["ok"]
    # spice-gtk's words for NOT_ENOUGH_SPACE with its detail (the space the server allows)
    (failure,) = done["failures"]
    message = failure["message"].replace("\xa0", " ")
    assert "lack of free space" in message, done
    assert "(5.0 kB free, 6.0 kB to transfer)" in message, done
    assert not downloads.exists() or list(downloads.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape.txt", "..\\escape.txt", ".."])
def test_a_name_that_is_not_a_plain_file_name_is_refused(make_harness, make_client, tmp_path, name):
    """spice-gtk sends the name its GFile gives: a local file's never holds '/', so the
    client's file says its name is ``name`` (as one from a GVfs back end could); a
    backslash is the separator a Windows peer means."""
    downloads = tmp_path / "Downloads"
    _harness, client = connect(make_harness, make_client, downloads)
    source = tmp_path / "outbox" / "plain.txt"
    source.parent.mkdir()
    source.write_bytes(b"sneaky")
    done = copy(client, source, names=[name])
    assert not done["ok"]
    (failure,) = done["failures"]
    assert (failure["domain"], failure["code"]) == ("g-io-error-quark", GIO_INVALID_FILENAME)
    assert failure["message"] == "Invalid filename of transferred file"
    assert not downloads.exists() or list(downloads.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox"]


def test_a_disabled_transfer_is_refused(make_harness, make_client, tmp_path):
    downloads = tmp_path / "Downloads"
    _harness, client = connect(make_harness, make_client, downloads, file_transfer=False)
    caps = client.wait_for(lambda e: e["event"] == "agent" and e["caps"], what="caps")["caps"]
    assert caps & (1 << AgentCap.FILE_XFER_DISABLED)
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello")
    done = copy(client, source)
    assert not done["ok"]
    (failure,) = done["failures"]
    assert failure["message"] == "The file transfer is disabled", done
    assert not downloads.exists()


def next_agent_record(raw: RawClient, stream: AgentStream, kind: int) -> AgentMessage:
    while True:
        while (record := stream.next_event()) is not NEED_DATA:
            if record.type == kind:
                return record
        stream.receive_data(raw.read_until(MsgMain.AGENT_DATA).body)


@pytest.mark.parametrize(
    ("name", "enabled", "expected"),
    [
        ("../escape.txt", True, FileXferStatus.ERROR),
        ("a.txt", False, FileXferStatus.DISABLED),
    ],
)
def test_statuses_on_the_wire(make_harness, tmp_path, name, enabled, expected):
    """The statuses as bytes on the wire, from a raw client: ERROR with its GIO detail for
    a '../' name, and DISABLED for a client that ignores the FILE_XFER_DISABLED capability
    (spice-gtk does not send then, so only a raw client sees this status)."""
    downloads = tmp_path / "Downloads"
    harness = make_harness(file_transfer_dir=downloads, file_transfer=enabled)
    raw = RawClient(harness.port)
    assert raw.link() == 0
    raw.read_until(MsgMain.INIT)
    raw.send_message(MsgcMain.AGENT_START, struct.pack("<I", 10))
    caps = pack_announce_capabilities(False, [AgentCap.FILE_XFER_DETAILED_ERRORS])
    key_file = f"[vdagent-file-xfer]\nname={name}\nsize=6\n".encode() + b"\0"
    for record in (
        AgentMessage(T.ANNOUNCE_CAPABILITIES, caps),
        AgentMessage(T.FILE_XFER_START, struct.pack("<I", 42) + key_file),
    ):
        for body in split_for_client(record):
            raw.send_message(MsgcMain.AGENT_DATA, body)
    status = next_agent_record(raw, AgentStream(), T.FILE_XFER_STATUS)
    xfer_id, result = struct.unpack_from("<II", status.payload)
    assert (xfer_id, result) == (42, expected)
    if expected == FileXferStatus.ERROR:
        assert struct.unpack("<BI", status.payload[8:]) == (0, GIO_INVALID_FILENAME)
    assert not (tmp_path / "escape.txt").exists()
    assert not downloads.exists() or list(downloads.iterdir()) == []
    raw.close()
