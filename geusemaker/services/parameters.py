"""The deployment's secrets as SSM SecureString parameters under /geusemaker/<name>/, and its deadline."""

from __future__ import annotations

from geusemaker.errors import NotFoundError
from geusemaker.models.services import parameter_path
from geusemaker.models.tags import owned, tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, translate_errors

#: the parameter (under the deployment's path) that holds the `max_runtime_hours` deadline, epoch seconds
DEADLINE = "deadline"
DEADLINE_KIND = "deadline"


class ParameterService:
    """Stores, lists and deletes a deployment's SecureString parameters."""

    def __init__(self, clients: AwsClients, region: str) -> None:
        self._ssm = clients.client("ssm", region)

    def put_secret(self, deployment: str, name: str, value: str, user_tags: dict[str, str]) -> str:
        """Store one secret (encrypted with the account's SSM key); returns the parameter name."""
        full = parameter_path(deployment) + name
        with translate_errors("ssm:PutParameter"):
            self._ssm.put_parameter(
                Name=full,
                Value=value,
                Type="SecureString",
                Description=f"GeuseMaker {deployment} secret",
                Tags=tag_list(deployment, "secret", user_tags),
            )
        return full

    def list_names(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """The deployment's parameters (only those tagged with `stack_id`, when given)."""
        prefix = parameter_path(deployment)
        names: list[str] = []
        with translate_errors("ssm:GetParametersByPath"):
            pages = self._ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True)
            for page in pages:
                names += [p["Name"] for p in page["Parameters"] if str(p["Name"]).startswith(prefix)]
        names = [name for name in names if name != prefix + DEADLINE]  # not a secret: the stack's deadline
        if stack_id is None:
            return names
        return [name for name in names if owned(self._tags(name), deployment, stack_id)]

    def _tags(self, name: str) -> list[dict[str, str]]:
        with translate_errors("ssm:ListTagsForResource"):
            return list(self._ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"])

    def delete(self, name: str) -> None:
        ignore_missing("ssm:DeleteParameter", lambda: self._ssm.delete_parameter(Name=name))

    def put_deadline(self, deployment: str, epoch_s: int, user_tags: dict[str, str]) -> str:
        """Write the deadline (epoch seconds, a plain String the instance role reads); returns its name.

        A previous value is deleted first: SSM takes tags only when it creates a parameter.
        """
        full = parameter_path(deployment) + DEADLINE
        self.delete(full)
        with translate_errors("ssm:PutParameter"):
            self._ssm.put_parameter(
                Name=full,
                Value=str(epoch_s),
                Type="String",
                Description=f"GeuseMaker {deployment}: max_runtime_hours deadline (epoch seconds, UTC)",
                Tags=tag_list(deployment, DEADLINE_KIND, user_tags),
            )
        return full

    def delete_deadline(self, deployment: str) -> str:
        """Remove the deadline (none there counts as removed); returns its name."""
        full = parameter_path(deployment) + DEADLINE
        self.delete(full)
        return full

    def find_deadline(self, deployment: str, stack_id: str | None = None) -> list[str]:
        """The deployment's deadline parameter, when there is one (and it carries `stack_id`, when given)."""
        full = parameter_path(deployment) + DEADLINE
        try:
            with translate_errors("ssm:GetParameter"):
                self._ssm.get_parameter(Name=full)
        except NotFoundError:
            return []
        return [full] if stack_id is None or owned(self._tags(full), deployment, stack_id) else []
