"""`geusemaker config init|validate|schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geusemaker.cli.render import OutputFormat

app = typer.Typer(
    help="Write, check and describe stack configuration files.", no_args_is_help=True, rich_markup_mode=None
)

OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")]


@app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example ('-' for stdout).")] = Path("stack.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example configuration.

    Example: geusemaker config init stack.yaml
    """
    from importlib import resources

    from rich.markup import escape

    from geusemaker.cli.files import exists, write_file
    from geusemaker.cli.render import message
    from geusemaker.errors import UsageError

    text = resources.files("geusemaker").joinpath("assets", "stack.example.yaml").read_text(encoding="utf-8")
    if str(path) == "-":
        typer.echo(text, nl=False)
        return
    if exists(path) and not force:
        raise UsageError(f"{path} already exists", hint="Pass --force to overwrite it, or choose another path.")
    write_file(path, text)
    message(f"Wrote {escape(str(path))}. Next: geusemaker config validate {escape(str(path))}")


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Configuration file (YAML or JSON).")],
    output: OutputOpt = OutputFormat.table,
) -> None:
    """Check a configuration file and show what it resolves to.

    Example: geusemaker config validate stack.yaml --output json
    """
    from rich.markup import escape

    from geusemaker.catalog import load_catalog
    from geusemaker.cli.plan_view import show_exposure
    from geusemaker.cli.render import message, print_json
    from geusemaker.config_io import load_config
    from geusemaker.models.access import exposure_json

    config = load_config(file)
    if output is OutputFormat.json:
        print_json({"valid": True, "config": config.model_dump(mode="json"), "access": exposure_json(config),
                    "storage": {"data": config.storage.data, "warnings": config.storage.warnings()}})  # fmt: skip
        return
    if config.gpu:
        spec = load_catalog().smallest_instance_type(config.gpu, config.compute.gpu_count)
        compute = f"{config.compute.gpu_count} x {config.gpu}" + (f" (smallest: {spec.instance_type})" if spec else "")
    else:
        compute = str(config.instance_type)
    message(f"[green]valid[/]: {escape(str(file))}")
    region = config.region or "unset (--region, AWS_REGION, AWS_DEFAULT_REGION or the profile's)"
    message(f"  name {config.name}, region {region}, tier {config.tier}, compute {compute}")
    message(f"  market {config.compute.market}, services {', '.join(config.services)}, data {config.storage.data}")
    show_exposure(config)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the configuration file.

    Example: geusemaker config schema > stack.schema.json
    """
    from geusemaker.cli.render import print_json
    from geusemaker.models.config import DeploymentConfig

    print_json(DeploymentConfig.model_json_schema())
