"""gpu.sh's driver check and status report, run for real on an NVIDIA host (skips elsewhere)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from geusemaker.userdata.generator import render_template

pytestmark = pytest.mark.gpu


def test_gpu_step_checks_the_driver_and_records_the_gpus(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "opt/geusemaker").mkdir(parents=True)
    (root / "opt/geusemaker/lib.sh").write_text(render_template("lib.sh.j2"))
    script = tmp_path / "gpu-step.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        '. "${GM_ROOT}/opt/geusemaker/lib.sh"\n' + render_template("gpu.sh.j2") + "\ngm_step gpu gpu_check\n"
    )
    result = subprocess.run(
        ["bash", str(script)], env={"GM_ROOT": str(root), "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    log = (root / "var/log/geusemaker/boot.log").read_text()
    print(log)
    assert result.returncode == 0, log + result.stderr
    status = json.loads((root / "var/lib/geusemaker/status.json").read_text())
    assert status["steps"]["gpu"] == "done"
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    assert status["gpu"]["count"] == listed.count("GPU ") >= 1
    assert status["gpu"]["model"] in listed
    assert status["gpu"]["driver"].count(".") >= 1
    print(json.dumps(status["gpu"]))
