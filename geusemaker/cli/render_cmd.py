"""`geusemaker render`: write the UserData and its parts to a folder, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def render(
    config: Annotated[Path, typer.Option("--config", "-c", help="Stack configuration file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write user-data, parts/ and docker-compose.yml to.")],
    driver_install: Annotated[
        bool, typer.Option("--driver-install", help="Render for a plain Ubuntu image (installs the NVIDIA driver).")
    ] = False,
    spot: Annotated[bool, typer.Option("--spot", help="Render for a spot instance.")] = False,
) -> None:
    """Render the exact UserData EC2 would get, with each part as readable text.

    Example: geusemaker render --config stack.yaml --out build/userdata
    """
    from geusemaker.cli.render import message, say
    from geusemaker.config_io import load_config
    from geusemaker.userdata.generator import EC2_USERDATA_LIMIT, BootContext
    from geusemaker.userdata.generator import render as render_userdata

    stack = load_config(config)
    region = stack.region if stack.region not in (None, "auto") else "us-east-1"
    userdata = render_userdata(BootContext(stack, region, needs_driver_install=driver_install, spot=spot))
    (out / "parts").mkdir(parents=True, exist_ok=True)
    (out / "user-data").write_bytes(userdata.payload)
    for name, text in userdata.parts.items():
        (out / "parts" / name).write_text(text, encoding="utf-8")
    (out / "docker-compose.yml").write_text(userdata.compose, encoding="utf-8")
    kind = "gzip" if userdata.compressed else "plain"
    say(f"{out / 'user-data'}: {userdata.size:,} bytes ({kind}) of EC2's {EC2_USERDATA_LIMIT:,}")
    for name, text in userdata.parts.items():
        say(f"{out / 'parts' / name}: {len(text.encode()):,} bytes")
    say(f"{out / 'docker-compose.yml'}: {len(userdata.compose.encode()):,} bytes")
    if stack.storage.data == "efs":
        message("[dim]The EFS file system id is a placeholder here; deploy fills in the real one.[/]")
