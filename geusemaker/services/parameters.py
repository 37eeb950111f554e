"""The deployment's secrets as SSM SecureString parameters under /geusemaker/<name>/."""

from __future__ import annotations

from geusemaker.models.services import parameter_path
from geusemaker.models.tags import tag_list
from geusemaker.services.aws import AwsClients, ignore_missing, translate_errors


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

    def list_names(self, deployment: str) -> list[str]:
        names: list[str] = []
        with translate_errors("ssm:GetParametersByPath"):
            pages = self._ssm.get_paginator("get_parameters_by_path").paginate(
                Path=parameter_path(deployment), Recursive=True
            )
            for page in pages:
                names += [p["Name"] for p in page["Parameters"]]
        return names

    def delete(self, name: str) -> None:
        ignore_missing("ssm:DeleteParameter", lambda: self._ssm.delete_parameter(Name=name))
