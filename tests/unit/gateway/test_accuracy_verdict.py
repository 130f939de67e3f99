"""The accuracy test's verdict (`cmp_dev.gateway_load`: windows, steady_windows, stalls, outside) on
admissions of a simulated GCRA limiter: the limit it is configured with passes 0.98x-1.02x in 1-second and
5-second windows; a deliberately wrong limiter admitting twice that rate fails the same verdict; a stall of
the clients across a window edge moves admissions from one window to the next, and `stalls` finds exactly
the windows it moved. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cmp.gateway.model import default_burst
from cmp_dev.gateway_load import outside, stalls, steady_windows, windows

START = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
RATE_PER_MINUTE = 6000  # 100/s, burst 1,000


def gcra(
    rate_per_second: float,
    burst: int,
    seconds: float,
    attempt_every: float = 0.002,
    pauses: tuple[tuple[float, float], ...] = (),
) -> list[datetime]:
    """The admission times of a generic cell rate algorithm (emission interval 1/rate, tolerance burst x
    interval, as `gateway_admit` computes it) under clients attempting every `attempt_every` seconds, but
    not at all within `pauses` (start, end seconds: a stall of the host)."""
    interval = 1.0 / rate_per_second
    tolerance = burst * interval
    tat = float("-inf")
    admitted: list[datetime] = []
    for step in range(int(seconds / attempt_every)):
        now = step * attempt_every
        if any(start <= now < end for start, end in pauses):
            continue
        nxt = max(tat, now) + interval
        if nxt - now <= tolerance:
            tat = nxt
            admitted.append(START + timedelta(seconds=now))
    return admitted


def verdict(times: list[datetime], rate_per_second: float, burst: int) -> tuple[list[int], list[int]]:
    """What the accuracy test rejects: the 1-second and 5-second windows outside 0.98x-1.02x of the rate."""
    per_second = windows(times)["per_second"]
    short, longer = (
        steady_windows(per_second, rate_per_second, burst, 1),
        steady_windows(per_second, rate_per_second, burst, 5),
    )
    assert short and longer
    return outside(short, rate_per_second), outside(longer, 5 * rate_per_second)


def test_a_limiter_at_its_rate_passes_in_1_and_5_second_windows() -> None:
    rate = RATE_PER_MINUTE / 60
    times = gcra(rate, default_burst(RATE_PER_MINUTE), 25.0)
    assert verdict(times, rate, default_burst(RATE_PER_MINUTE)) == ([], [])
    counted = windows(times)
    assert counted["per_second"][:2] == [500, 500]  # every attempt while the burst lasts (2.5 s)
    assert 9.0 <= counted["max_gap_ms"] <= 13.0  # one admission every 10 ms once it has run out


def test_a_limiter_admitting_twice_the_rate_fails_the_same_verdict() -> None:
    rate = RATE_PER_MINUTE / 60
    times = gcra(2 * rate, default_burst(RATE_PER_MINUTE), 25.0)
    short, longer = verdict(times, rate, default_burst(RATE_PER_MINUTE))
    assert short and longer
    assert all(n >= 1.9 * rate for n in short)


def test_a_stall_across_an_edge_moves_admissions_and_only_its_windows_are_left_out() -> None:
    rate, burst = RATE_PER_MINUTE / 60, default_burst(RATE_PER_MINUTE)
    pauses = ((12.85, 13.15), (17.3, 17.5))  # across the edge at 13 s; inside the 17th second
    times = gcra(rate, burst, 25.0, pauses=pauses)
    per_second = windows(times)["per_second"]
    assert per_second[12] < 0.9 * rate and per_second[13] > 1.1 * rate  # the first stall moved ~15
    assert per_second[17] in (99, 100, 101)  # the second was made up within its own second
    decisions = [
        i * 0.002 for i in range(int(25.0 / 0.002)) if not any(a <= i * 0.002 < b for a, b in pauses)
    ]
    moved = stalls(decisions, 1 / rate)
    # until the missed admissions (30, 20) are made up at one per 2-ms decision, doubled
    assert [(round(a, 2), round(b, 2)) for a, b in moved] == [(12.85, 13.27), (17.3, 17.58)]
    every = steady_windows(per_second, rate, burst, 1)
    kept = steady_windows(per_second, rate, burst, 1, moved)
    assert outside(every, rate) == [per_second[12], per_second[13]]
    assert len(kept) == len(every) - 2 and outside(kept, rate) == []


def test_leaving_out_stalled_windows_still_fails_a_limiter_admitting_twice_the_rate() -> None:
    rate, burst = RATE_PER_MINUTE / 60, default_burst(RATE_PER_MINUTE)
    times = gcra(2 * rate, burst, 25.0, pauses=((12.85, 13.15),))
    decisions = [i * 0.002 for i in range(int(25.0 / 0.002)) if not 12.85 <= i * 0.002 < 13.15]
    kept = steady_windows(windows(times)["per_second"], rate, burst, 1, stalls(decisions, 1 / rate))
    assert kept and all(n >= 1.9 * rate for n in kept)
