"""The link estimate and pacing: delivery rate from busy intervals, budgets, paced pumping."""

from __future__ import annotations

import pytest

from spice_server.channels.base import INTERACTIVE_S
from spice_server.channels.cursor import CursorChannel
from spice_server.interfaces.display import Display
from spice_server.net.link import (
    MAX_BUDGET,
    MAX_PROBE_GAIN,
    MAX_STEP,
    MIN_BUDGET,
    QUEUE_ALLOWANCE_S,
    LinkEstimate,
)
from spice_server.protocol.messages.base import MsgcAck, MsgcAckSync
from spice_server.protocol.messages.cursor import MsgCursorMove

from fakes import FakeClock, FakeContext, link


def busy_link(
    clock: FakeClock,
    estimate: LinkEstimate,
    rate: float,
    seconds: float,
    rtt: float = 0.020,
    delivered: float = 0.0,
) -> None:
    """A sender always held back by its budget, on a link delivering ``rate`` bytes a
    second with a round trip of ``rtt``, which the client confirms every 10 ms (from
    ``delivered`` bytes confirmed before)."""
    estimate.round_trip(rtt)
    for _ in range(int(seconds / 0.01)):
        estimate.held_back()
        clock.time += 0.01
        delivered += rate * 0.01
        estimate.confirmed(int(delivered))


def test_the_rate_is_what_a_busy_link_delivered() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    assert estimate.rate is None and estimate.budget() == MAX_BUDGET  # never saturated yet
    busy_link(clock, estimate, 2_500_000, 0.5)  # 20 Mbit/s
    assert estimate.rate == pytest.approx(2_500_000, rel=0.01)


def test_pings_that_waited_in_a_queue_measure_the_link_without_holding_back() -> None:
    """A sender that never reaches the budget of a link not yet measured (a terminal's
    flood at 20 Mbit/s: 256 kB, 100 ms of queue) is not held back, yet its pings wait in
    the queue: that says the link was full. Pings at the path's round trip say nothing."""
    for queue_s, measured in ((0.080, True), (0.002, False)):
        clock = FakeClock()
        estimate = LinkEstimate(clock)
        estimate.round_trip(0.020)
        delivered = 0.0
        for _ in range(50):
            clock.time += 0.01
            delivered += 2_500_000 * 0.01
            estimate.round_trip(0.020 + queue_s)  # each PONG: its round trip, then what
            estimate.confirmed(int(delivered))  # it confirms
        if measured:
            assert estimate.rate == pytest.approx(2_500_000, rel=0.01)
            assert estimate.budget(interactive=True) == int(2_500_000 * 0.020)
        else:
            assert estimate.rate is None


def test_bursts_shorter_than_a_span_do_not_read_as_a_fast_link() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    estimate.round_trip(0.020)
    delivered = 0
    for step in range(60):  # a queue that takes 50 kB at once, every 20 ms: 2.5 MB/s
        estimate.held_back()
        clock.time += 0.01
        delivered += 50_000 if step % 2 else 0
        estimate.confirmed(delivered)
    assert estimate.rate == pytest.approx(2_500_000, rel=0.15)


def test_idle_moments_do_not_read_as_a_slow_link() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 2_500_000, 0.3)
    for step in range(20):  # then almost nothing to send, never held back
        clock.time += 0.01
        estimate.confirmed(3_000_000 + step * 10)
    assert estimate.rate == pytest.approx(2_500_000, rel=0.01)


def test_the_budget_is_the_bandwidth_delay_product_and_a_little_more() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 625_000, 0.3, rtt=0.080)  # 5 Mbit/s
    estimate.round_trip(0.120)
    estimate.round_trip(0.080)  # the smallest recent round trip is the path's own
    assert estimate.rtt == pytest.approx(0.080)
    step = 6_250  # each confirmation (every 10 ms) confirmed this much more
    assert estimate.budget() == int(625_000 * (0.080 + QUEUE_ALLOWANCE_S) + step)
    slow = LinkEstimate(clock)
    busy_link(clock, slow, 10_000, 0.3)
    assert slow.budget() == MIN_BUDGET


def test_the_budget_holds_one_confirmations_bytes_more() -> None:
    """Pings a frame apart confirm a frame at a time: just after a confirmation, the
    bytes of the next one arrived already but still count. Without them in the budget
    a link whose bandwidth-delay product is near a frame idled every round trip."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 625_000, 0.3, rtt=0.080)
    base = estimate.budget() - 6_250  # busy_link's confirmations came 6,250 bytes apart
    delivered = int(625_000 * 0.3)
    for step in (40_000, 10 * MAX_STEP):  # a frame's worth; a huge one counts MAX_STEP
        clock.time += 0.05
        delivered += step
        estimate.confirmed(delivered)
        assert estimate.budget() == base + min(step, MAX_STEP)


def after_a_stream_then_idle(clock: FakeClock, estimate: LinkEstimate) -> int:
    """A link measured long ago (20 Mbit/s), then 2.5 s of a stream that fits it (never
    held back), then a quarter second of nothing: the bytes delivered in all."""
    busy_link(clock, estimate, 2_500_000, 0.5)
    delivered = int(2_500_000 * 0.5)
    for _ in range(250):
        clock.time += 0.01
        delivered += 20_000
        estimate.confirmed(delivered)
    clock.time += 0.25
    return delivered


def test_a_link_that_idled_until_the_sender_resumed_is_not_measured_slow() -> None:
    """A stream's last frame, a quarter second of nothing, then a refinement held back at
    once: the first confirmation after it waited through the idle time and the pipe's
    filling, and says nothing of the link (counted, a 20 Mbit/s link read as 3.5)."""
    for resumes in (True, False):
        clock = FakeClock()
        estimate = LinkEstimate(clock)
        delivered = after_a_stream_then_idle(clock, estimate)
        if resumes:
            estimate.resumed(delivered)  # the connection says so as it writes again
        for _ in range(20):  # held back from the first write on, confirmed every 10 ms
            estimate.held_back()
            clock.time += 0.01
            delivered += 25_000
            estimate.confirmed(delivered)
        assert estimate.rate is not None
        if resumes:  # nothing measured yet: the old figure stands (rising a little)
            assert estimate.rate >= 2_500_000
        else:  # the wait read as the link's pace (lifted by what the stream delivered)
            assert estimate.rate < 1_250_000


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
    assert interactive == int(2_500_000 * 0.020)  # the bandwidth-delay product: no step
    assert interactive < estimate.budget()


def test_while_the_user_types_what_arrived_since_the_last_confirmation_is_not_on_its_way() -> None:
    """Confirmations come a ping's spacing apart: what the link delivered since the last
    one still counts as unconfirmed. Held to the bandwidth-delay product from there, the
    link idled part of every round trip (a flood beside typing at 5 Mbit/s: 320-420 kB/s
    of a 625); the interactive budget grows with what the link carried since, up to the
    full budget at most."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 2_500_000, 0.3)  # the last confirmation: now
    estimate.round_trip(0.020)
    clock.time += 0.004
    assert estimate.budget(interactive=True) == int(2_500_000 * (0.020 + 0.004))
    clock.time += 0.1  # long unconfirmed: the client is slow, not the link
    assert estimate.budget(interactive=True) == estimate.budget()
    estimate.confirmed(1_000_000)
    assert estimate.budget(interactive=True) == int(2_500_000 * 0.020)


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


def test_holds_under_the_interactive_budget_do_not_measure_the_link() -> None:
    """The bandwidth-delay product alone leaves the link idle part of each round trip:
    what it delivers then is less than the link carries, and if that measured it, the
    budget taken from it would shrink and deliver less again (a terminal's flood beside
    keys typed at 20 Mbit/s: read as 2.0, then 1.1 MB/s after 4 s). A hold under the
    full budget still measures it."""
    context = FakeContext()
    channel = CursorChannel(context, Display(64, 64))
    client, transport = link(channel)
    busy_link(context.clock, transport.link, 2_500_000, 0.5)  # 1.25 MB confirmed
    transport.pending = MAX_BUDGET  # at or over either budget
    delivered = 1_250_000.0
    for typing, rate in ((True, 1_200_000), (False, 2_000_000)):
        for _ in range(300):
            client.session.last_input = context.clock.now() if typing else -INTERACTIVE_S
            assert not client.can_send_more()
            context.clock.time += 0.01
            delivered += rate * 0.01
            transport.link.confirmed(int(delivered))
        rate_read = transport.link.rate
        assert rate_read is not None
        # Not measured while typing: the last reading stands, and does not rise with age.
        assert rate_read == pytest.approx(2_500_000 if typing else 2_000_000, rel=0.01)


def test_a_rate_read_low_rises_to_what_the_link_carried_while_the_user_types() -> None:
    """A rate read while the client decoded its first screen (0.4 MB/s here), then keys
    typed beside a flood: the interactive budget's holds measure nothing and the reading
    stands, so nothing raised it, and the flood got no more than that budget let through
    for as long as keys came. What the link carried (1 MB/s, the budget's growth between
    confirmations) raises it; less never lowers it."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 400_000, 0.5)
    delivered = 200_000.0
    for rate, expected in ((1_000_000, 1_000_000), (300_000, 1_000_000)):
        for _ in range(150):
            estimate.held_back(interactive=True)
            clock.time += 0.01
            delivered += rate * 0.01
            estimate.confirmed(int(delivered))
        assert estimate.rate == pytest.approx(expected, rel=0.02)


def test_a_sender_with_little_to_send_is_not_taken_for_a_slow_link() -> None:
    """Bytes are always on their way to a far client; only spans in which the budget held
    the sender back say what the link carries."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    for step in range(100):  # 200 kB/s of frames, confirmed as they arrive, never held back
        clock.time += 0.01
        estimate.confirmed(step * 2_000)
    assert estimate.rate is None and estimate.budget() == MAX_BUDGET


def test_the_round_trip_is_the_least_of_the_last_seconds() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    for seconds in (0.050, 0.030, 0.040):
        estimate.round_trip(seconds)
        clock.time += 1
    assert estimate.rtt == pytest.approx(0.030)
    clock.time += 8.5  # the 30 ms one is more than ten seconds old now
    estimate.round_trip(0.045)
    assert estimate.rtt == pytest.approx(0.040)


def test_on_a_near_link_the_client_s_pace_is_not_taken_for_the_link_s() -> None:
    """On loopback or a LAN, confirmations come at the pace the client decodes (a first
    screen takes it a while): the rate stays unknown, the budget the largest."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 500_000, 0.5, rtt=0.002)
    assert estimate.rate is None and estimate.budget() == MAX_BUDGET


def test_a_measured_rate_stays_until_the_link_is_measured_again() -> None:
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 625_000, 0.5, rtt=0.080)
    for step in range(200):  # two seconds within the budget: nothing measures it again
        clock.time += 0.01
        estimate.confirmed(400_000 + step * 1_000)
    assert estimate.rate == pytest.approx(625_000, rel=0.1)
    clock.time += 2  # older, trusted less: it rises, so a faster link is found again
    assert estimate.rate == pytest.approx(625_000 * 1.5, rel=0.1)
    clock.time += 60  # ... but to twice itself at most: a quiet minute is no faster link
    assert estimate.rate == pytest.approx(625_000 * MAX_PROBE_GAIN, rel=0.1)
    assert MAX_PROBE_GAIN == 2


def test_a_client_that_stops_reading_is_no_measure_of_the_link() -> None:
    """A client busy for most of a second (reading its whole framebuffer, say) confirms
    nothing meanwhile: not a slow link. Measured, that span would hold the budget (and
    the stream's quality) down after the client reads again."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    busy_link(clock, estimate, 2_500_000, 0.3)
    estimate.held_back()
    clock.time += 0.8  # nothing confirmed for 0.8 s, then a little
    estimate.confirmed(2_500_000 * 0.3 + 1_000)
    clock.time += 1.3  # the busy span's measurement is now the only one kept
    assert estimate.rate == pytest.approx(2_500_000, rel=0.05)  # not the stall's 1 kB/s


def test_a_slow_link_s_first_long_wait_is_measured() -> None:
    """Before any rate is known, a long wait for a first screen on a slow link is the
    link's pace, not a stall: measured, the budget fits the link at once."""
    clock = FakeClock()
    estimate = LinkEstimate(clock)
    estimate.round_trip(0.080)
    estimate.confirmed(0)
    for step in range(1, 4):  # 300 kB in 0.6 s confirmations apart: 500 kB/s
        estimate.held_back()
        clock.time += 0.6
        estimate.confirmed(step * 300_000)
    assert estimate.rate == pytest.approx(500_000, rel=0.01)
