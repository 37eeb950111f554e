"""The vocabulary of deployment statuses (set only by orchestration; shown by `status` and `list`)."""

from __future__ import annotations

from typing import Final, Literal

DeploymentStatus = Literal[
    "deploying",  # apply is creating resources
    "running",  # launched (and healthy, or health not checked)
    "degraded",  # up, but the health checks did not pass in time; kept
    "failed",  # apply failed; the detail says whether anything was left
    "rolling-back",  # deleting what a failed apply created
    "destroying",  # destroy has deleted something and goes on
    "destroy-incomplete",  # destroy stopped with resources left; a re-run finishes it
    "data-kept",  # destroyed except the stack's data, which is kept until its deletion is asked for
    "stopped",  # EC2 reports the instance stopped
    "interrupted",  # EC2 reclaimed the spot instance
    "terminated",  # EC2 reports the instance terminated (not by GeuseMaker)
]

#: Statuses whose instance costs money by the hour.
BILLED: Final = frozenset({"running", "degraded"})
#: Statuses `status --refresh` asks EC2 about.
REFRESHABLE: Final = frozenset({"running", "degraded", "stopped", "interrupted", "terminated"})
