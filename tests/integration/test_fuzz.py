"""Fuzzing: valid configurations and command lines, mutated differently on every run, never crash the tool.

Each case must end with exit 0, 2 or 3, never "this is a bug", within a time limit and a memory bound.
The seed is printed with any failure; rerun it with GEUSEMAKER_FUZZ_SEED=<seed>; hunt longer with
GEUSEMAKER_FUZZ_SECONDS=<seconds>. Region values are not mutated here (region names have their own
validation and tests).
"""

from __future__ import annotations

import math
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, CliResult

SEED = int(os.environ.get("GEUSEMAKER_FUZZ_SEED", str(time.time_ns() % 2**32)))
#: seconds of offline cases and of planned cases per run (raise GEUSEMAKER_FUZZ_SECONDS for a longer hunt)
OFFLINE_BUDGET_S = float(os.environ.get("GEUSEMAKER_FUZZ_SECONDS", "25"))
PLANNING_BUDGET_S = OFFLINE_BUDGET_S * 0.6
CASE_LIMIT_S = 60
MAX_GROWTH_BYTES = 512 * 1024**2
ALLOWED = {0, 2, 3}
SOURCES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "geusemaker" / "assets" / "stack.example.yaml"]
SPLICES = ["[", "]", "{", "}", ":", "&a", "*a", "!!binary", "\t", "- ", "'", '"', "%", "\x00", "\u2028"]
NOT_MUTATED = {"region"}

ODD_VALUES: list[Any] = [
    "", " ", "x\n", "\t", 0, -1, 1, 7, 10**20, 1e308, -0.0, 1.5, math.inf, True, False, None, [], {}, [None],
    "a" * 5000, "[b]x[/b]", "[/x]", "\x00", "\x1b[31mred", "ünïcødé Ω", "0.0.0.0/0", "::/0", "203.0.113.7/0",
    "10.0.0.0/8", "*", "?", "../../../x", "a/b", "%s%n", "${HOME}", "$(id)", "'; DROP TABLE x;--", "-1", "1e3",
    "llama3.2:3b", "t4", "h100", "g5.xlarge", "spot", "efs", "cidr", "ollama", {"mode": "cidr"},
    ["ollama", "ollama"], "100", "true", "vpc-0123456789abcdef0", {"Name": "x"}, {"a\nb": "c"},
]  # fmt: skip
NEW_KEYS = ["regoin", "gpus", "extra", "Name", "allowed_cidr", "expose", "aws:x", "tags", "0", ""]


class Hang(BaseException):
    """A case ran past its time limit (BaseException: the CLI's own handler must not swallow it)."""


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in NOT_MUTATED:
                yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _mutate_data(rng: random.Random, data: dict[str, Any]) -> Any:
    """One to three structural mutations of a parsed configuration."""
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _leaves(data) if p]
        if not paths:
            return data
        path = rng.choice(paths)
        parent, key = _get(data, path[:-1]), path[-1]
        action = rng.randrange(6)
        if action == 0:
            parent[key] = rng.choice(ODD_VALUES)
        elif action == 1 and isinstance(parent, dict):
            del parent[key]
        elif action == 2 and isinstance(parent, dict):
            parent[rng.choice(NEW_KEYS)] = rng.choice(ODD_VALUES)
        elif action == 3:
            parent[key] = [parent[key]] * rng.randint(2, 30)
        elif action == 4:
            nested: Any = parent[key]
            for _ in range(rng.choice([2, 10, 40])):
                nested = [nested]
            parent[key] = nested
        else:
            value = parent[key]
            parent[key] = value + rng.choice(["x\n", " ", "\t", "\x00", "Ω"]) if isinstance(value, str) else str(value)
    return data


def _mutate_text(rng: random.Random, text: str) -> str:
    """A mutation of the YAML text itself: cut, spliced bytes, aliases, tags, duplicate keys."""
    action = rng.randrange(6)
    at = rng.randrange(len(text) + 1)
    if action == 0:
        return text[:at]
    if action == 1:
        return text[:at] + rng.choice(SPLICES) + text[at:]
    if action == 2:
        bomb = 'x-a: &a ["l","l","l","l","l","l","l","l"]\n' + "".join(
            f"x-{level}: &{level} [{', '.join(['*' + (chr(ord(level) - 1) if level > 'b' else 'a')] * 8)}]\n"
            for level in "bcdefgh"
        )
        return bomb + text
    if action == 3:
        return text + text.splitlines()[0] + "\n" if text.strip() else text
    if action == 4:
        return text.replace(": ", ": !!binary ", 1)
    return text + "\n" + "k:\n " * rng.randint(1, 200) + "v\n"


def _config_text(rng: random.Random) -> str:
    source = rng.choice(SOURCES).read_text(encoding="utf-8")
    if rng.random() < 0.3:
        return _mutate_text(rng, source)
    data = yaml.safe_load(source)
    try:
        return yaml.safe_dump(_mutate_data(rng, data), allow_unicode=rng.random() < 0.5, sort_keys=False)
    except (ValueError, yaml.YAMLError, RecursionError):
        return source


def _odd_path(rng: random.Random, tmp: Path, *, target: bool = False) -> str:
    """A path a user might mistype; as an output `target`, never one that resolves to the current folder."""
    paths = [
        str(tmp / "x[1]" / "y"),
        str(tmp / ("p" * 5000)),
        "/dev/null",
        "/dev/zero",
        str(tmp / "f.yaml"),
        str(tmp / "f.yaml" / "below"),
        str(tmp / "new-folder" / "stack.yaml"),
        "/proc/self/fd/0",
        str(tmp),
    ]
    return rng.choice(paths if target else [*paths, "", "-"])  # fmt: skip


def _command_line(rng: random.Random, config: str, tmp: Path) -> list[str]:
    """A command that reads `config` offline, sometimes with a mutated option."""
    out = str(tmp / f"render-{rng.randrange(10**6)}")
    choices = [
        ["config", "validate", config],
        ["config", "validate", config, "-o", "json"],
        ["render", "--config", config, "--out", out],
        ["render", "--config", config, "--out", out, "--spot", "--driver-install"],
        ["config", "validate", _odd_path(rng, tmp)],
        ["render", "--config", config, "--out", _odd_path(rng, tmp, target=True)],
        ["config", "init", _odd_path(rng, tmp, target=True)],
        ["config", "validate", config, "--output", rng.choice(["yaml", "", "JSON", "table\n", "-1"])],
        ["gpus", "--gpu", str(rng.choice(ODD_VALUES[:30]))],
        ["gpus", "--count", rng.choice(["0", "9", "x", "-1", "1.5", "99999999999999999999"])],
        [rng.choice(["config", "render", "gpus", "cost", "deploy"]), rng.choice(["--bogus", "-Z", "--config"])],
    ]
    return rng.choice(choices)


@pytest.fixture
def with_time_limit() -> Iterator[Callable[[Callable[[], CliResult]], CliResult]]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)

    def limited(call: Callable[[], CliResult]) -> CliResult:
        signal.alarm(CASE_LIMIT_S)
        try:
            return call()
        finally:
            signal.alarm(0)

    yield limited
    signal.signal(signal.SIGALRM, previous)


def _check(result: CliResult, case: str) -> None:
    assert result.code in ALLOWED, f"seed {SEED}: exit {result.code} for {case}\n{result.text[-2000:]}"
    assert "bug" not in result.text and "Traceback" not in result.text, f"seed {SEED}: {case}\n{result.text[-2000:]}"


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_mutated_configs_and_command_lines_offline(cli, tmp_path: Path, with_time_limit) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(SEED)
    start, peak_before, cases = time.monotonic(), _peak_rss_bytes(), 0
    (tmp_path / "f.yaml").write_text("name: s\n")
    while time.monotonic() - start < OFFLINE_BUDGET_S:
        config = tmp_path / f"case-{cases}.yaml"
        config.write_text(_config_text(rng), encoding="utf-8")
        args = _command_line(rng, str(config), tmp_path)
        case = f"{args} with {config.read_text(encoding='utf-8')[:3000]!r}"
        try:
            result = with_time_limit(lambda args=args: cli(*args))
        except Hang:
            pytest.fail(f"seed {SEED}: no answer within {CASE_LIMIT_S} s: {case}")
        _check(result, case)
        cases += 1
    assert cases >= 30, f"only {cases} cases ran in {OFFLINE_BUDGET_S} s"
    growth = _peak_rss_bytes() - peak_before
    assert growth < MAX_GROWTH_BYTES, f"seed {SEED}: peak memory grew by {growth / 1024**2:.0f} MiB"


def test_mutated_configs_planned_against_the_sandbox(cli, tmp_path: Path, shared_sandbox: str, with_time_limit) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(SEED + 1)
    start, cases = time.monotonic(), 0
    while time.monotonic() - start < PLANNING_BUDGET_S or cases < 3:
        config = tmp_path / f"plan-{cases}.yaml"
        data = yaml.safe_load(rng.choice(SOURCES).read_text(encoding="utf-8"))
        data["region"] = "us-east-1"
        config.write_text(yaml.safe_dump(_mutate_data(rng, data), sort_keys=False), encoding="utf-8")
        args = rng.choice(
            [["cost", "--config", str(config)], ["deploy", "--config", str(config), "--dry-run", "-o", "json"]]
        )
        case = f"{args} with {config.read_text(encoding='utf-8')[:3000]!r}"
        try:
            result = with_time_limit(lambda args=args: cli("--sandbox", *args))
        except Hang:
            pytest.fail(f"seed {SEED}: no answer within {CASE_LIMIT_S} s: {case}")
        _check(result, case)
        cases += 1


def test_a_few_mutations_through_the_real_process(tmp_path: Path) -> None:
    """The console entry point, with 1 GiB of address space and a time limit, as a user runs it."""
    rng = random.Random(SEED + 2)
    limit = 1024**3

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for number in range(4):
        config = tmp_path / f"real-{number}.yaml"
        config.write_text(_mutate_text(rng, rng.choice(SOURCES).read_text(encoding="utf-8")), encoding="utf-8")
        args = _command_line(rng, str(config), tmp_path)
        proc = subprocess.run(
            [sys.executable, "-m", "geusemaker", *args],
            capture_output=True, text=True, timeout=CASE_LIMIT_S, preexec_fn=bounded, check=False,
        )  # fmt: skip
        _check(CliResult(proc.returncode, proc.stdout, proc.stderr), f"{args} with {config.read_text()[:3000]!r}")
