"""What a user sees at 80 columns: the plan, the cost, the live panel of deploy and destroy."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from rich.console import Console

from geusemaker.catalog import load_catalog
from geusemaker.cli import render
from geusemaker.cli.plan_view import collapse_notes, show_cost, show_plan
from geusemaker.cli.progress import StepDisplay
from geusemaker.config_io import parse_config, validate_data
from geusemaker.models.plan import Plan
from geusemaker.orchestration.executor import StepEvent
from geusemaker.planning.planner import Planner
from geusemaker.planning.steps import plan_steps
from tests.awsfakes import inprocess_aws

WIDTH = 80


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's consoles as on an 80-column terminal (COLUMNS, as a shell sets it)."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    render.out.cache_clear()
    render.err.cache_clear()
    yield
    render.out.cache_clear()
    render.err.cache_clear()


def _plan(document: dict) -> Plan:
    with inprocess_aws() as clients:
        return Planner.create(clients, load_catalog()).plan(validate_data(document, "test"))


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_the_plan_fits_80_columns_and_keeps_every_amount(narrow: None, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan({"name": "narrow", "region": "us-east-1", "compute": {"gpu": "t4"}})
    show_plan(plan)
    lines = _lines(capsys.readouterr().out)
    assert max(len(line) for line in lines) <= WIDTH, [line for line in lines if len(line) > WIDTH]
    text = "\n".join(lines)
    for item in plan.cost.items:
        assert render.usd(item.hourly_usd) in text, item.name
    assert render.usd(plan.cost.hourly_usd) in text
    assert render.usd(plan.placement.instance_hourly_usd) in text
    assert "…" not in text, "nothing is cut off"


def test_the_cost_table_keeps_amounts_with_long_sources(narrow: None, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan({"name": "narrow", "region": "us-east-1", "compute": {"gpu": "t4"}})
    show_cost(plan.cost)
    text = capsys.readouterr().out
    amounts = re.findall(r"\$\d+\.\d{4}\b", text)
    assert len(amounts) >= len(plan.cost.items) + 1
    assert all(len(line.rstrip()) <= WIDTH for line in text.splitlines())


def test_repeated_region_notes_become_one_line() -> None:
    counts = [("us-east-1", 24), ("us-west-2", 16), ("eu-west-1", 12), ("ap-south-1", 12), ("ca-central-1", 12)]
    notes = [
        f"{region}: live spot prices missing or implausible for {n} type/AZ pairs; used the snapshot"
        for region, n in counts
    ]
    notes += ["Pricing API unavailable (denied); using the snapshot", "us-east-2: quota L-DB2E81BA unreadable (x)"]
    lines = collapse_notes(notes)
    assert lines == [
        "5 regions (us-east-1, us-west-2, eu-west-1, ap-south-1 and 1 more): live spot prices missing or "
        "implausible for 76 type/AZ pairs; used the snapshot",
        "Pricing API unavailable (denied); using the snapshot",
        "us-east-2: quota L-DB2E81BA unreadable (x)",
    ]


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=WIDTH, color_system=None, highlight=False), buffer


def test_the_live_destroy_panel_shows_its_progress_not_an_empty_table() -> None:
    console, buffer = _terminal()
    with StepDisplay([], "Destroying demo", console=console) as display:
        display.progress("instance", "deleting 1 instance")
        display.progress("vpc", "deleting 1 vpc")
    final = buffer.getvalue().split("\x1b[2K")[-1]  # the last frame the panel drew
    assert "Destroying demo" in final and "instance: deleting 1 instance" in final and "vpc: deleting 1 vpc" in final
    assert final.index("Destroying demo") < final.index("instance: deleting"), "progress under its title"
    assert "STEP" not in final and "TIME" not in final, "no empty table header"


def test_the_live_deploy_panel_fits_80_columns_with_progress_under_the_steps() -> None:
    console, buffer = _terminal()
    config = parse_config("name: demo\nstorage:\n  data: ebs\n")
    steps = [s for s in plan_steps(config) if s.id in {"launch-template", "instance", "data-volume"}]
    with StepDisplay(steps, "Deploying demo", console=console) as display:
        display.event(StepEvent("launch-template", "done", 0.4))
        display.event(StepEvent("instance", "failed", 1.2, "interrupted"))
        display.progress("rolling back", "interrupted: deleting everything created so far")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    final = plain.split("Deploying demo")[-1]
    assert "rolling back" in final and final.index("launch instance") < final.index("rolling back")
    assert all(len(line.rstrip()) <= WIDTH for line in final.splitlines())
