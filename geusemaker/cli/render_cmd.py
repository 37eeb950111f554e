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
    from rich.markup import escape

    from geusemaker.cli.files import ensure_folder, write_file
    from geusemaker.cli.render import message, say
    from geusemaker.config_io import load_config
    from geusemaker.userdata.generator import EC2_USERDATA_LIMIT, BootContext
    from geusemaker.userdata.generator import render as render_userdata

    stack = load_config(config)
    region = stack.region if stack.region not in (None, "auto") else "us-east-1"
    userdata = render_userdata(BootContext(stack, region, needs_driver_install=driver_install, spot=spot))
    ensure_folder(out)
    ensure_folder(out / "parts")
    write_file(out / "user-data", userdata.payload)
    for name, text in userdata.parts.items():
        write_file(out / "parts" / name, text)
    write_file(out / "docker-compose.yml", userdata.compose)
    kind = "gzip" if userdata.compressed else "plain"
    say(f"{escape(str(out / 'user-data'))}: {userdata.size:,} bytes ({kind}) of EC2's {EC2_USERDATA_LIMIT:,}")
    for name, text in userdata.parts.items():
        say(f"{escape(str(out / 'parts' / name))}: {len(text.encode()):,} bytes")
    say(f"{escape(str(out / 'docker-compose.yml'))}: {len(userdata.compose.encode()):,} bytes")
    if stack.storage.data == "efs":
        message("[dim]The EFS file system id is a placeholder here; deploy fills in the real one.[/]")
