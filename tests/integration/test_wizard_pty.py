"""One end-to-end wizard run through a real pseudo-terminal (pexpect) that deploys to the sandbox, then destroys."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pexpect

from geusemaker.catalog import load_catalog
from tests.awsfakes import count_resources
from tests.conftest import run_cli

# "j" moves down in a select like the arrow key, without an escape sequence that a busy machine could
# deliver in two reads (a lone ESC would cancel the wizard).
DOWN, ENTER, CLEAR = "j", "\r", "\x15"
#: How long one prompt may take to appear: a cold Python start-up on a loaded two-core machine.
PTY_TIMEOUT_S = 120


def test_wizard_deploys_through_a_pty(tmp_path: Path, shared_sandbox: str, gm_home: Path) -> None:
    before = count_resources(shared_sandbox)
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "GEUSEMAKER_HOME": str(gm_home), "COLUMNS": "160", "LINES": "50"}
    child = pexpect.spawn(
        sys.executable, ["-m", "geusemaker", "--sandbox", "deploy", "--save-config", str(tmp_path / "pty.yaml")],
        env=env, encoding="utf-8", timeout=PTY_TIMEOUT_S, dimensions=(50, 160),
    )  # fmt: skip
    child.logfile_read = (tmp_path / "pty.log").open("w")
    region_index = load_catalog().regions().index("us-east-1") + 1
    steps = [
        ("Stack name", CLEAR + "pty-e2e" + ENTER),
        ("Region", DOWN * region_index + ENTER),
        ("GPU", ENTER),
        ("How many GPUs", ENTER),
        ("Market", ENTER),
        ("Services", ENTER),
        ("Ollama models", ENTER),
        ("Root volume", ENTER),
        ("Service data", DOWN * 2 + ENTER),
        ("Access", ENTER),
        ("Budget", ENTER),
        ("idle minutes", ENTER),
        ("hours in any case", ENTER),
    ]
    for prompt, keys in steps:
        child.expect(prompt)
        child.send(keys)
    child.expect(r"Create pty-e2e at about \$")
    child.sendline("y")
    child.expect("pty-e2e is up", timeout=2 * PTY_TIMEOUT_S)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, (tmp_path / "pty.log").read_text()[-2000:]
    assert "name: pty-e2e" in (tmp_path / "pty.yaml").read_text()
    destroyed = run_cli("--sandbox", "destroy", "pty-e2e", "--yes", "--delete-data")
    assert destroyed.code == 0, destroyed.err
    assert count_resources(shared_sandbox) == before


def test_ctrl_c_in_the_pty_exits_130(gm_home: Path, shared_sandbox: str) -> None:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "GEUSEMAKER_HOME": str(gm_home)}
    child = pexpect.spawn(
        sys.executable, ["-m", "geusemaker", "--sandbox", "deploy"], env=env, encoding="utf-8", timeout=PTY_TIMEOUT_S
    )
    child.expect("Stack name")
    child.send(CLEAR + "esc-test" + ENTER)
    child.expect("Region")
    child.send("\x1b")  # Esc cancels like Ctrl-C
    child.expect("cancelled: nothing was created")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert run_cli("status", "-o", "json").out.strip() == "[]"


def test_no_at_the_confirmation_is_a_refusal(tmp_path: Path, gm_home: Path, shared_sandbox: str) -> None:
    before = count_resources(shared_sandbox)
    config = tmp_path / "declined.yaml"
    config.write_text("name: declined\nregion: us-east-1\ncompute:\n  gpu: t4\n")
    env = {**os.environ, "GEUSEMAKER_HOME": str(gm_home)}
    child = pexpect.spawn(
        sys.executable, ["-m", "geusemaker", "--sandbox", "deploy", "-c", str(config)], env=env, encoding="utf-8",
        timeout=PTY_TIMEOUT_S,
    )  # fmt: skip
    child.logfile_read = io.StringIO()
    child.expect(r"Create declined at about \$")
    child.sendline("n")
    child.expect("nothing was created")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1, "a refusal is not an interruption (130)"
    assert "interrupted" not in child.logfile_read.getvalue()
    assert run_cli("status", "-o", "json").out.strip() == "[]"
    assert count_resources(shared_sandbox) == before
