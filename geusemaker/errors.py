"""The user-facing error tree and the exit codes of the command line.

Every failure a user can cause or fix is a `UserError` subclass carrying its exit code and,
where there is one, a hint saying how to fix it. Anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geusemaker.redact import redact

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PRECONDITION = 3
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error with a message meant for the user and a documented exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None) -> None:
        message = redact(message)  # AWS answers may quote an access key id: never show or log one
        super().__init__(message)
        self.message = message
        self.hint = redact(hint) if hint else hint
        self.details = [redact(detail) for detail in details or []]


class UsageError(UserError):
    """Bad command-line usage (exit 2)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration document."""

    path: str
    message: str
    line: int | None = None
    found: str | None = None

    def render(self, source: str | None = None) -> str:
        where = f"{source}:{self.line}: " if source and self.line else (f"line {self.line}: " if self.line else "")
        found = f" (found: {self.found})" if self.found is not None else ""
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}{found}"


class ConfigError(UserError):
    """The configuration is invalid (exit 2); carries one `ConfigProblem` per problem."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[ConfigProblem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        count = len(problems)
        head = f"{source or 'configuration'}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head, details=[problem.render(source) for problem in problems])


class CredentialsError(UserError):
    """No usable AWS credentials (exit 2)."""

    exit_code = EXIT_USAGE


class AwsError(UserError):
    """An AWS call failed in a way we do not classify further (exit 1)."""

    def __init__(self, message: str, *, code: str = "", operation: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.operation = operation


class NotFoundError(AwsError):
    """The named AWS resource does not exist (any more)."""


class PreconditionError(UserError):
    """An AWS precondition is not met: quota, capacity, budget (exit 3)."""

    exit_code = EXIT_PRECONDITION


class CapacityError(PreconditionError):
    """AWS has no capacity for the instance type in the AZ or region."""


@dataclass
class QuotaShortfall:
    """What a vCPU quota lacks, and how to ask for more."""

    code: str
    name: str
    region: str
    value: float
    used: float
    needed: float
    notes: list[str] = field(default_factory=list)

    @property
    def request_command(self) -> str:
        desired = int(max(self.value, self.used + self.needed))
        return (
            f"aws service-quotas request-service-quota-increase --service-code ec2 "
            f"--quota-code {self.code} --desired-value {desired} --region {self.region}"
        )


class QuotaError(PreconditionError):
    """A vCPU quota is too small for the instance type; `plan` is what would run once it is raised."""

    def __init__(self, shortfall: QuotaShortfall) -> None:
        self.shortfall = shortfall
        self.plan: object | None = None
        s = shortfall
        super().__init__(
            f"vCPU quota {s.code} ({s.name}) in {s.region} is {s.value:g}, {s.used:g} in use; "
            f"{s.needed:g} more vCPUs are needed",
            hint=f"Ask AWS for more: {s.request_command}",
        )


class BudgetError(PreconditionError):
    """The cheapest feasible placement costs more than `max_hourly_usd`."""


class StateError(UserError):
    """The local state file is damaged, unreadable or from a newer version (exit 2); never reset silently."""

    exit_code = EXIT_USAGE


class DeploymentExistsError(UsageError):
    """A deployment of that name is already recorded (exit 2)."""


class LockedError(UserError):
    """Another process is working on the same deployment (exit 1)."""


class SandboxError(UserError):
    """The local AWS sandbox cannot be used (exit 1)."""


class Interrupted(UserError):
    """Interrupted by the user or a signal (exit 130)."""

    exit_code = EXIT_INTERRUPTED
