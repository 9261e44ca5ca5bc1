"""Rate-limited log lines: what a client can trigger at will is said once per interval."""

from __future__ import annotations

import logging

from spice_server.channels.inputs import InputsChannel
from spice_server.core.ratelog import RateLimitedLog
from spice_server.protocol.messages.inputs import MsgcInputsKeyDown

from fakes import FakeClock, FakeContext, link


def test_the_first_line_then_one_per_interval_with_the_count_left_out(caplog) -> None:
    caplog.set_level(logging.INFO, logger="test.ratelog")
    clock = FakeClock(100.0)
    quiet = RateLimitedLog(logging.getLogger("test.ratelog"), clock.now, interval=10.0)
    for i in range(1000):
        quiet.info("mode %d refused", i)
        clock.time += 0.001
    clock.time += 10.0
    quiet.info("mode %d refused", 7)
    quiet.warning("another kind, %s", "said at once")
    assert [r.getMessage() for r in caplog.records] == [
        "mode 0 refused",
        "mode 7 refused (and 999 more like it)",
        "another kind, said at once",
    ]


def test_a_level_that_is_off_costs_nothing_and_counts_nothing(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="test.ratelog")
    clock = FakeClock(0.0)
    quiet = RateLimitedLog(logging.getLogger("test.ratelog"), clock.now)
    for _ in range(10):
        quiet.debug("not written")
    assert caplog.records == []


def test_keys_without_a_keyboard_are_logged_once(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="spice_server")
    context = FakeContext()
    _client, transport = link(InputsChannel(context))
    for _ in range(20_000):
        transport.feed(MsgcInputsKeyDown(0x1E))
    lines = [r for r in caplog.records if "no keyboard" in r.getMessage()]
    assert len(lines) == 1
