"""Helpers for tests that talk to moto: in-process AWS with the sandbox patches, and wire-level fault injection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from geusemaker.services.aws import AwsClients, AwsTarget


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> list[bytes]:
        return [self._body]


def respond(client: Any, operation: str, status: int, body: bytes | str | dict[str, Any]) -> Callable[..., Any]:
    """Answer every `operation` call of `client` with this HTTP status and body (the real parsers run)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    service = client.meta.service_model.service_id.hyphenize()

    def handler(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {}, _Raw(data))

    client.meta.events.register(f"before-send.{service}.{operation}", handler)
    return handler


def json_error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


def query_error(code: str, message: str) -> bytes:
    return (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>1</RequestID></Response>"
    ).encode()


def count_calls(client: Any, operation: str) -> list[str]:
    """A list that grows by one per `operation` call made by `client`."""
    calls: list[str] = []
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}.{operation}", lambda **_: calls.append(operation))
    return calls


@contextmanager
def inprocess_aws(region: str = "us-east-1", *, sandbox: bool = True) -> Iterator[AwsClients]:
    """moto in-process with the sandbox's patches (quotas, scores, DLAMIs); clients with dummy credentials."""
    from moto import mock_aws

    from geusemaker.sandbox import patches

    patches.install()
    patches.reset_quotas()
    with mock_aws():
        yield AwsClients(AwsTarget(region=region, access_key="testing", secret_key="testing", sandbox=sandbox))
    patches.reset_quotas()


def boto_client(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    import boto3

    return boto3.client(
        service, region_name=region, endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def count_resources(endpoint: str, region: str = "us-east-1") -> dict[str, int]:
    """How many of each leak-prone resource exist (the deployment's and everything else)."""
    ec2 = boto_client(endpoint, "ec2", region)
    efs = boto_client(endpoint, "efs", region)
    iam = boto_client(endpoint, "iam", region)
    ssm = boto_client(endpoint, "ssm", region)
    autoscaling = boto_client(endpoint, "autoscaling", region)
    cloudwatch = boto_client(endpoint, "cloudwatch", region)
    instances = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in {"terminated", "shutting-down"}
    ]
    file_systems = efs.describe_file_systems()["FileSystems"]
    return {
        "vpcs": len(ec2.describe_vpcs()["Vpcs"]),
        "subnets": len(ec2.describe_subnets()["Subnets"]),
        "internet_gateways": len(ec2.describe_internet_gateways()["InternetGateways"]),
        "route_tables": len(ec2.describe_route_tables()["RouteTables"]),
        "security_groups": len(ec2.describe_security_groups()["SecurityGroups"]),
        "network_interfaces": len(ec2.describe_network_interfaces()["NetworkInterfaces"]),
        "instances": len(instances),
        "launch_templates": len(ec2.describe_launch_templates()["LaunchTemplates"]),
        "volumes": len(ec2.describe_volumes()["Volumes"]),
        "file_systems": len(file_systems),
        "mount_targets": sum(
            len(efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]) for fs in file_systems
        ),
        "iam_roles": len(iam.list_roles()["Roles"]),
        "instance_profiles": len(iam.list_instance_profiles()["InstanceProfiles"]),
        "ssm_parameters": sum(len(p["Parameters"]) for p in ssm.get_paginator("describe_parameters").paginate()),
        "autoscaling_groups": len(autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]),
        "scaling_policies": len(autoscaling.describe_policies()["ScalingPolicies"]),
        "alarms": len(cloudwatch.describe_alarms()["MetricAlarms"]),
    }


def tagged_resources(endpoint: str, deployment: str, region: str = "us-east-1") -> list[str]:
    """Resources still tagged with the deployment (live ones only), as 'kind id'."""
    from geusemaker.orchestration.destroy import discover
    from geusemaker.services.aws import AwsClients, AwsTarget

    clients = AwsClients(AwsTarget(region=region, endpoint_url=endpoint, access_key="testing", secret_key="testing"))
    return sorted(f"{r.kind} {r.resource_id}" for r in discover(clients, deployment, [region]))


READ_PREFIXES = ("Describe", "Get", "List")


def request_region(request: Any) -> str:
    """The region a signed request is for (from its SigV4 credential scope)."""
    authorization = str(request.headers.get("Authorization", ""))
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in authorization else ""
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 else ""


def request_body(request: Any) -> str:
    body = request.body
    return body.decode() if isinstance(body, bytes) else str(body or "")


def error_response(service: str, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """A real-format AWS error for the service's protocol."""
    if service in {"ec2"}:
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors></Response>"
        return 400, {}, body.encode()
    if service in {"iam", "sts", "auto-scaling"}:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>1</RequestId></ErrorResponse>"
        )
        return 400, {}, body.encode()
    return 400, {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "message": message}).encode()


class Faults:
    """A `before-send` hook on every session the product creates: records calls, fails chosen ones."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.bodies: dict[str, list[bytes]] = {}
        #: (call, url, body) of every request, in order
        self.requests: list[tuple[str, str, bytes]] = []
        self.fail: dict[tuple[str, int], tuple[str, str]] = {}
        self.respond: dict[tuple[str, int], tuple[int, dict[str, str], bytes]] = {}
        self.respond_all: dict[str, tuple[int, dict[str, str], bytes]] = {}
        #: (call, predicate on the request, answer): answer every matching call (after `fail` and `respond`).
        self.respond_if: list[tuple[str, Callable[[Any], bool], tuple[int, dict[str, str], bytes]]] = []
        self._seen: dict[str, int] = {}
        self._lock = __import__("threading").Lock()

    def install(self, monkeypatch: Any) -> Faults:
        from geusemaker.services import aws

        original = aws._new_session

        def patched(target: Any) -> Any:
            session = original(target)
            session.events.register("before-send", self._before_send)
            return session

        monkeypatch.setattr(aws, "_new_session", patched)
        return self

    def mutating_calls(self) -> list[tuple[str, int]]:
        """(service.Operation, occurrence) of every call that changes something, in call order."""
        counted: dict[str, int] = {}
        result = []
        for call in self.calls:
            operation = call.split(".", 1)[1]
            if operation.startswith(READ_PREFIXES):
                continue
            counted[call] = counted.get(call, 0) + 1
            result.append((call, counted[call]))
        return result

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        call = event_name.removeprefix("before-send.")
        with self._lock:
            self.calls.append(call)
            body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
            self.bodies.setdefault(call, []).append(body)
            self.requests.append((call, str(request.url), body))
            self._seen[call] = self._seen.get(call, 0) + 1
            key = (call, self._seen[call])
        service = call.split(".", 1)[0]
        if key in self.fail:
            code, message = self.fail[key]
            status, headers, body = error_response(service, code, message)
            return AWSResponse(request.url, status, headers, _Raw(body))
        answer = self.respond.get(key) or self.respond_all.get(call)
        if answer is None:
            answer = next((a for c, matches, a in self.respond_if if c == call and matches(request)), None)
        if answer is not None:
            status, headers, body = answer
            return AWSResponse(request.url, status, headers, _Raw(body))
        return None

    def ssm_outputs(self, agent: str | None, stdout: str, exit_code: int = 0) -> None:
        """Answer DescribeInstanceInformation and GetCommandInvocation as a real instance would."""
        info = [{"InstanceId": "i-x", "PingStatus": agent}] if agent else []
        self.respond_all["ssm.DescribeInstanceInformation"] = (
            200,
            {},
            json.dumps({"InstanceInformationList": info}).encode(),
        )
        invocation = {
            "Status": "Success" if exit_code == 0 else "Failed", "ResponseCode": exit_code,
            "StandardOutputContent": stdout, "StandardErrorContent": "",
        }  # fmt: skip
        self.respond_all["ssm.GetCommandInvocation"] = (200, {}, json.dumps(invocation).encode())


def stack_secrets(endpoint: str, name: str) -> dict[str, str]:
    """The stack's secrets as SSM holds them (name -> decrypted value)."""
    ssm: Any = boto_client(endpoint, "ssm")
    found = ssm.get_parameters_by_path(Path=f"/geusemaker/{name}/", WithDecryption=True)["Parameters"]
    return {p["Name"]: p["Value"] for p in found}
