"""`geusemaker gpus`: the GPU catalog with snapshot prices, offline and instant."""

from __future__ import annotations

from typing import Annotated

import typer

from geusemaker.cli.render import OutputFormat


def gpus(
    ctx: typer.Context,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="Only this GPU (t4, a10g, l4, l40s, v100, a100, h100, ...).")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, max=8, help="At least this many GPUs.")] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Only this region, or 'all' for every region (default: the global --region, else the cheapest).",
        ),
    ] = None,
    spot: Annotated[bool, typer.Option("--spot", help="Rank by spot price; hide types without one.")] = False,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="table or json.")] = OutputFormat.table,
) -> None:
    """List NVIDIA GPU instance types with on-demand and spot prices, cheapest first.

    Example: geusemaker gpus --gpu a10g --region all --spot
    """
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.render import message, print_json, table, usd
    from geusemaker.errors import UsageError
    from geusemaker.models.gpu import normalize_gpu
    from geusemaker.models.regions import normalize_region, region_problem

    catalog = load_catalog()
    try:
        gpu_name = normalize_gpu(gpu) if gpu else None
    except ValueError as exc:
        raise UsageError(f"--gpu: {exc}") from None
    if region is None and ctx.obj is not None and ctx.obj.region not in (None, "auto"):
        region = ctx.obj.region  # the global --region: never list another region silently
    if region is not None:
        region = normalize_region(region)
        problem = None if region == "all" else region_problem(region, allow_auto=False)
        if problem:
            raise UsageError(f"--region: {problem}")
    if region not in (None, "all") and region not in catalog.regions():
        raise UsageError(
            f"--region: the price snapshot has no GPU instance types in {region}",
            hint=f"Regions with GPU prices: {', '.join(catalog.regions())}",
        )
    offers = catalog.offers(gpu=gpu_name, min_count=count, region=region, spot=spot)
    if output is OutputFormat.json:
        print_json([offer.as_json() for offer in offers])
        return
    table(
        None,
        ["GPU", "N", "INSTANCE", "GPU MEM", "vCPU", "RAM", "ON-DEMAND/h", "SPOT/h", "REGION"],
        [
            [
                o.spec.gpu,
                o.spec.gpu_count,
                o.spec.instance_type,
                f"{o.spec.gpu_memory_gib:g}G",
                o.spec.vcpus,
                f"{o.spec.memory_gib:g}G",
                usd(o.on_demand_usd_hour),
                usd(o.spot_usd_hour),
                o.region,
            ]
            for o in offers
        ],
        right=["N", "GPU MEM", "vCPU", "RAM", "ON-DEMAND/h", "SPOT/h"],
    )
    message(
        f"[dim]{len(offers)} rows; prices from the bundled snapshot of {catalog.snapshot_date} ({catalog.source}).[/]"
    )
