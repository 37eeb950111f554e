"""Hostile inputs are refused quickly with exit 2: alias bombs, deep nesting, pipes, devices, long or odd paths."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliResult

ALIAS_BOMB = "".join(
    f"{chr(97 + level)}: &{chr(97 + level)} [{', '.join([f'*{chr(96 + level)}'] * 9)}]\n" for level in range(1, 9)
)
ALIAS_BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + ALIAS_BOMB + "name: s\n"
MEMORY_LIMIT = 1024**3


def _limited_cli(*args: str, timeout: float = 120) -> CliResult:
    """The real CLI in a subprocess with 1 GiB of address space: a blow-up fails instead of swapping."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    proc = subprocess.run(
        [sys.executable, "-m", "geusemaker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _refused(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.text and "bug" not in result.text, result.text
    for fragment in fragments:
        assert fragment in result.err, f"{fragment!r} not in:\n{result.err}"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 1000
    _refused(_limited_cli("config", "validate", str(path)), "expands to more than 100,000 values")


def test_a_small_legitimate_use_of_aliases_still_works(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "anchors.yaml"
    path.write_text("name: s\nx-common: &models [llama3.2:3b]\nollama:\n  models: *models\n")
    result = cli("config", "validate", str(path))
    assert result.code == 2 and "unknown key 'x-common'" in result.err  # parsed and validated, not refused as a bomb
    path.write_text("name: s\nollama:\n  models: &m [llama3.2:3b]\n")
    assert cli("config", "validate", str(path)).code == 0


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_deep_nesting_is_refused_without_recursion(cli, tmp_path: Path, flow: bool) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "deep.yaml"
    if flow:
        path.write_text("name: s\ntags: " + "[" * 1000 + "]" * 1000 + "\n")
    else:
        keys = "".join(f"{'  ' * depth}k{depth}:\n" for depth in range(1000))
        path.write_text("name: s\n" + keys + "  " * 1000 + "x\n")
    _refused(cli("config", "validate", str(path)), "nests deeper than 32 levels")


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "stack.yaml"
    os.mkfifo(fifo)
    _refused(_limited_cli("config", "validate", str(fifo), timeout=60), "not a regular file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} missing")
    _refused(_limited_cli("render", "--config", device, "--out", "/nonexistent-never-written", timeout=60), device)


def test_big_folder_non_utf8_and_long_paths_are_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.yaml"
    big.write_text("name: s\nollama:\n  models: [" + "m" * 2_000_000 + "]\n")
    _refused(cli("config", "validate", str(big)), "at most 1,048,576")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: s\ntags:\n  team: caf\xe9\n")
    _refused(cli("config", "validate", str(latin)), "not UTF-8")
    _refused(cli("config", "validate", str(tmp_path)), "is a folder")
    long_path = tmp_path / ("x" * 5000)
    result = cli("config", "validate", str(long_path))
    _refused(result, "File name too long")
    assert len(result.err) < 1000


@pytest.mark.parametrize("folder", ["a[b]", "r[/x]", "[bold]z"])
def test_markup_characters_in_paths_are_printed_as_written(cli, tmp_path: Path, folder: str) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ROOT

    config = tmp_path / folder / "stack.yaml"
    config.parent.mkdir(parents=True)
    config.write_text((ROOT / "examples" / "minimal.yaml").read_text())
    valid = cli("config", "validate", str(config))
    assert valid.code == 0 and f"valid: {config}" in valid.err, valid.text
    out = tmp_path / folder / "out"
    rendered = cli("render", "--config", str(config), "--out", str(out))
    assert rendered.code == 0, rendered.text
    assert f"{out / 'user-data'}:" in rendered.out
    broken = config.with_name("broken.yaml")
    broken.write_text("name: [\n")
    assert str(broken) in cli("config", "validate", str(broken)).err


def test_render_out_at_a_file_or_an_impossible_path(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ROOT

    config = str(ROOT / "examples" / "minimal.yaml")
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    _refused(cli("render", "--config", config, "--out", str(a_file)), "is a file; give a folder")
    assert a_file.read_text() == "keep me"
    _refused(cli("render", "--config", config, "--out", str(a_file / "below")), "is a file")
    _refused(cli("render", "--config", config, "--out", str(tmp_path / ("y" * 5000))), "File name too long")


def test_config_init_into_a_missing_folder_or_an_impossible_path(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _refused(cli("config", "init", str(tmp_path / "missing" / "stack.yaml")), "does not exist")
    assert not (tmp_path / "missing").exists()
    _refused(cli("config", "init", str(tmp_path / ("z" * 5000))), "File name too long")
    a_file = tmp_path / "file"
    a_file.write_text("")
    _refused(cli("config", "init", str(a_file / "stack.yaml")), "is a file, not a folder")
    _refused(cli("config", "init", str(tmp_path), "--force"), "is a folder")
    written = cli("config", "init", str(tmp_path / "ok[1].yaml"))
    assert written.code == 0 and f"Wrote {tmp_path / 'ok[1].yaml'}" in written.err
