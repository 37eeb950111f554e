#!/usr/bin/env python3
"""Planning latency for `region: auto`: concurrent vs serial, with 150 ms injected before every AWS call.

    .venv/bin/python scripts/bench_placement.py [--latency-ms 150] [--gpu a10g]

Runs against the sandbox (moto's HTTP server) so that the whole botocore stack is exercised;
the latency is added by a `before-send` hook on the session's event system.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from typing import Any


class Latency:
    """A `before-send` hook that sleeps before every AWS call and counts the calls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)


def new_clients(endpoint: str, latency: Latency) -> Any:
    from geusemaker.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY
    from geusemaker.services.aws import AwsClients, AwsTarget

    clients = AwsClients(
        AwsTarget(region="us-east-1", endpoint_url=endpoint, access_key=SANDBOX_ACCESS_KEY,
                  secret_key=SANDBOX_SECRET_KEY, sandbox=True)
    )  # fmt: skip
    clients.session.events.register("before-send", latency)
    return clients


def run_plan(clients: Any, latency: Latency, gpu: str, workers: int | None) -> tuple[float, int, str, int]:
    """Plan once; return (seconds, AWS calls, chosen placement)."""
    from geusemaker.catalog import load_catalog
    from geusemaker.config_io import parse_config
    from geusemaker.planning.planner import Planner

    before = latency.calls
    planner = Planner.create(clients, load_catalog())
    if workers is not None:
        planner.max_workers = workers
    config = parse_config(f"name: bench\nregion: auto\ncompute:\n  gpu: {gpu}\n")
    start = time.perf_counter()
    plan = planner.plan(config)
    elapsed = time.perf_counter() - start
    p = plan.placement
    regions = len(plan.extra["regions_considered"])
    chosen = f"{p.instance_type} {p.market} {p.region}/{p.availability_zone} ${p.instance_hourly_usd}/h"
    return elapsed, latency.calls - before, chosen, regions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--gpu", default="t4", help="t4 is offered in the most snapshot regions (20)")
    args = parser.parse_args()
    os.environ["GEUSEMAKER_HOME"] = tempfile.mkdtemp(prefix="gm-bench-")
    from geusemaker.catalog import load_catalog
    from geusemaker.sandbox import control

    info = control.start()
    assert info.endpoint
    try:
        latency = Latency()
        run_plan(new_clients(info.endpoint, latency), latency, args.gpu, None)  # warm the sandbox's regions
        latency.seconds = args.latency_ms / 1000
        clients = new_clients(info.endpoint, latency)
        cold, calls, chosen, regions = run_plan(clients, latency, args.gpu, None)
        warm, _, _, _ = run_plan(clients, latency, args.gpu, None)
        serial, _, _, _ = run_plan(clients, latency, args.gpu, 1)
    finally:
        control.stop()
    known = len(load_catalog().regions())
    print(f"region: auto, gpu {args.gpu}, {regions} of {known} snapshot regions, {args.latency_ms:g} ms per AWS call")
    print(f"  AWS calls per plan                 {calls}")
    print(f"  concurrent, cold process clients   {cold:6.2f} s  (includes building ~20 botocore clients)")
    print(f"  concurrent, clients built          {warm:6.2f} s")
    print(f"  serial (1 worker), clients built   {serial:6.2f} s  ({serial / warm:.1f}x the concurrent time)")
    print(f"  chosen                             {chosen}")
    verdict = "OK" if warm <= 2.0 else "TOO SLOW"
    print(f"target <= 2 s: {verdict}")
    return 0 if warm <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
