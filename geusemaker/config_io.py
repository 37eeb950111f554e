"""Reading and writing `DeploymentConfig` files (YAML or JSON), with field paths and line numbers in errors."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from geusemaker.errors import ConfigError, ConfigProblem
from geusemaker.models.config import DeploymentConfig, RuleViolation
from geusemaker.models.rules import STORED_CONTEXT

Location = tuple[str | int, ...]

#: bounds checked before any parsing work, so that no input can take unbounded time or memory
MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000


def load_config(path: Path) -> DeploymentConfig:
    """Read and validate a config file; raise `ConfigError` listing every problem."""
    return parse_config(read_config_text(path), source=str(path))


def read_config_text(path: Path) -> str:
    """The text of a regular file of at most `MAX_CONFIG_BYTES`; FIFOs and devices are refused unopened."""
    source = short_path(path)

    def refuse(message: str) -> ConfigError:
        return ConfigError([ConfigProblem("", message)], source)

    try:
        info = path.stat()
    except FileNotFoundError:
        raise refuse(f"file not found: {source}") from None
    except OSError as exc:
        raise refuse(f"cannot read {source}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"{source} is a folder; give a configuration file")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"{source} is not a regular file (a pipe, device or socket); give a configuration file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise refuse(f"{source} is {info.st_size:,} bytes; a configuration file is at most {MAX_CONFIG_BYTES:,}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise refuse(f"{source} is larger than {MAX_CONFIG_BYTES:,} bytes, the most a configuration file may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"{source} is not UTF-8 text (byte {exc.start:,} cannot be decoded)") from None


def parse_config(text: str, source: str = "<config>") -> DeploymentConfig:
    """Validate config text (YAML or JSON)."""
    if len(text) > MAX_CONFIG_BYTES:
        problem = ConfigProblem("", f"the document has {len(text):,} characters; the most is {MAX_CONFIG_BYTES:,}")
        raise ConfigError([problem], source)
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


def validate_stored(data: dict[str, Any], source: str) -> DeploymentConfig:
    """The configuration of a deployed stack, as recorded in the state (rules added since it was deployed
    do not apply: it runs already)."""
    try:
        return DeploymentConfig.model_validate(data, context=STORED_CONTEXT)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, {}), source) from None


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
        if error["type"] == "model_type":  # pydantic names the model class; a user reads a section
            message = "should be a mapping of settings (key: value lines)"
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


def _check_size(text: str, source: str) -> None:
    """Refuse documents nested deeper than `MAX_DEPTH` or with more than `MAX_NODES` values once aliases
    are expanded (an alias bomb), from the event stream, before anything is composed or constructed."""
    anchored: dict[str, int] = {}
    open_nodes: list[tuple[int, str | None]] = []  # (values so far, anchor) of each open collection
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append((1, event.anchor))
            if len(open_nodes) > MAX_DEPTH:
                message = f"the document nests deeper than {MAX_DEPTH} levels"
                raise ConfigError([ConfigProblem("", message, line=_event_line(event))], source)
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        elif isinstance(event, yaml.AliasEvent):
            size, anchor = anchored.get(str(event.anchor), 1), None
        else:
            continue
        if anchor is not None:
            anchored[anchor] = size
        if open_nodes:
            count, open_anchor = open_nodes[-1]
            open_nodes[-1] = (count + size, open_anchor)
        else:
            total += size
        if total + sum(count for count, _ in open_nodes) > MAX_NODES:
            message = f"the document expands to more than {MAX_NODES:,} values (through its aliases)"
            raise ConfigError([ConfigProblem("", message, line=_event_line(event))], source)


def _event_line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark else None


def _load_yaml(text: str, source: str) -> tuple[Any, dict[Location, int]]:
    try:
        _check_size(text, source)
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


def short_path(path: Path) -> str:
    """A path cut to a readable length for a message (the OS may allow 4,096 characters)."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:100]}...{text[-60:]}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
