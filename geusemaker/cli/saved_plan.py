"""`deploy --plan FILE`: read a plan saved by `deploy --dry-run --output json`, refuse it when it no longer holds."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geusemaker.cli.context import AppContext
    from geusemaker.models.config import DeploymentConfig
    from geusemaker.models.plan import Plan
    from geusemaker.services.aws import AwsClients


def load_saved_plan(state: AppContext, path: Path, config: DeploymentConfig | None) -> tuple[Plan, AwsClients]:
    """The saved plan and clients for its region, after checking account, region, configuration and age."""
    from geusemaker.config_io import read_config_text
    from geusemaker.errors import UsageError
    from geusemaker.models.plan_file import PlanFileError, plan_from_json, saved_plan_problems

    text = read_config_text(path)
    try:
        plan = plan_from_json(json.loads(text))
    except (json.JSONDecodeError, PlanFileError, AttributeError) as error:
        raise UsageError(
            f"--plan: {path} is not a saved plan: {error}",
            hint="Save one with: geusemaker deploy --config stack.yaml --dry-run --output json > plan.json",
        ) from None
    clients = state.aws(plan.placement.region)
    region = state.stack_region(config.region if config is not None else plan.config.region)
    problems = saved_plan_problems(plan, account=clients.account_id(), now=time.time(), config=config, region=region)
    if problems:
        raise UsageError(
            f"--plan: {path} cannot be applied: {problems[0]}",
            details=problems[1:],
            hint="Plan again and review it: geusemaker deploy --config stack.yaml --dry-run --output json > plan.json",
        )
    return plan, clients
