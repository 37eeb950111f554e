#!/usr/bin/env python3
"""Deploy wall time vs the critical path of its steps, under a latency model of real AWS waits.

    .venv/bin/python scripts/bench_deploy.py [--scale 0.02]

The model (seconds on real AWS, multiplied by --scale) is injected with a `before-send` hook, so
the real code and botocore run against the sandbox:

    operation                         real AWS   why
    ec2 CreateVpc/CreateSubnet/...    0.5-1 s    control-plane calls
    efs DescribeFileSystems           5 s        file system becomes available
    efs CreateMountTarget             90 s       mount target becomes available
    iam CreateInstanceProfile         10 s       profile propagates to EC2
    ec2 DescribeInstances (waiter)    30 s       instance reaches running
    ec2 CreateFleet                   3 s        capacity is found

It prints the deploy's wall time, the critical-path lower bound (longest dependency chain of the
measured step durations) and the serial sum (all steps one after another). Target: wall <= 1.2 x
critical path.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

MODEL_S = {
    "CreateVpc": 1.0, "ModifyVpcAttribute": 0.3, "CreateSubnet": 1.0, "ModifySubnetAttribute": 0.3,
    "CreateInternetGateway": 0.5, "AttachInternetGateway": 1.0, "CreateRouteTable": 0.5, "CreateRoute": 0.5,
    "AssociateRouteTable": 0.5, "CreateSecurityGroup": 1.0, "AuthorizeSecurityGroupIngress": 0.5,
    "CreateRole": 1.0, "AttachRolePolicy": 0.5, "PutRolePolicy": 0.5, "CreateInstanceProfile": 10.0,
    "AddRoleToInstanceProfile": 0.5, "PutParameter": 0.3, "CreateFileSystem": 1.0, "DescribeFileSystems": 5.0,
    "CreateMountTarget": 90.0, "CreateLaunchTemplate": 0.5, "CreateFleet": 3.0, "DescribeInstances": 30.0,
}  # fmt: skip


class LatencyModel:
    """Sleeps before each modelled call (the DescribeInstances wait only once, like a waiter's first poll)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.armed = False
        self._waited: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, event_name: str = "", **_: Any) -> None:
        if not self.armed:
            return
        operation = event_name.rsplit(".", 1)[-1]
        if operation in {"DescribeInstances", "DescribeFileSystems"}:
            with self._lock:
                if operation in self._waited:
                    return
                self._waited.add(operation)
        time.sleep(MODEL_S.get(operation, 0.0) * self.scale)


def critical_path(steps: list[Any], elapsed: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for step in steps:  # plan steps are in dependency order
        start = max((finish[d] for d in step.depends_on), default=0.0)
        finish[step.id] = start + elapsed.get(step.id, 0.0)
    return max(finish.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02, help="fraction of real AWS time to wait")
    args = parser.parse_args()
    os.environ["GEUSEMAKER_HOME"] = tempfile.mkdtemp(prefix="gm-bench-")
    from geusemaker.catalog import load_catalog
    from geusemaker.config_io import parse_config
    from geusemaker.orchestration.orchestrator import Orchestrator
    from geusemaker.planning.planner import Planner
    from geusemaker.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY, control
    from geusemaker.services.aws import AwsClients, AwsTarget
    from geusemaker.state.store import StateStore

    info = control.start()
    try:
        model = LatencyModel(args.scale)
        clients = AwsClients(
            AwsTarget(region="us-east-1", endpoint_url=info.endpoint, access_key=SANDBOX_ACCESS_KEY,
                      secret_key=SANDBOX_SECRET_KEY, sandbox=True)
        )  # fmt: skip
        clients.session.events.register("before-send", model)
        config = parse_config("name: bench\nregion: us-east-1\ncompute:\n  gpu: t4\n")
        plan = Planner.create(clients, load_catalog()).plan(config)
        elapsed: dict[str, float] = {}
        orchestrator = Orchestrator(
            clients, StateStore(Path(os.environ["GEUSEMAKER_HOME"]) / "state.db"), waiter_delay_s=1,
            on_event=lambda e: elapsed.__setitem__(e.step, e.elapsed_s) if e.state == "done" else None,
        )  # fmt: skip
        model.armed = True
        start = time.perf_counter()
        orchestrator.apply(plan)
        wall = time.perf_counter() - start
        model.armed = False
        orchestrator.destroy("bench")
    finally:
        control.stop()
    steps = list(plan.steps)
    path = critical_path(steps, elapsed)
    serial = sum(elapsed.values())
    print(f"latency model at {args.scale:g} x real AWS; {len(steps)} steps")
    for step in steps:
        print(f"  {step.id:<17} {elapsed.get(step.id, 0):6.2f} s  after {', '.join(step.depends_on) or '-'}")
    print(f"deploy wall time       {wall:6.2f} s")
    print(f"critical path (bound)  {path:6.2f} s   wall / critical path = {wall / path:.2f}")
    print(f"serial sum             {serial:6.2f} s   ({serial / wall:.1f}x the wall time)")
    ok = wall <= 1.2 * path
    print(f"target wall <= 1.2 x critical path: {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
