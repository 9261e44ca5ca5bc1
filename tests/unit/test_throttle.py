"""Failed tickets slow down their own address, on the server's clock."""

from __future__ import annotations

from spice_server.net.throttle import TicketThrottle

from fakes import FakeClock


def attempts(throttle: TicketThrottle, clock: FakeClock, host: str, count: int) -> float:
    """Wrong tickets one after the other, each sent as soon as the last was answered;
    the seconds they took."""
    start = clock.now()
    for _ in range(count):
        wait = throttle.reserve(host)
        assert wait is not None
        clock.time += wait
        throttle.failed(host)
    return clock.now() - start


def test_a_hundred_wrong_tickets_cost_their_address_minutes_and_no_one_else_anything() -> None:
    clock = FakeClock(1000.0)
    throttle = TicketThrottle(clock, free_failures=3, max_delay=30.0)
    assert attempts(throttle, clock, "127.0.0.2", 4) == 0  # people mistype: free
    spent = attempts(throttle, clock, "127.0.0.2", 96)
    assert spent > 60  # 0.5 + 1 + 2 + ... then 30 s each: about 45 minutes
    assert throttle.reserve("127.0.0.1") == 0.0  # another address: at once


def test_a_right_ticket_clears_the_record() -> None:
    clock = FakeClock(0.0)
    throttle = TicketThrottle(clock, free_failures=0, max_delay=30.0)
    attempts(throttle, clock, "h", 3)
    assert throttle.reserve("h") == 2.0
    clock.time += 2.0
    throttle.succeeded("h")
    assert throttle.reserve("h") == 0.0 and throttle.failures("h") == 0


def test_tickets_sent_at_once_wait_their_turn_and_beyond_the_cap_are_refused() -> None:
    clock = FakeClock(0.0)
    throttle = TicketThrottle(clock, free_failures=0, max_delay=4.0)
    attempts(throttle, clock, "h", 2)  # the next waits 1 s, the one after 2 s more...
    waits = [throttle.reserve("h") for _ in range(4)]
    assert waits == [1.0, 3.0, None, None]  # 3 + 2 = 5 s would exceed the 4 s cap


def test_the_table_forgets_the_oldest_address() -> None:
    clock = FakeClock(0.0)
    throttle = TicketThrottle(clock)
    for i in range(5000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._records) == 4096
    assert throttle.failures("10.0.0.0") == 0 and throttle.failures("10.0.19.135") == 1
