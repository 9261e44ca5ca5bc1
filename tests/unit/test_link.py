"""The link estimate and pacing: delivery rate from busy intervals, budgets, paced pumping."""

from __future__ import annotations

import pytest

from spice_server.channels.base import INTERACTIVE_S
from spice_server.channels.cursor import CursorChannel
from spice_server.interfaces.display import Display
from spice_server.net.link import (
    INTERACTIVE_ALLOWANCE_S,
    MAX_BUDGET,
    MIN_BUDGET,
    QUEUE_ALLOWANCE_S,
    LinkEstimate,
)
from spice_server.protocol.messages.base import MsgcAck, MsgcAckSync
from spice_server.protocol.messages.cursor import MsgCursorMove

from fakes import FakeClock, FakeContext, link


def busy_link(clock: FakeClock, estimate: LinkEstimate, rate: float, seconds: float) -> None:
    """A sender that keeps 100 kB waiting on a link delivering ``rate`` bytes a second."""
    delivered = 0.0
    for _ in range(int(seconds / 0.01)):
        clock.time += 0.01
        delivered += rate * 0.01
        estimate.sample(int(delivered) + 100_000, 100_000)


def test_the_rate_is_what_a_busy_link_delivered() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    assert estimate.rate is None and estimate.budget() == MAX_BUDGET  # never saturated yet
    busy_link(clock, estimate, 2_500_000, 0.5)  # 20 Mbit/s
    assert estimate.rate == pytest.approx(2_500_000, rel=0.01)


def test_bursts_shorter_than_a_span_do_not_read_as_a_fast_link() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    delivered = 0
    for step in range(60):  # a queue that takes 50 kB at once, every 20 ms: 2.5 MB/s
        clock.time += 0.01
        delivered += 50_000 if step % 2 else 0
        estimate.sample(delivered + 100_000, 100_000)
    assert estimate.rate == pytest.approx(2_500_000, rel=0.15)


def test_a_ping_behind_our_own_data_measures_the_path_without_that_queue() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 1_000_000, 0.5)
    estimate.round_trip(0.120, queued_ahead=100_000)  # 100 ms of it was our own queue
    assert estimate.rtt == pytest.approx(0.020)


def test_idle_moments_do_not_read_as_a_slow_link() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 2_500_000, 0.3)
    for step in range(20):  # then almost nothing to send: in flight drops to zero
        clock.time += 0.01
        estimate.sample(3_000_000 + step * 10, 0)
    assert estimate.rate == pytest.approx(2_500_000, rel=0.01)


def test_the_budget_is_the_bandwidth_delay_product_and_a_little_more() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 625_000, 0.3)  # 5 Mbit/s
    estimate.round_trip(0.120)
    estimate.round_trip(0.080)  # the smallest recent round trip is the path's own
    assert estimate.rtt == pytest.approx(0.080)
    assert estimate.budget() == int(625_000 * (0.080 + QUEUE_ALLOWANCE_S))
    slow = LinkEstimate(clock)
    busy_link(clock, slow, 10_000, 0.3)
    assert slow.budget() == MIN_BUDGET


def test_a_channel_over_budget_waits_and_pumps_when_the_link_has_drained() -> None:
    context = FakeContext()
    display = Display(64, 64)
    channel = CursorChannel(context, display)
    client, transport = link(channel)
    transport.take()
    transport.pending = MAX_BUDGET + 1  # more than the budget is on its way
    display.move_cursor(5, 5)
    channel.distribute()
    assert transport.take() == [] and context.core.armed() >= 1
    transport.pending = 0  # delivered
    transport.feed(MsgcAckSync(1))
    transport.feed(MsgcAck())
    context.core.advance(0.05)
    assert transport.take() == [MsgCursorMove(5, 5)]
    assert client.can_send_more()


def test_while_the_user_types_the_budget_keeps_the_link_just_full() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 2_500_000, 0.3)  # 20 Mbit/s
    estimate.round_trip(0.020)
    interactive = estimate.budget(interactive=True)
    assert interactive == int(2_500_000 * (0.020 + INTERACTIVE_ALLOWANCE_S))
    assert interactive < estimate.budget()


def test_a_channel_keeps_less_in_flight_for_a_second_after_input() -> None:
    context = FakeContext()
    display = Display(64, 64)
    channel = CursorChannel(context, display)
    client, transport = link(channel)
    busy_link(context.clock, transport.link, 2_500_000, 0.3)
    transport.link.round_trip(0.020)
    quiet, typing = transport.link.budget(), transport.link.budget(interactive=True)
    transport.pending = (quiet + typing) // 2  # within the budget, over the interactive one
    assert client.can_send_more()
    client.session.last_input = context.clock.now()
    assert not client.can_send_more()
    context.clock.time += INTERACTIVE_S
    assert client.can_send_more()


def test_a_client_that_stops_reading_is_no_measure_of_the_link() -> None:
    """A client busy for half a second (reading its whole framebuffer, say) leaves bytes in
    flight with nothing delivered: not a slow link. Measured, that span would hold the
    budget (and the stream's quality) down for seconds after the client reads again."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    for step in range(50):  # in flight all along, nothing delivered for half a second
        clock.time += 0.01
        estimate.sample(100_000 + step, 100_000 + step)
    assert estimate.rate is None
    busy_link(clock, estimate, 2_500_000, 0.3)  # it reads again: the link's own rate
    assert estimate.rate == pytest.approx(2_500_000, rel=0.01)
