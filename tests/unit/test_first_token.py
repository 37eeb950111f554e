"""Time to first token: the report from the command's start, its phases and the instance's status.json."""

from __future__ import annotations

import itertools

import pytest

from geusemaker.cli.first_token import CommandClock
from geusemaker.health.ttft import FirstToken, Phase, duration, first_token
from geusemaker.orchestration.executor import StepEvent

STARTED = 1_795_000_000.0
COMMAND = {"plan": 8.4, "create resources": 41.0, "launch": 19.6, "wait": 303.0}
BOOT = {
    "step": "complete",
    "state": "done",
    "first_token_at": STARTED + 372.25,
    "phases": {
        "images": {"start": STARTED + 80, "end": STARTED + 250},
        "models": {"start": STARTED + 120, "end": STARTED + 362},
        "services": {"start": STARTED + 250, "end": STARTED + 281},
        "first-token": {"start": STARTED + 362, "end": STARTED + 372.3},
        "half": {"start": STARTED + 1},  # an unfinished phase is left out
    },
}


def test_the_time_runs_from_the_command_start_to_the_first_token_with_the_longest_boot_phases() -> None:
    report = first_token(STARTED, COMMAND, BOOT, model="llama3.2:3b")
    assert report.seconds == pytest.approx(372.25)
    assert report.reason == ""
    assert [(p.name, p.source) for p in report.phases] == [
        ("plan", "command"), ("create resources", "command"), ("launch", "command"), ("wait", "command"),
        ("models", "instance"), ("images", "instance"), ("services", "instance"),
    ]  # fmt: skip
    assert report.as_json() == {
        "time_to_first_token_s": 372.2,
        "time_to_first_token_reason": None,
        "phases": [
            {"name": "plan", "seconds": 8.4, "source": "command"},
            {"name": "create resources", "seconds": 41.0, "source": "command"},
            {"name": "launch", "seconds": 19.6, "source": "command"},
            {"name": "wait", "seconds": 303.0, "source": "command"},
            {"name": "models", "seconds": 242.0, "source": "instance"},
            {"name": "images", "seconds": 170.0, "source": "instance"},
            {"name": "services", "seconds": 31.0, "source": "instance"},
        ],
    }
    assert report.text() == (
        "Time to first token: 6 min 12 s (plan 8.4 s, create resources 41 s, launch 20 s, wait 5 min 3 s; "
        "on the instance: models 4 min 2 s, images 2 min 50 s, services 31 s)"
    )


@pytest.mark.parametrize(
    ("boot", "sandbox", "model", "reason"),
    [
        (BOOT, True, "llama3.2:3b", "the sandbox boots no instance"),
        (BOOT, False, None, "no Ollama model is configured"),
        (None, False, "llama3.2:3b", "the instance's boot status could not be read"),
        ({**BOOT, "first_token_at": STARTED - 5}, False, "m", "the instance's clock is behind this computer's"),
        ({"step": "complete", "state": "done", "first_token_error": "m: could not be pulled"}, False, "m",
         "m gave no token: m: could not be pulled"),
        ({"step": "docker", "state": "failed"}, False, "m", "the boot failed at step docker"),
        ({"step": "complete", "state": "done"}, False, "m", "m had not answered yet when the wait ended"),
        ({**BOOT, "first_token_at": True}, False, "m", "m had not answered yet when the wait ended"),
    ],
)  # fmt: skip
def test_without_a_first_token_the_report_says_why_and_gives_no_number(
    boot: dict[str, object] | None, sandbox: bool, model: str | None, reason: str
) -> None:
    report = first_token(STARTED, {"plan": 1.5}, boot, sandbox=sandbox, model=model)
    assert (report.seconds, report.reason) == (None, reason)
    assert report.as_json()["time_to_first_token_s"] is None
    assert report.as_json()["time_to_first_token_reason"] == reason
    assert report.text().startswith(f"Time to first token: not measured ({reason}) (plan 1.5 s")


def test_a_damaged_status_file_yields_no_phases_rather_than_an_error() -> None:
    boot = {"phases": {"images": "soon", "models": {"start": "x", "end": 3}, "services": {"start": 9, "end": 2}}}
    assert first_token(STARTED, {}, boot, model="m").phases == ()
    assert FirstToken(None, "r", ()).text() == "Time to first token: not measured (r)"
    assert Phase("x", 1.04, "command").as_json() == {"name": "x", "seconds": 1.0, "source": "command"}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0 s"), (9.94, "9.9 s"), (10.4, "10 s"), (59.4, "59 s"), (59.6, "1 min 0 s"), (372.2, "6 min 12 s"),
     (3600, "1 h 0 min"), (3 * 3600 + 25 * 60 + 7, "3 h 25 min")],
)  # fmt: skip
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_the_command_clock_splits_the_executor_run_at_the_launch_step() -> None:
    ticks = itertools.count(start=100.0, step=1.0)
    clock = CommandClock(wall=lambda: STARTED, clock=lambda: next(ticks))
    seen: list[str] = []
    with clock.phase("plan"):  # 100 -> 101
        pass
    with clock.apply():  # begins at 102
        on_event = clock.steps(lambda event: seen.append(f"{event.step} {event.state}"))
        on_event(StepEvent("vpc", "running", 0.0))
        on_event(StepEvent("vpc", "done", 1.0))
        on_event(StepEvent("instance", "running", 0.0))  # 103
        on_event(StepEvent("instance", "done", 5.0))
    # ends at 104
    assert clock.started_at == STARTED
    assert clock.phases == {"plan": 1.0, "create resources": 1.0, "launch": 1.0}
    assert seen == ["vpc running", "vpc done", "instance running", "instance done"], "the display sees every event"


def test_a_run_that_fails_before_the_launch_counts_as_creating_resources() -> None:
    ticks = itertools.count(start=0.0, step=2.0)
    clock = CommandClock(clock=lambda: next(ticks))
    with pytest.raises(RuntimeError), clock.apply():
        raise RuntimeError("the vpc step failed")
    assert clock.phases == {"create resources": 2.0}


def test_time_spent_answering_questions_is_not_counted() -> None:
    ticks = iter([0.0, 100.0, 100.0, 102.0])  # 100 s at the prompt, then a 2 s plan
    clock = CommandClock(wall=lambda: 1_000.0, clock=lambda: next(ticks))
    with clock.questions():
        pass
    with clock.phase("plan"):
        pass
    assert clock.started_at == 1_100.0
    assert clock.phases == {"plan": 2.0}
