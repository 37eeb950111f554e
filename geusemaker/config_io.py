"""Reading and writing `DeploymentConfig` files (YAML or JSON), with field paths and line numbers in errors."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from geusemaker.errors import ConfigError, ConfigProblem
from geusemaker.models.config import DeploymentConfig, RuleViolation

Location = tuple[str | int, ...]


def load_config(path: Path) -> DeploymentConfig:
    """Read and validate a config file; raise `ConfigError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("", f"file not found: {path}")], str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem("", f"cannot read {path}: {exc}")], str(path)) from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<config>") -> DeploymentConfig:
    """Validate config text (YAML or JSON)."""
    data, lines = _load_yaml(text, source)
    if not isinstance(data, dict):
        found = "an empty document" if data is None else type(data).__name__
        raise ConfigError([ConfigProblem("", "the document must be a mapping of settings", found=found)], source)
    return validate_data(data, source, lines)


def validate_data(
    data: dict[str, Any], source: str = "<config>", lines: dict[Location, int] | None = None
) -> DeploymentConfig:
    """Validate already-parsed data; `lines` maps field locations to source lines."""
    try:
        return DeploymentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, lines or {}), source) from None


def problems_from(exc: ValidationError, lines: dict[Location, int]) -> list[ConfigProblem]:
    """One `ConfigProblem` per pydantic error, with the field path, the line and a did-you-mean."""
    problems = []
    for error in exc.errors(include_url=False):
        loc: Location = tuple(error["loc"])
        message = error["msg"]
        violation = (error.get("ctx") or {}).get("error")
        if isinstance(violation, RuleViolation):
            loc = loc + tuple(violation.path.split("."))
            message = str(violation)
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        found = None
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(loc)
        elif error["type"] != "missing" and not isinstance(violation, RuleViolation):
            found = _short(error.get("input"))
        problems.append(ConfigProblem(_path(loc), message, line=_line_for(loc, lines), found=found))
    return problems


def dump_config(config: DeploymentConfig) -> str:
    """YAML text that `load_config` reads back to an equal config (defaults left out)."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    data = {"name": config.name, **data}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _load_yaml(text: str, source: str) -> tuple[Any, dict[Location, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([ConfigProblem("", f"not valid YAML/JSON: {detail}", line=line)], source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem("", f"not valid YAML/JSON: {exc}")], source) from None
    lines: dict[Location, int] = {}
    duplicates: list[ConfigProblem] = []
    if node is not None:
        _index_lines(node, (), lines, duplicates)
    if duplicates:
        raise ConfigError(duplicates, source)
    return data, lines


def _index_lines(node: yaml.Node, loc: Location, lines: dict[Location, int], duplicates: list[ConfigProblem]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                duplicates.append(
                    ConfigProblem(_path((*loc, key)), "key appears more than once", line=key_node.start_mark.line + 1)
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines, duplicates)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines, duplicates)


def _line_for(loc: Location, lines: dict[Location, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _path(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unknown_key_message(loc: Location) -> str:
    allowed = _fields_at(loc[:-1])
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {hint}allowed here: {', '.join(allowed)}"


def _fields_at(loc: Location) -> list[str]:
    model: type[BaseModel] = DeploymentConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
