"""Stream frame stamps from the client's reports: on time for MJPEG, at once for GStreamer."""

from __future__ import annotations

from spice_server.display.stamping import EARLY_MS, GUARD_MS, FrameStamper, mm_diff


def client_report(stamper: FrameStamper, stamp: int, client_clock_at_arrival: int) -> None:
    stamper.reported(stamp, mm_diff(stamp, client_clock_at_arrival))


def test_before_any_report_the_guess_from_main_init_is_used() -> None:
    stamper = FrameStamper(-400, drops_late=True)
    assert stamper.stamp(10_000) == 10_000 - 400 + GUARD_MS


def test_mjpeg_frames_are_stamped_just_after_they_arrive_by_the_client_clock() -> None:
    stamper = FrameStamper(-400, drops_late=True)
    lag, transit = 425, 12  # the client's clock lags ours; frames take a while to arrive
    for send in range(0, 400, 16):
        stamp = stamper.stamp(send)
        client_report(stamper, stamp, send + transit - lag)
    stamp = stamper.stamp(1000)
    arrival = 1000 + transit - lag
    assert mm_diff(stamp, arrival) == GUARD_MS  # shown a guard after arrival: no drop


def test_mjpeg_follows_the_latest_arrivals_so_jitter_does_not_drop_frames() -> None:
    stamper = FrameStamper(0, drops_late=True)
    for send, transit in ((0, 5), (16, 30), (32, 5), (48, 6)):
        client_report(stamper, stamper.stamp(send), send + transit)
    assert mm_diff(stamper.stamp(100), 100 + 30) == GUARD_MS


def test_gstreamer_frames_are_stamped_before_arrival_to_show_when_decoded() -> None:
    stamper = FrameStamper(-400, drops_late=False)
    for send in range(0, 200, 16):
        client_report(stamper, stamper.stamp(send), send + 8 - 300)
    assert mm_diff(stamper.stamp(500), 500 + 8 - 300) == -EARLY_MS


def test_while_sound_plays_a_frame_keeps_with_the_sound_of_its_moment() -> None:
    stamper = FrameStamper(-400, drops_late=True)
    assert stamper.stamp(5000, capture_mm=4990) == 4990  # with the sound, not earlier
    late_clock = FrameStamper(300, drops_late=True)  # the client's clock runs ahead
    assert late_clock.stamp(5000, capture_mm=4990) == 5000 + 300 + GUARD_MS


def test_the_clock_wraps_and_unknown_stamps_are_ignored() -> None:
    stamper = FrameStamper(-400, drops_late=True)
    stamp = stamper.stamp(0xFFFFFFF0)
    assert stamp == (0xFFFFFFF0 - 400 + GUARD_MS) & 0xFFFFFFFF
    stamper.reported(12345, -1000)  # a frame it never stamped
    assert stamper.lead_ms == -400 + GUARD_MS
