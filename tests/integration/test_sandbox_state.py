"""Deployments made in a sandbox that has stopped since: forgotten on request, never blocking a name."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_a_stopped_sandbox_takes_its_deployments_with_it(tmp_path: Path) -> None:
    config = tmp_path / "q.yaml"
    config.write_text("name: quick\nregion: us-east-1\ncompute:\n  gpu: t4\nstorage:\n  data: none\n")
    try:
        assert run_cli("--sandbox", "deploy", "-c", str(config), "--yes").code == 0
        elsewhere = run_cli("destroy", "quick", "--yes", "--delete-data")
        assert elsewhere.code == 2 and "geusemaker --sandbox destroy quick" in elsewhere.err.replace("\n", " ")
        assert run_cli("sandbox", "stop").code == 0

        again = run_cli("--sandbox", "deploy", "-c", str(config), "--yes")  # an interrupted quick start, re-run
        assert again.code == 0, again.err
        assert "sandbox that has stopped" in again.err
        assert run_cli("sandbox", "stop").code == 0
        shown = json.loads(run_cli("status", "-o", "json").out)
        assert [(d["name"], d["status"]) for d in shown] == [("quick", "vanished")]
        assert "geusemaker --sandbox destroy quick" in shown[0]["detail"]

        forgotten = run_cli("--sandbox", "destroy", "quick", "--yes", "--delete-data")
        assert forgotten.code == 0, forgotten.err
        assert "sandbox that has stopped" in forgotten.err and "forgotten" in forgotten.err
        assert json.loads(run_cli("status", "-o", "json").out) == []
    finally:
        run_cli("sandbox", "stop")


def test_a_deployment_is_destroyed_only_through_the_endpoint_it_was_made_through(cli, shared_sandbox: str) -> None:  # type: ignore[no-untyped-def]
    from geusemaker.cli.session import open_store

    store = open_store()
    store.create_deployment("far", "us-east-1", "running", {"name": "far"}, None, endpoint="http://127.0.0.1:9")
    store.record("far", "vpc", "vpc-0123456789abcdef0", "us-east-1")
    result = cli("destroy", "far", "--yes", "--delete-data")
    assert result.code == 2, result.text
    assert "http://127.0.0.1:9" in result.err and "--endpoint-url" in result.err
    store.update_facts("far", instance_id="i-0123456789abcdef0", region="us-east-1")
    refreshed = cli("--sandbox", "status", "far", "--refresh", "-o", "json")
    assert refreshed.code == 0 and "not refreshed" in refreshed.err
    assert json.loads(refreshed.out)[0]["status"] == "running", "another endpoint's answer is not believed"
    in_sandbox = cli("--sandbox", "destroy", "far", "--yes", "--delete-data")
    assert in_sandbox.code == 2 and "was not deployed in the local sandbox" in in_sandbox.err
    record = store.get("far")
    assert record is not None and record.status == "running" and len(store.resources("far")) == 1


def test_credentials_never_appear_in_a_repr() -> None:
    from geusemaker.services.aws import AwsClients, AwsTarget

    target = AwsTarget(access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    for text in (repr(target), repr(AwsClients(target))):
        assert "AKIA" not in text and "wJalr" not in text


def test_a_deployment_is_touched_only_with_credentials_of_the_account_it_was_made_in(cli, shared_sandbox: str) -> None:  # type: ignore[no-untyped-def]
    from geusemaker.cli.session import open_store

    store = open_store()
    store.create_deployment(
        "other-acct", "us-east-1", "running", {"name": "other-acct"}, None,
        endpoint=shared_sandbox, account_id="111111111111",
    )  # fmt: skip
    store.record("other-acct", "vpc", "vpc-0123456789abcdef0", "us-east-1")
    for command in (("destroy", "other-acct", "--yes", "--delete-data"), ("stop", "other-acct")):
        refused = cli("--endpoint-url", shared_sandbox, *command)
        assert refused.code == 2, refused.text
        assert "account 111111111111" in refused.err and "123456789012" in refused.err
    record = store.get("other-acct")
    assert record is not None and record.status == "running" and len(store.resources("other-acct")) == 1

    store.update_facts("other-acct", account_id="123456789012")  # the sandbox's account: now it is ours
    destroyed = cli("--endpoint-url", shared_sandbox, "destroy", "other-acct", "--yes", "--delete-data")
    assert destroyed.code == 0, destroyed.text
    assert store.get("other-acct") is None
