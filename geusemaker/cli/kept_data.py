"""A deploy of a name whose data was kept: find that data, ask (or --yes) to reuse it, and pin the placement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geusemaker.models.data_layout import DataLayout
    from geusemaker.state.store import ResourceRecord


@dataclass(frozen=True)
class KeptData:
    """The data a `data-kept` deployment holds, and where a redeploy must place its instance."""

    name: str
    resources: tuple[ResourceRecord, ...]
    #: the zone a restart stays in (its subnet's), when there is no data volume to say it
    pinned_zone: str | None = None
    #: where the data lives (a stack deployed before the data volume keeps all of it on EFS); None: as configured
    layout: DataLayout | None = None

    @property
    def region(self) -> str:
        return next(r.region for r in self.resources if r.region != "global")

    @property
    def zone(self) -> str | None:
        """The data volume's zone (a volume attaches only there); None for a file system (regional)."""
        zones = [
            str(r.data["zone"])
            for r in self.resources
            if r.kind == "data-volume" and r.data.get("zone") and not r.data.get("replaced_by")  # moved: not data
        ]
        return zones[0] if zones else self.pinned_zone

    def describe(self) -> str:
        """The data by id, then the number of secrets (their names are the same for every stack)."""
        data = [f"{r.kind} {r.resource_id}" for r in self.resources if r.kind != "ssm-parameter"]
        secrets = sum(r.kind == "ssm-parameter" for r in self.resources)
        return ", ".join([*data, *([f"{secrets} secrets"] if secrets else [])])


def check_name(name: str, *, yes: bool, fresh_data: bool, dry_run: bool = False) -> KeptData | None:
    """Whether `name` may be deployed: free (None), or its kept data is reused (asked unless `yes`).

    A name in use otherwise is refused (exit 2); `--fresh-data` is refused while kept data exists.
    A dry-run only looks: it plans on the kept data, if any, and refuses nothing.
    """
    import typer

    from geusemaker.cli.render import message
    from geusemaker.cli.session import forget_vanished, open_store
    from geusemaker.errors import UsageError
    from geusemaker.models.data_layout import kept_layout
    from geusemaker.orchestration.kinds import kind

    store = open_store()
    existing = store.get(name)
    if existing is None or (not dry_run and forget_vanished(store, existing)):
        return None
    kept = tuple(r for r in store.resources(name) if kind(r.kind).keep)
    layout = kept_layout(existing.facts, (r.kind for r in kept))
    if dry_run:
        if existing.status != "data-kept" or not kept:
            return None
        data = KeptData(name, kept, layout=layout)
        message(f"Planned on {name}'s kept data (reused, not created): {data.describe()}")
        return data
    if existing.status != "data-kept" or not kept:
        raise UsageError(
            f"deployment {name!r} already exists (status {existing.status})",
            hint=f"See it with `geusemaker status {name}`, or remove it with `geusemaker destroy {name}`.",
        )
    data = KeptData(name, kept, layout=layout)
    if fresh_data:
        raise UsageError(
            f"{name!r} has kept data ({data.describe()}); --fresh-data does not delete it",
            hint=f"Delete it first with `geusemaker destroy {name} --delete-data`, or deploy without --fresh-data "
            "to reuse it.",
        )
    if not yes and not typer.confirm(f"Reuse {name}'s kept data ({data.describe()})?", True, err=True):
        message(f"Not deployed: nothing was created. To start afresh: geusemaker destroy {name} --delete-data")
        raise typer.Exit(1)
    message(f"Reusing {name}'s kept data in {data.region}{f'/{data.zone}' if data.zone else ''}: {data.describe()}")
    return data


def pinned_region(data: KeptData, configured: str) -> str:
    """The region a redeploy on `data` plans in: the data's; a config naming another one is refused (exit 2)."""
    from geusemaker.errors import UsageError
    from geusemaker.models.regions import AUTO

    if configured not in (AUTO, data.region):
        raise UsageError(
            f"region: {configured}, but {data.name}'s kept data is in {data.region}",
            hint=f"Deploy in {data.region} (--region {data.region}), or delete the data first with "
            f"`geusemaker destroy {data.name} --delete-data`.",
        )
    return data.region


def check_plan(data: KeptData, placements: list[tuple[str, str]]) -> None:
    """A saved plan applied on kept data must launch only where the data is (region, and the volume's zone)."""
    from geusemaker.errors import UsageError

    elsewhere = [f"{r}/{z}" for r, z in placements if r != data.region or (data.zone and z != data.zone)]
    if elsewhere:
        where = f"{data.region}/{data.zone}" if data.zone else data.region
        launches = ", ".join(sorted(set(elsewhere)))
        raise UsageError(
            f"the saved plan launches in {launches}, but {data.name}'s kept data is in {where}",
            hint="Plan again (deploy --dry-run) now that the data is kept: the placement stays where it is.",
        )


def kept_cost(state: object, name: str, region: str) -> float | None:
    """The monthly cost of `name`'s kept data (the Pricing API's EBS/EFS rates, else the documented fallback)."""
    from geusemaker import paths
    from geusemaker.catalog import load_catalog
    from geusemaker.cli.session import open_store
    from geusemaker.models.config import DeploymentConfig
    from geusemaker.models.replacement import ALARM_MONTHLY_USD
    from geusemaker.orchestration.kinds import kind
    from geusemaker.planning.cost import kept_data_monthly
    from geusemaker.services.cache import JsonCache
    from geusemaker.services.pricing import PricingService

    store = open_store()
    record = store.get(name)
    if record is None:
        return None
    kept = [r for r in store.resources(name) if kind(r.kind).keep]
    snapshot_gb = sum(int(r.data.get("size_gb") or 0) for r in kept if r.kind == "snapshot")
    clients = state.aws(region)  # type: ignore[attr-defined]
    pricing = PricingService(clients, load_catalog(), JsonCache(paths.cache_dir() / "aws-answers.json"))
    config = DeploymentConfig.model_validate(record.config)
    monthly = kept_data_monthly(config, {r.kind for r in kept}, pricing.resource_rates(region), snapshot_gb)
    alarms = sum(r.kind == "alarm" for r in store.resources(name))  # a stopped stack keeps its fallback alarm
    monthly = round(monthly + alarms * ALARM_MONTHLY_USD, 2) if monthly is not None and alarms else monthly
    store.update_facts(name, kept_monthly_usd=monthly)
    return monthly


def ask_delete_data(name: str, kept: list[str]) -> bool:
    """Interactively: delete the stack's data too? (default: keep it)."""
    import typer

    return bool(
        typer.confirm(
            f"Also delete {name}'s data ({', '.join(kept)})? It cannot be recovered.", default=False, err=True
        )
    )
