"""CPU time of the SLA evaluator's computation (`cmp.sla.model.evaluate`) for N subscriptions, each with a
30-day billing period of per-minute buckets (43,200, the most an evaluation reads at a one-minute step),
a failure every 97 minutes and 96 % of calls within the latency target. Reading the series from CloudWatch
(`GetMetricData`) and storing the result are not included.

Run: .venv/bin/python bench/sla_bench.py [--subscriptions 100] [--days 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))

from cmp.sla.model import Bucket, evaluate
from cmp.sla.targets import SlaTargets

MINUTE = timedelta(minutes=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    now = end - MINUTE
    minutes = int((now - start) / MINUTE)
    series = [Bucket(start + i * MINUTE, 100, int(i % 97 == 0), 96) for i in range(minutes)]
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.subscriptions):
        evaluate(SlaTargets(), series, start, end, now, MINUTE)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"{args.subscriptions} subscriptions x {minutes:,} minute buckets: wall {wall:.1f} s, CPU {cpu:.1f} s, "
        f"{1000 * cpu / args.subscriptions:.0f} ms CPU per subscription; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
