"""The accuracy test's verdict (`cmp_dev.gateway_load`: windows, steady_windows, outside) on admissions of a
simulated GCRA limiter: the limit it is configured with passes 0.98x-1.02x in 1-second and 5-second
windows; a deliberately wrong limiter admitting twice that rate fails the same verdict. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cmp.gateway.model import default_burst
from cmp_dev.gateway_load import outside, steady_windows, windows

START = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
RATE_PER_MINUTE = 6000  # 100/s, burst 1,000


def gcra(rate_per_second: float, burst: int, seconds: float, attempt_every: float = 0.002) -> list[datetime]:
    """The admission times of a generic cell rate algorithm (emission interval 1/rate, tolerance burst x
    interval, as `gateway_admit` computes it) under clients attempting every `attempt_every` seconds."""
    interval = 1.0 / rate_per_second
    tolerance = burst * interval
    tat = float("-inf")
    admitted: list[datetime] = []
    for step in range(int(seconds / attempt_every)):
        now = step * attempt_every
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
