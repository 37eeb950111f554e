#!/usr/bin/env python3
"""Start-up latency of the CLI: medians of `--help`, `gpus`, `status` (10 deployments) and `import boto3`.

    .venv/bin/python scripts/bench_startup.py [--runs 15]

`geusemaker --help` must be faster than importing boto3: commands that never reach AWS do not
import it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def measure(command: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time in seconds over `runs` runs (after one warm-up run)."""
    subprocess.run(command, capture_output=True, check=True, env=env)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def seed_deployments(home: str, count: int) -> None:
    """Fill a state store with `count` running deployments, as `status` would find them."""
    from pathlib import Path

    from geusemaker.state.store import StateStore

    store = StateStore(Path(home) / "state.db")
    for index in range(count):
        name = f"bench-{index}"
        store.upsert_deployment(name, "us-east-1", "running", {"name": name}, None)
        store.update_facts(name, instance_id=f"i-{index:017d}", instance_type="g5.xlarge", market="spot",
                           region="us-east-1", hourly_usd=0.45, launched_at=time.time() - 3600)  # fmt: skip
        for kind in ("vpc", "subnet", "security-group", "instance"):
            store.record(name, kind, f"{kind}-{index}", "us-east-1")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    home = tempfile.mkdtemp(prefix="gm-bench-")
    env = {**os.environ, "GEUSEMAKER_HOME": home}
    seed_deployments(home, 10)
    cases = {
        "geusemaker --help": [python, "-m", "geusemaker", "--help"],
        "geusemaker gpus --output json": [python, "-m", "geusemaker", "gpus", "--output", "json"],
        "geusemaker status --output json (10)": [python, "-m", "geusemaker", "status", "--output", "json"],
        'python -c "import boto3"': [python, "-c", "import boto3"],
        'python -c "pass" (interpreter)': [python, "-c", "pass"],
    }
    results = {name: measure(command, args.runs, env) for name, command in cases.items()}
    width = max(map(len, results))
    print(f"median of {args.runs} runs each")
    for name, seconds in results.items():
        print(f"  {name:<{width}}  {seconds * 1000:7.1f} ms")
    help_ms, boto_ms = results["geusemaker --help"], results['python -c "import boto3"']
    verdict = "OK" if help_ms < boto_ms else "TOO SLOW"
    print(f"--help vs import boto3: {help_ms * 1000:.1f} ms vs {boto_ms * 1000:.1f} ms -> {verdict}")
    return 0 if help_ms < boto_ms else 1


if __name__ == "__main__":
    raise SystemExit(main())
