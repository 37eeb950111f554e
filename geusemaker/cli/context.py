"""Global options shared by every command, and the AWS clients they imply."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from geusemaker.services.aws import AwsClients

#: `--region` values that name no single region: search (auto) or every region (all, for discovery).
REGION_WORDS = ("auto", "all")
#: Where the sandbox plans when nothing names a region (it is a local account with every region).
SANDBOX_DEFAULT_REGION = "us-east-1"


def check_region_option(ctx: typer.Context, value: str | None) -> str | None:
    """Validate `--region` (a region, auto or all) and make it the command's region wherever it is given."""
    from geusemaker.models.regions import normalize_region, region_problem

    if value is None:
        return None
    value = normalize_region(value)
    problem = None if value == "all" else region_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    state = ctx.find_object(AppContext)
    if state is not None:
        state.region = value
    return value


def check_discovery_region(value: str | None) -> str | None:
    """A `--region` for discovery: a region name, all, or None (every enabled region); exit 2 otherwise."""
    from geusemaker.errors import UsageError
    from geusemaker.models.regions import normalize_region, region_problem

    if value is None or value == "auto":
        return None
    value = normalize_region(value)
    problem = None if value == "all" else region_problem(value, allow_auto=False)
    if problem:
        raise UsageError(f"--region: {problem}")
    return value


RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region (overrides the config's region); auto searches every enabled region.",
        callback=check_region_option,
    ),
]


@dataclass
class AppContext:
    """What the root callback parsed: where AWS is and how to talk about it."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    sandbox: bool = False
    debug: bool = False

    def aws(self, region: str | None = None) -> AwsClients:
        """Clients for real AWS, a custom endpoint, or the sandbox (started when needed)."""
        from geusemaker.services.aws import AwsClients, AwsTarget

        region = region or (self.region if self.region not in REGION_WORDS else None)
        if self.sandbox:
            from geusemaker.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY, control

            info = control.start()
            return AwsClients(
                AwsTarget(
                    region=region or SANDBOX_DEFAULT_REGION,
                    endpoint_url=info.endpoint,
                    access_key=SANDBOX_ACCESS_KEY,
                    secret_key=SANDBOX_SECRET_KEY,
                    max_attempts=2,
                    sandbox=True,
                    sandbox_id=control.sandbox_id(info),
                )
            )
        endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        return AwsClients(AwsTarget(profile=self.profile, region=region, endpoint_url=endpoint))

    def stack_region(self, configured: str | None) -> str:
        """The region a stack plans in: the config's, then --region, AWS_REGION, AWS_DEFAULT_REGION and the
        profile's region; `auto` (search) only when one of them says so. A --region that contradicts the
        config is refused, never silently ignored or obeyed: the config decides where the stack's data lives."""
        from geusemaker.errors import UsageError
        from geusemaker.models.regions import normalize_region, region_problem

        if self.region == "all":
            raise UsageError(
                "--region all only applies to discovery (list/destroy --discover)",
                hint="Name one region, or use --region auto to search every enabled region.",
            )
        if configured and self.region and normalize_region(self.region) != normalize_region(configured):
            raise UsageError(
                f"the config says region {configured}, --region says {self.region}",
                hint="The config decides where the stack lives: change its region, or drop --region.",
            )
        for source, given in self._region_sources(configured):
            if not given:
                continue
            value = normalize_region(given)
            problem = region_problem(value)
            if problem:
                raise UsageError(f"{source}: {problem}")
            return value
        if self.sandbox:
            return SANDBOX_DEFAULT_REGION
        raise UsageError(
            "no AWS region: the config names none, and neither --region, AWS_REGION, AWS_DEFAULT_REGION "
            "nor the profile sets one",
            hint="Set region: us-east-1 (or region: auto to search every enabled region) in the config, "
            "or pass --region.",
        )

    def _region_sources(self, configured: str | None) -> Iterator[tuple[str, str | None]]:
        from geusemaker.services.aws import profile_region

        yield "region (config)", configured
        yield "--region", self.region
        yield "AWS_REGION", os.environ.get("AWS_REGION")
        yield "AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")
        if not self.sandbox:
            yield f"the region of profile {self.profile or 'default'}", profile_region(self.profile)
