"""Fixtures shared by the test suite: the server harness under each core, and the real client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import CORE_KINDS, GtkClient, ServerHarness, check_real_client


@pytest.fixture(scope="session")
def real_client() -> None:
    check_real_client()


@pytest.fixture(params=CORE_KINDS)
def core_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_harness(core_kind: str) -> Iterator:
    harnesses: list[ServerHarness] = []

    def make(**options: object) -> ServerHarness:
        harness = ServerHarness(core_kind, **options)
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        harness.stop()


@pytest.fixture
def make_client(real_client: None, tmp_path: Path) -> Iterator:
    clients: list[GtkClient] = []

    def make(port: int | None, password: str | None = None, **options: Any) -> GtkClient:
        client = GtkClient(port, password, tmp_path, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
