"""Session and client factory (profile, region, endpoint, retry mode) and AWS error translation.

boto3 and botocore are imported inside functions so that commands which never reach AWS
(`--help`, `gpus`, `config ...`) do not pay for importing them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from geusemaker import __version__
from geusemaker.errors import AwsError, CapacityError, CredentialsError, NotFoundError, PreconditionError, UsageError
from geusemaker.models.regions import region_problem

if TYPE_CHECKING:
    import boto3

T = TypeVar("T")
DEFAULT_REGION = "us-east-1"
CAPACITY_CODES = frozenset(
    {
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "InsufficientHostCapacity",
        "InsufficientFreeAddressesInSubnet",
        "SpotMaxPriceTooLow",
        "Unsupported",
        "UnfulfillableCapacity",
    }
)
QUOTA_CODES = frozenset({"VcpuLimitExceeded", "MaxSpotInstanceCountExceeded", "InstanceLimitExceeded"})
NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity",
        "ParameterNotFound",
        "FileSystemNotFound",
        "MountTargetNotFound",
        "ResourceNotFoundException",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "RequestExpired",
    }
)
CREDENTIALS_HINT = (
    "Configure credentials with `aws configure` or `aws sso login --profile NAME`, pass --profile, "
    "or try the local sandbox with --sandbox."
)


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS calls go: profile, default region, endpoint and (sandbox only) static credentials."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    access_key: str | None = field(default=None, repr=False)  # never in a repr, a message or a log
    secret_key: str | None = field(default=None, repr=False)
    max_attempts: int = 5
    sandbox: bool = False
    #: Which sandbox run (its endpoint and start time): a stopped sandbox takes its resources with it.
    sandbox_id: str | None = None


@dataclass
class AwsClients:
    """Builds boto3 sessions and clients for one `AwsTarget`, cached and safe to share across threads."""

    target: AwsTarget = field(default_factory=AwsTarget)
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _account_id: str | None = field(default=None, init=False, repr=False)

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                self._session = _new_session(self.target)
            return self._session

    @property
    def default_region(self) -> str:
        return self.target.region or self.session.region_name or DEFAULT_REGION

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client for `service` in `region` (default region when None)."""
        from botocore.config import Config

        region = region or self.default_region
        problem = region_problem(region, allow_auto=False)
        if problem:  # botocore would refuse it with a bare InvalidRegionError
            raise UsageError(
                f"AWS region: {problem}",
                hint="Check --region, the config's region, AWS_REGION, AWS_DEFAULT_REGION and the profile's region.",
            )
        key = (service, region)
        session = self.session
        with self._lock:
            if key not in self._clients:
                config = Config(
                    region_name=region,
                    retries={"mode": "standard", "max_attempts": self.target.max_attempts},
                    user_agent_extra=f"geusemaker/{__version__}",
                    max_pool_connections=32,
                    connect_timeout=10,
                    read_timeout=60,
                )
                factory: Any = session
                self._clients[key] = factory.client(service, config=config, endpoint_url=self.target.endpoint_url)
            return self._clients[key]

    def account_id(self) -> str:
        """The caller's account id; raises `CredentialsError` when credentials are missing or bad."""
        if self._account_id is None:
            with translate_errors("sts:GetCallerIdentity"):
                self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id


def profile_region(profile: str | None) -> str | None:
    """The region set in the AWS config for `profile` (default profile when None); None when unset."""
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    session = botocore.session.Session(profile=profile)
    try:
        region = session.get_scoped_config().get("region")
    except ProfileNotFound:  # reported where credentials are needed
        return None
    return str(region) if region else None


def _new_session(target: AwsTarget) -> boto3.Session:
    import boto3
    from botocore.exceptions import ProfileNotFound

    kwargs: dict[str, Any] = {"region_name": target.region}
    if target.access_key:
        kwargs |= {"aws_access_key_id": target.access_key, "aws_secret_access_key": target.secret_key}
    else:
        kwargs["profile_name"] = target.profile
    try:
        return boto3.Session(**kwargs)
    except ProfileNotFound:
        raise CredentialsError(
            f"AWS profile '{target.profile}' is not configured",
            hint="List profiles with `aws configure list-profiles`.",
        ) from None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (empty for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def translate(exc: BaseException, operation: str = "") -> BaseException:
    """Turn a botocore exception into one of our errors; unknown exceptions are returned unchanged."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        TokenRetrievalError,
        WaiterError,
    )
    from botocore.exceptions import (
        ProfileNotFound as _ProfileNotFound,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CredentialsError("no AWS credentials found", hint=CREDENTIALS_HINT)
    if isinstance(exc, TokenRetrievalError):
        return CredentialsError("the AWS SSO session has expired", hint="Run `aws sso login` and try again.")
    if isinstance(exc, _ProfileNotFound):
        return CredentialsError(str(exc), hint="List profiles with `aws configure list-profiles`.")
    if isinstance(exc, NoRegionError):
        return CredentialsError("no AWS region set", hint="Pass --region or set region in the config.")
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        return AwsError(f"cannot reach AWS ({operation}): {exc}", operation=operation)
    if isinstance(exc, WaiterError):
        return AwsError(f"gave up waiting ({operation}): {exc.last_response.get('Error', {}).get('Message', exc)}")
    if not isinstance(exc, ClientError):
        return exc
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "") or code
    op = operation or exc.operation_name
    text = f"{op}: {code}: {message}"
    if code in CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials ({code})", hint=CREDENTIALS_HINT)
    if code in CAPACITY_CODES:
        return CapacityError(text)
    if code in QUOTA_CODES:
        return PreconditionError(text, hint="Request a higher vCPU quota in the Service Quotas console.")
    if code in NOT_FOUND_CODES or code.endswith((".NotFound", "NotFound", "NotFoundException")):
        return NotFoundError(text, code=code, operation=op)
    if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
        hint = "The AWS identity lacks a permission; docs/iam-policy.json lists what GeuseMaker needs."
        return AwsError(text, code=code, operation=op, hint=hint)
    return AwsError(text, code=code, operation=op)


@contextmanager
def translate_errors(operation: str = "") -> Iterator[None]:
    """Re-raise botocore exceptions raised inside the block as our own errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        translated = translate(exc, operation)
        if translated is exc:
            raise
        raise translated from exc


def retry_codes(
    action: Callable[[], T],
    codes: frozenset[str],
    *,
    attempts: int = 8,
    base_delay_s: float = 1.0,
    max_delay_s: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    when: Callable[[AwsError], bool] = lambda _: True,
) -> T:
    """Run `action`, retrying with exponential backoff while it fails with one of `codes`.

    For conditions botocore's retry modes do not cover: DependencyViolation while a resource
    drains, IAM propagation (InvalidParameterValue on a fresh instance profile). `when` narrows
    the retried errors further (e.g. by message).
    """
    delay = base_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except AwsError as exc:
            if exc.code not in codes or not when(exc) or attempt == attempts:
                raise
        sleep(delay)
        delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")


def ignore_missing(operation: str, call: Callable[[], Any]) -> bool:
    """Run a delete-like call; a resource that is already gone counts as done (returns False then)."""
    try:
        with translate_errors(operation):
            call()
    except NotFoundError:
        return False
    return True
