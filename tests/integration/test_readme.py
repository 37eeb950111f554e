"""The README's follow-up commands work as written against the sandbox, with no AWS credentials at all."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.awsfakes import tagged_resources
from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    block = next(b for b in blocks if "GEUSEMAKER_SANDBOX=1" in b)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.startswith("geusemaker ")]


def test_the_readme_commands_work_against_the_sandbox_without_credentials(
    tmp_path: Path, shared_sandbox: str, gm_home: Path
) -> None:
    commands = _readme_commands()
    assert commands[0] == "geusemaker sandbox start" and commands[-1] == "geusemaker sandbox stop"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "GEUSEMAKER_SANDBOX": "1", "GEUSEMAKER_HOME": str(gm_home),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-creds"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }  # fmt: skip
    regions: list[str] = []
    for command in commands[:-1]:  # the last one would stop the sandbox the other tests share
        proc = _run(shlex.split(command)[1:], tmp_path, env)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        if command.startswith("geusemaker deploy") and "--yes" in command:
            regions = [d["region"] for d in json.loads(_run(["status", "-o", "json"], tmp_path, env).stdout)]
    assert (tmp_path / "build").is_dir() and (tmp_path / "stack.yaml").is_file()
    assert regions, "the README deploys a stack"
    assert tagged_resources(shared_sandbox, "my-llm", regions[0]) == [], "its destroy removes what its deploy made"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geusemaker", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
