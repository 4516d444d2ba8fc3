"""Every benchmark in one run, each beside its anchor, and one table with the goals.

    .venv/bin/python -m bench [--seconds 10] [--quick]

Runs, in this order: status changes at 200/s to 1 eMSP and to 20 eMSPs (the real `serve`
on SQLite, bench.status_latency), pushes from the outbox to 20 eMSPs beside the same client
alone (bench.push), GET /locations pages at 1,000 and 100,000 locations, cached and uncached,
beside a bare route returning the same bytes (bench.locations_get), and meter values beside
a bare grpc.aio server (bench.meter_values). Each prints its own lines as it goes; the
table at the end says, per goal, what was measured, its anchor and whether it is met.
Prints numbers; asserts nothing. `--quick` shortens every phase (for trying it out; the
numbers are noisier).
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import dataclass

from bench import locations_get, meter_values, push, status_latency


@dataclass(frozen=True)
class Row:
    what: str
    measured: float
    unit: str
    goal: str
    met: bool
    anchor: str = ""


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0%}"
    if value >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.2f} {unit}".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="seconds of each status-change run")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--port", type=int, default=18181, help="for the page benchmark")
    arguments = parser.parse_args()
    quick = arguments.quick
    seconds = 3.0 if quick else arguments.seconds
    rows: list[Row] = []

    print("== status changes, 200/s, 1 eMSP")
    one = status_latency.measure(200, seconds, refusing=False, emsps=1)
    rows.append(Row("1 eMSP x 200/s: call -> PATCH p99", one["patch_p99"], "ms", "<= 50 ms",
                    one["patch_p99"] <= 50))
    rows.append(Row("1 eMSP x 200/s: serve CPU per change", one["cpu_ms_per_change"], "ms",
                    "(<= 2 ms in a batch)", one["cpu_ms_per_change"] <= 2))
    print("== status changes, 200/s, 20 eMSPs")
    many = status_latency.measure(200, seconds, refusing=False, emsps=20)
    rows += [
        Row("20 eMSPs x 200/s: failed calls", many["failed"], "", "0", many["failed"] == 0),
        Row("20 eMSPs x 200/s: ack p99", many["ack_p99"], "ms", "<= 50 ms",
            many["ack_p99"] <= 50),
        Row("20 eMSPs x 200/s: call -> PATCH p99", many["patch_p99"], "ms", "<= 100 ms",
            many["patch_p99"] <= 100),
        Row("20 eMSPs x 200/s: PATCHes/s received", many["pushes_per_s"], "/s", ">= 3,800/s",
            many["pushes_per_s"] >= 3800),
        Row("20 eMSPs x 200/s: serve CPU per push", many["cpu_ms_per_push"], "ms",
            "<= 0.25 ms", many["cpu_ms_per_push"] <= 0.25),
    ]

    print("== pushes from the outbox to 20 eMSPs")
    pushed, alone = push.measure(20, 100 if quick else 200)
    rows.append(Row("outbox -> 20 eMSPs", pushed, "pushes/s", ">= 3,800/s", pushed >= 3800,
                    f"client alone {alone:,.0f}/s ({pushed / alone:.0%})"))

    print("== GET /locations pages")
    page_seconds = 1.5 if quick else 3.0
    pages = {(size, name): result for size, name, result in locations_get.run_case(
        100_000, page_seconds, arguments.port, limits=(10,))}
    bare = pages[(100_000, "bare endpoint, same bytes")].rate
    cached = pages[(100_000, "limit=10 offset=0")].rate
    uncached = pages[(100_000, "limit=10 offset=0 uncached")].rate
    deep = pages[(100_000, "limit=10 offset=99000 uncached")].rate
    swept = pages[(100_000, "limit=10 sweep from offset 0")].rate
    rows += [
        Row("page of 10 at 100k, cached", cached / bare, "%", ">= 80% of bare",
            cached >= 0.8 * bare, f"bare {bare:,.0f} req/s, ours {cached:,.0f}"),
        Row("page of 10 at 100k, uncached (a new filter each time)", uncached / bare, "%",
            ">= 50% of bare", uncached >= 0.5 * bare, f"ours {uncached:,.0f} req/s"),
        Row("pages of 10 at 100k, a first sweep (each page new)", swept / bare, "%",
            ">= 50% of bare", swept >= 0.5 * bare, f"ours {swept:,.0f} req/s"),
        Row("deep page (offset 99,000), uncached", deep / uncached, "%",
            "within 1.2x of page 1", deep * 1.2 >= uncached, f"ours {deep:,.0f} req/s"),
    ]

    print("== meter values")
    options = {"events": 10_000 if quick else 40_000, "streams": 4, "per_message": 1,
               "unary_events": 2_000 if quick else 8_000, "concurrency": 64,
               "transactions": 200, "clients": 1, "database": ""}
    rates = meter_values.run(meter_values.main(options))
    options["per_message"] = 10
    print("== meter values, 10 events per message")
    tens = meter_values.run(meter_values.main(options))
    rows += [
        Row("StreamMeterValues, 1 event/message", rates["stream"] / rates["stream_bare"], "%",
            ">= 60% of bare", rates["stream"] >= 0.6 * rates["stream_bare"],
            f"bare {rates['stream_bare']:,.0f}/s, ours {rates['stream']:,.0f}/s"),
        Row("StreamMeterValues, 10 events/message", tens["stream"] / tens["stream_bare"], "%",
            ">= 60% of bare", tens["stream"] >= 0.6 * tens["stream_bare"],
            f"bare {tens['stream_bare']:,.0f}/s, ours {tens['stream']:,.0f}/s"),
        Row("largest SQLite WAL during the streams", max(rates["wal_mb"], tens["wal_mb"]),
            "MB", "<= 64 MB", max(rates["wal_mb"], tens["wal_mb"]) <= 64),
    ]

    print()
    print(f"machine: {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.machine()}; server, load and fake "
          "partners share them")
    print("| goal | measured | anchor | target | met |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.what} | {_fmt(row.measured, row.unit)} | {row.anchor or '—'} | "
              f"{row.goal} | {'yes' if row.met else 'no'} |")


if __name__ == "__main__":
    main()
