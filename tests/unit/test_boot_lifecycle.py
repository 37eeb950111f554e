"""A stack that outlives its instances, as the boot scripts do it (bash in a temporary root, tests/bootsim.py):
the data volume found by its tags and attached, the drain on a spot notice, the deadline, no second download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geusemaker.config_io import validate_data
from geusemaker.models.services import generate_secret_values, parameter_path
from geusemaker.userdata.generator import BootContext, render
from tests.bootsim import BootSim

STACK_ID = "5f0c2b1e9d8a4c7b8e6f1a2b3c4d5e6f"
INSTANCE = "i-0123456789abcdef0"
VOLUME = "vol-0aa11bb22cc33dd44"
EBS: dict[str, Any] = {"storage": {"data": "ebs", "ebs_gb": 50}, "tier": "cpu", "services": ["ollama", "postgres"]}


def _sim(tmp_path: Path, *, spot: bool = False, stack_id: str = STACK_ID, **config: Any) -> BootSim:
    document = {"name": "sim", "region": "eu-west-1", **config}
    stack = validate_data(document)
    sim = BootSim(tmp_path)
    sim.install(render(BootContext(stack, "eu-west-1", spot=spot, stack_id=stack_id)))
    parameters = generate_secret_values(stack.services)
    sim.set_secrets(parameters, parameter_path("sim"))
    _imds(sim, "instance-id", INSTANCE)
    _imds(sim, "placement/availability-zone", "eu-west-1b")
    return sim


def _imds(sim: BootSim, path: str, body: str) -> None:
    (sim.stubs / f"imds-{path.replace('/', '-')}").write_text(body)


def _volume(sim: BootSim, *rows: str) -> Path:
    """The volumes DescribeVolumes answers (id, state, attached instance), and the NVMe link of the first."""
    (sim.stubs / "ec2-volumes.txt").write_text("".join(f"{row}\n" for row in rows))
    disk = sim.base / "nvme1n1"
    disk.write_text("")
    link = sim.root / "dev/disk/by-id" / f"nvme-Amazon_Elastic_Block_Store_{VOLUME.replace('-', '')}"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(disk)
    return disk


def _aws(sim: BootSim, verb: str) -> list[str]:
    return [call for call in sim.calls() if call.startswith(f"aws ec2 {verb}")]


# -- the data volume ------------------------------------------------------------------------------


def test_the_boot_finds_the_stacks_volume_by_its_tags_in_its_zone_attaches_formats_and_mounts_it(
    tmp_path: Path,
) -> None:
    sim = _sim(tmp_path, **EBS)
    disk = _volume(sim, f"{VOLUME}\tavailable\tNone")
    assert sim.run().returncode == 0, sim.log()
    (describe,) = _aws(sim, "describe-volumes")
    for expected in (
        f"Name=tag:geusemaker:stack-id,Values={STACK_ID}",
        "Name=tag:geusemaker:kind,Values=data-volume",
        "Name=tag:geusemaker:deployment,Values=sim",
        "Name=availability-zone,Values=eu-west-1b",
    ):
        assert expected in describe
    assert _aws(sim, "attach-volume") == [
        f"aws ec2 attach-volume --region eu-west-1 --volume-id {VOLUME} --instance-id {INSTANCE} --device /dev/sdf"
    ]
    calls = sim.calls()
    assert f"mkfs.ext4 -q -L gm-data {disk}" in calls
    assert f"mount {disk} {sim.root}/opt/geusemaker/data" in calls
    assert (sim.root / "var/lib/geusemaker/data-volume").read_text().strip() == VOLUME
    daemon = json.loads((sim.root / "etc/docker/daemon.json").read_text())
    assert daemon["data-root"] == "/opt/geusemaker/data/docker", "images must live on the data volume"
    assert calls.index(f"mount {disk} {sim.root}/opt/geusemaker/data") < calls.index("systemctl restart docker")


def test_a_volume_attached_here_already_is_not_attached_again_and_its_data_never_reformatted(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    disk = _volume(sim, f"{VOLUME}\tin-use\t{INSTANCE}")
    (sim.stubs / "blkid-exit").write_text("0")  # a file system is there: the stack's data
    assert sim.run().returncode == 0, sim.log()
    assert _aws(sim, "attach-volume") == []
    assert not any(call.startswith("mkfs") for call in sim.calls())
    assert f"mount {disk} {sim.root}/opt/geusemaker/data" in sim.calls()
    assert f"data volume {disk}: file system found, kept" in sim.log()


def test_a_volume_the_probe_cannot_read_is_never_formatted(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    _volume(sim, f"{VOLUME}\tavailable\tNone")
    (sim.stubs / "blkid-exit").write_text("8")  # an I/O error, not "no file system"
    assert sim.run().returncode != 0
    status = sim.status()
    assert (status["step"], status["state"]) == ("storage", "failed")
    assert "not formatting it" in str(status["error"])
    assert not any(call.startswith("mkfs") for call in sim.calls())


def test_a_volume_still_held_by_the_previous_instance_is_attached_once_released(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    _volume(sim, f"{VOLUME}\tin-use\ti-0old")
    assert sim.run().returncode == 0, sim.log()
    assert f"aws ec2 describe-volumes --region eu-west-1 --volume-ids {VOLUME}" in " ".join(sim.calls())
    assert len(_aws(sim, "attach-volume")) == 1
    assert "waiting for it to be released" in sim.log()


def test_a_volume_the_launch_attached_here_while_the_boot_waited_is_not_attached_again(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    _volume(sim, f"{VOLUME}\tin-use\ti-0old")
    (sim.stubs / "ec2-volume-state.txt").write_text(f"attaching\t{INSTANCE}\n")
    assert sim.run().returncode == 0, sim.log()
    assert _aws(sim, "attach-volume") == []
    assert "already attached to this instance" in sim.log()


def test_the_boot_waits_for_the_volume_as_long_as_the_groups_grace_then_names_its_holder(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    _volume(sim, f"{VOLUME}\tin-use\ti-0old")
    (sim.stubs / "ec2-volume-state.txt").write_text("in-use\ti-0old\n")
    assert sim.run().returncode != 0
    assert len([c for c in _aws(sim, "describe-volumes") if "--volume-ids" in c]) == 90
    assert "was not released by i-0old" in str(sim.status()["error"])
    assert _aws(sim, "attach-volume") == []


def test_two_data_volumes_of_one_stack_in_the_zone_stop_the_boot_and_are_named(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS)
    _volume(sim, f"{VOLUME}\tavailable\tNone", "vol-0ffff\tavailable\tNone")
    assert sim.run().returncode != 0
    error = str(sim.status()["error"])
    assert "several data volumes" in error and VOLUME in error and "vol-0ffff" in error
    assert _aws(sim, "attach-volume") == [] and not any(c.startswith("mkfs") for c in sim.calls())


# -- the drain ------------------------------------------------------------------------------------


def _booted(tmp_path: Path, **config: Any) -> BootSim:
    sim = _sim(tmp_path, spot=True, **{**EBS, **config})
    _volume(sim, f"{VOLUME}\tavailable\tNone")
    assert sim.run().returncode == 0, sim.log()
    (sim.stubs / "mounted").write_text("")
    (sim.stubs / "calls.log").write_text("")
    return sim


def test_a_spot_notice_drains_the_stack_then_shuts_down(tmp_path: Path) -> None:
    sim = _booted(tmp_path)
    notice = sim.root / "opt/geusemaker/notice.sh"
    assert sim.run(notice).returncode == 0
    assert [c for c in sim.calls() if not c.startswith("curl")] == [], "no notice, nothing done"
    action = {"action": "terminate", "time": "2026-11-25T13:02:00Z"}
    _imds(sim, "spot/instance-action", json.dumps(action))
    assert sim.run(notice).returncode == 0, sim.log()
    calls = [c for c in sim.calls() if not c.startswith("curl")]
    data = f"{sim.root}/opt/geusemaker/data"
    assert calls == [
        "systemctl stop geusemaker-guard.timer geusemaker-models.service",
        f"docker compose -p geusemaker --project-directory {sim.root}/opt/geusemaker --env-file "
        f"{sim.root}/etc/geusemaker/secrets.env -f {sim.root}/opt/geusemaker/docker-compose.yml stop -t 45",
        "systemctl stop geusemaker-stack.service docker.service docker.socket",
        f"mountpoint -q {data}",
        "sync ",
        f"umount {data}",
        f"aws ec2 detach-volume --region eu-west-1 --volume-id {VOLUME}",
        "shutdown -h now GeuseMaker: drained after spot notice spot/instance-action",
    ]
    status = sim.status()
    assert status["instance-action"] == action
    assert (status["step"], status["state"]) == ("complete", "done"), "the boot's own record stays"
    drain = status["drain"]
    assert (drain["state"], drain["error"]) == ("done", None)
    assert drain["reason"] == "spot notice spot/instance-action"
    assert drain["started"] <= drain["containers_stopped"] <= drain["finished"]
    assert drain["seconds"] == drain["finished"] - drain["started"]
    log = sim.log()
    assert "drain: start (spot notice spot/instance-action)" in log and "drain: data volume " + VOLUME in log


def test_a_rebalance_recommendation_drains_too_and_a_drain_runs_once(tmp_path: Path) -> None:
    sim = _booted(tmp_path)
    _imds(sim, "events/recommendations/rebalance", '{"noticeTime": "2026-11-25T13:00:00Z"}')
    assert sim.run(sim.root / "opt/geusemaker/notice.sh").returncode == 0, sim.log()
    assert len(_aws(sim, "detach-volume")) == 1
    assert sim.run(sim.root / "opt/geusemaker/drain.sh").returncode == 0
    assert len(_aws(sim, "detach-volume")) == 1, "a second drain must do nothing"


def test_a_drain_that_cannot_unmount_says_so_and_never_detaches_a_mounted_volume(tmp_path: Path) -> None:
    sim = _booted(tmp_path)
    sim.fail("umount")
    assert sim.run(sim.root / "opt/geusemaker/drain.sh").returncode != 0
    drain = sim.status()["drain"]
    assert drain["state"] == "failed" and "could not unmount" in drain["error"], drain
    assert _aws(sim, "detach-volume") == []


def test_on_demand_stacks_have_no_notice_watcher() -> None:
    userdata = render(BootContext(validate_data({"name": "s", **EBS}), "eu-west-1", stack_id=STACK_ID))
    assert "/opt/geusemaker/notice.sh" not in userdata.files
    assert "notice_enable" not in userdata.parts["boot.sh"]


# -- the guard: deadline, and a stop that keeps the data ------------------------------------------


def _guard(sim: BootSim, now: int, uptime_s: int = 600) -> None:
    (sim.base / "uptime").write_text(f"{uptime_s}.00 0\n")
    result = sim.run(sim.root / "opt/geusemaker/guard.sh", GM_NOW=str(now), GM_UPTIME_FILE=str(sim.base / "uptime"))
    assert result.returncode == 0, result.stderr


def _shutdowns(sim: BootSim) -> list[str]:
    return [c for c in sim.calls() if c.startswith("shutdown")]


@pytest.mark.parametrize("written", ["1800007200", "2027-01-15T08:00:00Z"])
def test_max_runtime_is_a_deadline_from_deploy_read_from_ssm_not_this_boots_uptime(
    tmp_path: Path, written: str
) -> None:
    sim = _booted(tmp_path, lifecycle={"idle_stop_minutes": 0, "max_runtime_hours": 2})
    deadline = 1_800_007_200 if written.isdigit() else 1_800_000_000 + 2 * 3600
    if not written.isdigit():
        deadline = int(__import__("datetime").datetime.fromisoformat(written).timestamp())
    with (sim.stubs / "ssm-parameters.txt").open("a") as parameters:
        parameters.write(f"/geusemaker/sim/deadline\t{written}\n")
    _guard(sim, deadline - 60, uptime_s=30)
    assert _shutdowns(sim) == []
    sim.reboot()  # a start: a new boot, the same deadline
    _guard(sim, deadline - 1, uptime_s=5 * 3600)  # the uptime would have passed a per-boot limit long ago
    assert _shutdowns(sim) == []
    _guard(sim, deadline, uptime_s=10)
    assert _shutdowns(sim), "the deadline passed"
    assert "max_runtime_hours (2 h) reached: deadline" in str(sim.status()["error"])


def test_without_a_deadline_parameter_the_guard_counts_this_boots_uptime(tmp_path: Path) -> None:
    sim = _booted(tmp_path, lifecycle={"idle_stop_minutes": 0, "max_runtime_hours": 1})
    _guard(sim, 1, uptime_s=3599)
    assert _shutdowns(sim) == []
    _guard(sim, 2, uptime_s=3600)
    assert _shutdowns(sim)
    assert "deadline not set" in sim.log()


def test_an_idle_stop_on_spot_drains_before_it_shuts_down(tmp_path: Path) -> None:
    sim = _booted(tmp_path, lifecycle={"idle_stop_minutes": 10})
    _guard(sim, 1_800_000_000)
    _guard(sim, 1_800_000_000 + 600)
    calls = sim.calls()
    detach = calls.index(f"aws ec2 detach-volume --region eu-west-1 --volume-id {VOLUME}")
    assert calls[-1].startswith("shutdown -h now GeuseMaker: idle for 10 minutes") and detach < len(calls) - 1
    assert sim.status()["drain"]["reason"].startswith("guard: idle for 10 minutes")


@pytest.mark.parametrize("spot", [True, False], ids=["spot", "on-demand"])
def test_the_guard_on_a_group_member_drains_then_scales_the_group_to_zero_and_never_shuts_down(
    tmp_path: Path, spot: bool
) -> None:
    sim = _sim(tmp_path, spot=spot, **{**EBS, "lifecycle": {"idle_stop_minutes": 10}})
    _volume(sim, f"{VOLUME}\tavailable\tNone")
    assert sim.run().returncode == 0, sim.log()
    (sim.stubs / "mounted").write_text("")
    (sim.stubs / "calls.log").write_text("")
    (sim.stubs / "asg-group").write_text("gm-sim-5f0c2b1e\n")
    _guard(sim, 1_800_000_000)
    _guard(sim, 1_800_000_000 + 600)
    calls = sim.calls()
    detach = calls.index(f"aws ec2 detach-volume --region eu-west-1 --volume-id {VOLUME}")
    scale = calls.index(
        f"aws autoscaling terminate-instance-in-auto-scaling-group --region eu-west-1 --instance-id {INSTANCE}"
        " --should-decrement-desired-capacity"
    )
    assert detach < scale, "drained (data volume released) before the instance goes"
    assert _shutdowns(sim) == [], "a shutdown would be undone by the group: it would replace the instance"
    assert "group gm-sim-5f0c2b1e scaled to zero" in sim.log()


def test_a_boot_that_fails_before_its_storage_is_stopped_by_the_guard_after_the_idle_window(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **{**EBS, "lifecycle": {"idle_stop_minutes": 10}})
    _volume(sim, f"{VOLUME}\tavailable\tNone", "vol-0ffff\tavailable\tNone")  # the storage step fails
    assert sim.run().returncode != 0
    assert (sim.status()["step"], sim.status()["state"]) == ("storage", "failed")
    calls = sim.calls()
    enabled = calls.index("systemctl enable --now geusemaker-guard.timer")
    assert enabled < next(i for i, c in enumerate(calls) if c.startswith("aws ec2 describe-volumes")), "before storage"
    (sim.stubs / "calls.log").write_text("")
    (sim.stubs / "asg-group").write_text("gm-sim-5f0c2b1e\n")
    for missing in ("docker", "systemctl"):  # never installed / no such unit: the boot failed before them
        sim.fail(missing)
    _guard(sim, 1_800_000_000)
    assert sim.calls().count("shutdown") == 0 and not any("terminate-instance" in c for c in sim.calls())
    _guard(sim, 1_800_000_000 + 600)
    assert sim.status()["drain"]["state"] == "done", sim.log()
    assert any("terminate-instance-in-auto-scaling-group" in c for c in sim.calls()), "the group scaled to zero"
    assert _aws(sim, "detach-volume") == [] and _shutdowns(sim) == []


def test_a_guard_that_cannot_scale_its_group_to_zero_retries_instead_of_shutting_down(tmp_path: Path) -> None:
    sim = _booted(tmp_path, lifecycle={"idle_stop_minutes": 0, "max_runtime_hours": 1})
    (sim.stubs / "asg-group").write_text("gm-sim-5f0c2b1e\n")
    (sim.stubs / "fail-asg-terminate").write_text("")
    (sim.base / "uptime").write_text("3600.00 0\n")
    result = sim.run(sim.root / "opt/geusemaker/guard.sh", GM_NOW="2", GM_UPTIME_FILE=str(sim.base / "uptime"))
    assert result.returncode == 1
    assert _shutdowns(sim) == []
    assert "systemctl start geusemaker-guard.timer" in sim.calls(), "the next minute tries again"
    assert "cannot scale group gm-sim-5f0c2b1e to zero" in str(sim.status()["error"])


# -- downloads ------------------------------------------------------------------------------------


def test_a_cold_boot_pulls_the_images_and_a_boot_on_the_same_data_pulls_nothing(tmp_path: Path) -> None:
    sim = _sim(tmp_path, **EBS, ollama={"models": ["llama3.2:3b"]})
    _volume(sim, f"{VOLUME}\tavailable\tNone")
    (sim.stubs / "no-images").write_text("")
    pull_models = sim.root / "opt/geusemaker/pull-models.sh"
    assert sim.run().returncode == 0, sim.log()
    assert sim.run(pull_models, GM_PULL_DELAY="0").returncode == 0, sim.log()
    first = sim.calls()
    assert any(c.endswith("pull --quiet ollama") for c in first)
    assert "docker exec geusemaker-ollama-1 ollama pull llama3.2:3b" in first
    # a new instance from the same data volume: the images and the model are on it
    (sim.stubs / "no-images").unlink()
    (sim.stubs / "model-llama3.2:3b").write_text("")
    (sim.stubs / "calls.log").write_text("")
    sim.reboot()
    (sim.root / "var/lib/geusemaker/steps").rename(sim.base / "old-steps")  # a new root disk
    assert sim.run().returncode == 0, sim.log()
    assert sim.run(pull_models, GM_PULL_DELAY="0").returncode == 0, sim.log()
    assert not [c for c in sim.calls() if " pull" in c], "a start on the same data downloads nothing"
    assert json.loads((sim.root / "var/lib/geusemaker/models.json").read_text()) == {
        "pulled": "", "present": "llama3.2:3b", "failed": "",
    }  # fmt: skip
    assert "images of ollama: all present, nothing to pull" in sim.log()
