"""ParameterService against moto: SecureStrings under the stack's path, listed by stack id, deleted idempotently."""

from __future__ import annotations

from geusemaker.models.tags import stack_tags
from geusemaker.services.parameters import ParameterService
from tests.awsfakes import inprocess_aws

REGION = "us-east-1"


def test_secrets_are_secure_strings_of_their_own_stack() -> None:
    with inprocess_aws(REGION) as clients:
        parameters = ParameterService(clients, REGION)
        mine = parameters.put_secret("vault", "N8N_KEY", "s3cret", stack_tags({}, "s1"))
        ssm = clients.client("ssm", REGION)
        assert mine == "/geusemaker/vault/N8N_KEY"
        assert ssm.get_parameter(Name=mine)["Parameter"]["Type"] == "SecureString"
        ssm.put_parameter(Name="/geusemaker/vault-2/KEY", Value="x", Type="SecureString")  # a longer name, not ours
        assert parameters.list_names("vault") == [mine]
        assert parameters.list_names("vault", "s1") == [mine] and parameters.list_names("vault", "s9") == []
        parameters.delete(mine)
        parameters.delete(mine)  # already gone counts as deleted
        assert parameters.list_names("vault") == []
