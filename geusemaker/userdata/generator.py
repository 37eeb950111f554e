"""Render the UserData: a cloud-config part (files, units) and the boot script, as MIME, gzip when smaller.

The result is the exact bytes given to EC2. Secrets are never inputs here: the boot script reads
them from SSM with the instance role.
"""

from __future__ import annotations

import ast
import gzip
import json
import shlex
from dataclasses import dataclass, field
from email.charset import Charset
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from geusemaker.errors import UsageError
from geusemaker.models.access import exposed_services, n8n_secure_cookie
from geusemaker.models.config import DeploymentConfig
from geusemaker.models.services import (
    SECRET_FILES_DIR,
    SERVICES,
    env_secret_names,
    parameter_path,
    secret_files,
    secret_names,
)

EC2_USERDATA_LIMIT = 16_384
DATA_DIR = "/opt/geusemaker/data"
PLACEHOLDER_FILE_SYSTEM = "fs-00000000000000000"
GPU_UTIL_IDLE_THRESHOLD = 5
OLLAMA_GPU_OVERHEAD_BYTES = 512 * 1024 * 1024
MIME_BOUNDARY = "==GEUSEMAKER-PART=="
DOCKER_DATA_DROP_IN = "/etc/systemd/system/docker.service.d/geusemaker-data.conf"
#: The `geusemaker:kind` tag value of a stack's data volume.
DATA_VOLUME_KIND = "data-volume"
#: How long a drain lets each container stop cleanly (a spot notice gives 120 s in all).
DRAIN_STOP_SECONDS = 45


@dataclass(frozen=True)
class BootContext:
    """Everything the boot needs besides the config, known once the plan (and the file system) exist."""

    config: DeploymentConfig
    region: str
    needs_driver_install: bool = False
    spot: bool = False
    file_system_id: str = PLACEHOLDER_FILE_SYSTEM
    #: The stack's unique id: the boot finds its data volume by this tag (empty: the launch attached it).
    stack_id: str = ""


@dataclass(frozen=True)
class RenderedUserData:
    """The payload for EC2 and the pieces it was made of."""

    payload: bytes
    compressed: bool
    parts: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.payload)

    @property
    def compose(self) -> str:
        return self.files["/opt/geusemaker/docker-compose.yml"]


class UserDataTooLarge(UsageError):
    """The UserData would exceed EC2's 16 KiB limit."""


@cache
def _environment() -> jinja2.Environment:
    templates = resources.files("geusemaker.userdata").joinpath("templates")
    runtime = resources.files("geusemaker.runtime_assets")
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FunctionLoader(lambda name: _read(templates, name)),
            jinja2.FunctionLoader(lambda name: _read(runtime, name)),
        ]
    )
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        comment_start_string="{##",  # bash uses ${#var}
        comment_end_string="##}",
    )


def _read(folder: Any, name: str) -> str | None:
    path = folder.joinpath(name)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def render_template(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)


def render_compose(config: DeploymentConfig) -> str:
    """The docker compose file of the stack (one template for every tier and service subset)."""
    exposed = exposed_services(config)
    return render_template(
        "docker-compose.yml.j2",
        name=config.name,
        services=config.services,
        images={name: spec.image for name, spec in SERVICES.items()},
        binds={name: "0.0.0.0" if name in exposed else "127.0.0.1" for name in SERVICES},
        n8n_secure_cookie=n8n_secure_cookie(config),
        keep_alive=config.ollama.keep_alive,
        gpu=config.tier == "gpu",
        gpu_overhead_bytes=OLLAMA_GPU_OVERHEAD_BYTES,
        max_loaded_models=max(1, len(config.ollama.models)),
        data_dir=DATA_DIR,
        secret_files={f.service: f for f in secret_files(config.services)},
        all_secret_files=secret_files(config.services),
    )


def render(context: BootContext) -> RenderedUserData:
    """The UserData for `context`; raises `UserDataTooLarge` before anything is created."""
    config = context.config
    lifecycle = config.lifecycle
    guard = lifecycle.idle_stop_minutes > 0 or lifecycle.max_runtime_hours > 0
    data_mount = DATA_DIR if config.storage.data != "none" else ""
    values: dict[str, Any] = {
        "name": config.name,
        "region": context.region,
        "gpu": config.tier == "gpu",
        "needs_driver_install": context.needs_driver_install,
        "spot": context.spot,
        "data": config.storage.data,
        "data_dir": DATA_DIR,
        "file_system_id": context.file_system_id,
        "stack_id": context.stack_id,
        "data_volume_kind": DATA_VOLUME_KIND,
        "drain_stop_seconds": DRAIN_STOP_SECONDS,
        "parameter_path": parameter_path(config.name),
        "secrets": secret_names(config.services),
        "secret_files": secret_files(config.services),
        "secret_files_dir": SECRET_FILES_DIR,
        "env_secrets": env_secret_names(config.services),
        "data_dirs": [(s, SERVICES[s].data_uid) for s in config.services if SERVICES[s].data_uid is not None],
        "services": config.services,
        "models": config.ollama.models if "ollama" in config.services else [],
        "ollama_image": SERVICES["ollama"].image,
        "service_images": {s: SERVICES[s].image for s in config.services},
        "first_token_request": _first_token_request(config),
        "guard": guard,
        "idle_minutes": lifecycle.idle_stop_minutes,
        "max_runtime_hours": lifecycle.max_runtime_hours,
        "util_threshold": GPU_UTIL_IDLE_THRESHOLD,
        "memory_source": _memory_source(),
    }
    files = {
        "/opt/geusemaker/lib.sh": render_template("lib.sh.j2"),
        "/opt/geusemaker/docker-compose.yml": render_compose(config),
        "/etc/systemd/system/geusemaker-stack.service": render_template(
            "units.j2", unit="stack", data_mount=data_mount
        ),
    }
    if data_mount:
        files[DOCKER_DATA_DROP_IN] = render_template("units.j2", unit="docker-data", data_mount=data_mount)
    if values["models"]:
        files["/opt/geusemaker/pull-models.sh"] = render_template("pull-models.sh.j2", **values)
        files["/etc/systemd/system/geusemaker-models.service"] = render_template("units.j2", unit="models")
    files["/opt/geusemaker/drain.sh"] = render_template("drain.sh.j2", **values)
    if context.spot:
        files["/opt/geusemaker/notice.sh"] = render_template("notice.sh.j2", **values)
        files["/etc/systemd/system/geusemaker-notice.service"] = render_template("units.j2", unit="notice-service")
        files["/etc/systemd/system/geusemaker-notice.timer"] = render_template("units.j2", unit="notice-timer")
    if guard:
        files["/opt/geusemaker/guard.sh"] = render_template("guard.sh.j2", **values)
        files["/etc/systemd/system/geusemaker-guard.service"] = render_template("units.j2", unit="guard-service")
        files["/etc/systemd/system/geusemaker-guard.timer"] = render_template("units.j2", unit="guard-timer")
    parts = {"cloud-config.yaml": _cloud_config(config.name, files), "boot.sh": render_template("boot.sh.j2", **values)}
    raw = _mime(parts)
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    payload, compressed = (packed, True) if len(packed) < len(raw) else (raw, False)
    if len(payload) > EC2_USERDATA_LIMIT:
        raise UserDataTooLarge(
            f"the UserData is {len(payload):,} bytes, over EC2's limit of {EC2_USERDATA_LIMIT:,}",
            hint="Configure fewer Ollama models or services.",
        )
    return RenderedUserData(payload, compressed, parts, files)


def _first_token_request(config: DeploymentConfig) -> str:
    """The boot's first-token request (one streamed token from the first model), quoted for the shell."""
    if not config.ollama.models:
        return "''"
    keep_alive = config.ollama.keep_alive
    body = {
        "model": config.ollama.models[0],
        "prompt": "Hello",
        "stream": True,
        "options": {"num_predict": 1},
        # Ollama reads a bare number as seconds (-1: forever) and a string as a Go duration ("30m")
        "keep_alive": int(keep_alive) if keep_alive.lstrip("-").isdigit() else keep_alive,
    }
    return shlex.quote(json.dumps(body, separators=(",", ":")))


@cache
def _memory_source() -> str:
    """The memory split's module as the boot runs it against /proc/meminfo (the same code, without docstrings)."""
    tree = ast.parse(resources.files("geusemaker.models").joinpath("memory.py").read_text(encoding="utf-8"))
    for node in [tree, *ast.walk(tree)]:
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.unparse(tree)


def _cloud_config(name: str, files: dict[str, str]) -> str:
    document = {
        "write_files": [
            {
                "path": path,
                "permissions": "0755" if path.endswith(".sh") else "0644",
                "owner": "root:root",
                "content": text,
            }
            for path, text in files.items()
        ]
    }
    body = yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=1000)
    return f"#cloud-config\n# GeuseMaker stack {name!r} (generated)\n{body}"


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so the files stay readable in the console."""


def _literal(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_LiteralDumper.add_representer(str, _literal)


def _mime(parts: dict[str, str]) -> bytes:
    charset = Charset("utf-8")
    charset.body_encoding = None  # type: ignore[assignment]  # 8bit, not base64: the payload is gzipped as a whole
    message = MIMEMultipart(boundary=MIME_BOUNDARY)
    for filename, text in parts.items():
        subtype = "cloud-config" if filename.endswith(".yaml") else "x-shellscript"
        part = MIMEText(text, subtype, charset)  # type: ignore[arg-type]
        part.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(part)
    return message.as_bytes()
