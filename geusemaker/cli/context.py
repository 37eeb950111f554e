"""Global options shared by every command, and the AWS clients they imply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geusemaker.services.aws import AwsClients


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

        region = region or self.region
        if self.sandbox:
            from geusemaker.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY, control

            info = control.start()
            return AwsClients(
                AwsTarget(
                    region=region or "us-east-1",
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
