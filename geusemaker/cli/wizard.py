"""The interactive deploy wizard (questionary): answers -> a validated DeploymentConfig.

Every prompt uses `unsafe_ask`, so Ctrl-C (and Esc) raise KeyboardInterrupt: the CLI says that it
was cancelled and nothing was created, and exits 130.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from geusemaker.catalog import Catalog
from geusemaker.models.config import ALL_SERVICES, NAME_PATTERN, OLLAMA_MODEL_PATTERN, DeploymentConfig
from geusemaker.models.ollama_models import fit_warning

CPU_ONLY = "cpu"
AUTO = "auto"


class Wizard:
    """Asks the questions in order; `prompt_options` go to every prompt (tests pass pipe input/output)."""

    def __init__(
        self,
        catalog: Catalog,
        existing_names: set[str],
        my_ip: Callable[[], str | None],
        **prompt_options: Any,
    ) -> None:
        self.catalog = catalog
        self.existing = existing_names
        self.my_ip = my_ip
        self.options = prompt_options

    # -- prompt helpers ----------------------------------------------------------------------------
    def _ask(self, question: Any) -> Any:
        from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

        escape = KeyBindings()

        @escape.add("escape", eager=True)
        def _cancel(event: Any) -> None:
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        app = question.application
        app.key_bindings = merge_key_bindings([app.key_bindings, escape]) if app.key_bindings else escape
        return question.unsafe_ask()

    def text(self, message: str, default: str = "", validate: Callable[[str], bool | str] | None = None) -> str:
        import questionary

        return str(self._ask(questionary.text(message, default=default, validate=validate, **self.options))).strip()

    def select(self, message: str, choices: list[tuple[str, Any]], default: Any = None) -> Any:
        import questionary

        items = [questionary.Choice(title, value=value) for title, value in choices]
        chosen = next((item for item in items if item.value == default), None)
        return self._ask(questionary.select(message, choices=items, default=chosen, **self.options))

    def confirm(self, message: str, default: bool) -> bool:
        import questionary

        return bool(self._ask(questionary.confirm(message, default=default, **self.options)))

    def checkbox(
        self, message: str, choices: list[tuple[str, str, bool]], validate: Callable[[list[str]], Any]
    ) -> list[str]:
        import questionary

        items = [questionary.Choice(title, value=value, checked=checked) for title, value, checked in choices]
        return list(self._ask(questionary.checkbox(message, choices=items, validate=validate, **self.options)))

    # -- the flow ---------------------------------------------------------------------------------
    def run(self) -> DeploymentConfig:
        from geusemaker.config_io import validate_data

        name = self.text("Stack name:", "my-llm", self._valid_name)
        region = self.select(
            "Region:", [("auto: cheapest feasible region", AUTO)] + [(r, r) for r in self.catalog.regions()], AUTO
        )
        gpu = self.select("GPU:", self._gpu_choices(), "T4")
        document: dict[str, Any] = {"name": name, "region": region}
        compute: dict[str, Any] = {}
        if gpu == CPU_ONLY:
            document["tier"] = "cpu"
        else:
            counts = sorted({s.gpu_count for s in self.catalog.specs.values() if s.gpu == gpu})
            compute |= {
                "gpu": gpu.lower(),
                "gpu_count": self.select("How many GPUs:", [(str(c), c) for c in counts], counts[0]),
            }
        compute["market"] = self.select(
            "Market:",
            [("spot or on-demand: spot first, on-demand if spot has no capacity", "spot-or-on-demand"),
             ("spot: cheapest, can be interrupted", "spot"), ("on-demand: never interrupted", "on-demand")],
            "spot-or-on-demand",
        )  # fmt: skip
        services = self.checkbox(
            "Services:",
            [(s, s, True) for s in ALL_SERVICES],
            lambda chosen: self._valid_services(chosen, gpu != CPU_ONLY),
        )
        document["services"] = services
        if "ollama" in services:
            document["ollama"] = {"models": self._models(gpu, compute.get("gpu_count", 1))}
        storage: dict[str, Any] = {"root_gb": int(self.text("Root volume (GiB):", "100", _int_between(50, 16384)))}
        storage["data"] = self.select(
            "Service data:",
            [("EBS data volume: kept across stop, start and replacement", "ebs"),
             ("EBS data volume, and Ollama's models on EFS", "efs"),
             ("root disk: lost with the instance", "none")],
            "ebs",
        )  # fmt: skip
        if storage["data"] != "none":
            storage["ebs_gb"] = int(self.text("Data volume (GiB):", "100", _int_between(1, 16384)))
        document["storage"] = storage
        document["access"] = self._access()
        budget = self.text("Budget, max $/h for the whole stack (empty: none):", "", _optional_price)
        if budget:
            compute["max_hourly_usd"] = float(budget)
        document["compute"] = compute
        document["lifecycle"] = {
            "idle_stop_minutes": int(self.text("Stop after idle minutes (0 = never):", "60", _idle_minutes)),
            "max_runtime_hours": int(
                self.text("Stop after hours in any case (0 = never):", "0", _int_between(0, 8760))
            ),
        }
        return validate_data(document, "wizard")

    def _models(self, gpu: str, count: int) -> list[str]:
        """The Ollama models; one that cannot fit the GPU memory is kept only when the user says so."""
        answer = "llama3.2:3b"
        while True:
            answer = self.text("Ollama models (comma separated):", answer, _valid_models)
            models = [m.strip() for m in answer.split(",") if m.strip()]
            memory = self._gpu_memory_gib(gpu)
            warning = None if memory is None else fit_warning(models, gpu, count, memory)
            if warning is None or self.confirm(f"Warning: {warning} Keep these models anyway?", default=False):
                return models

    def _gpu_memory_gib(self, gpu: str) -> float | None:
        """Memory of one GPU of this model (None for CPU only)."""
        return next((s.gpu_memory_gib for s in self.catalog.specs.values() if s.gpu == gpu and s.gpu_count), None)

    def _access(self) -> dict[str, Any]:
        ip = self.my_ip()
        choices: list[tuple[str, str]] = [("SSM only, no open ports (recommended)", "ssm")]
        if ip:
            choices.append((f"my IP ({ip}/32)", "my-ip"))
        choices.append(("a custom CIDR", "custom"))
        mode = self.select("Access:", choices, "ssm")
        if mode == "ssm":
            return {"mode": "ssm"}
        cidr = f"{ip}/32" if mode == "my-ip" else self.text("CIDR allowed in:", "", _valid_cidr)
        return {"mode": "cidr", "allowed_cidrs": [cidr]}

    def _gpu_choices(self) -> list[tuple[str, str]]:
        rows = []
        for gpu in self.catalog.gpu_models():
            offers = self.catalog.offers(gpu=gpu)
            priced = [o for o in offers if o.on_demand_usd_hour is not None]
            if not priced:
                continue
            cheapest = min(priced, key=lambda o: o.on_demand_usd_hour or 0)
            rows.append(
                (cheapest.on_demand_usd_hour or 0.0,
                 f"{gpu:<10} {cheapest.spec.gpu_memory_gib:>5g} GiB   from ${cheapest.on_demand_usd_hour:.3f}/h "
                 f"({cheapest.spec.instance_type}, {cheapest.region})", gpu)
            )  # fmt: skip
        choices = [(title, gpu) for _, title, gpu in sorted(rows)]
        return [*choices, ("CPU only (no GPU, slow inference)", CPU_ONLY)]

    def _valid_name(self, text: str) -> bool | str:
        if not re.match(NAME_PATTERN, text):
            return "lowercase letters, digits and '-', 1-40 characters, starting with a letter"
        if text in self.existing:
            return f"a deployment named {text} exists already"
        return True

    @staticmethod
    def _valid_services(chosen: list[str], gpu: bool) -> bool | str:
        if not chosen:
            return "choose at least one service"
        if gpu and "ollama" not in chosen:
            return "a GPU stack runs Ollama: keep ollama"
        if "n8n" in chosen and "postgres" not in chosen:
            return "n8n needs postgres"
        return True


def _valid_models(text: str) -> bool | str:
    models = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in models if not OLLAMA_MODEL_PATTERN.match(m)]
    return f"not an Ollama model name: {bad[0]}" if bad else True


def _int_between(low: int, high: int) -> Callable[[str], bool | str]:
    def check(text: str) -> bool | str:
        return True if text.strip().isdigit() and low <= int(text) <= high else f"a whole number from {low} to {high}"

    return check


def _idle_minutes(text: str) -> bool | str:
    ok = text.strip().isdigit() and (int(text) == 0 or 10 <= int(text) <= 10080)
    return True if ok else "0 (never) or 10 to 10080 minutes"


def _optional_price(text: str) -> bool | str:
    if not text.strip():
        return True
    try:
        return True if 0 < float(text) <= 1000 else "a price in $/h above 0"
    except ValueError:
        return "a price in $/h, like 1.50"


def _valid_cidr(text: str) -> bool | str:
    from geusemaker.models.access import is_wide, parse_cidr

    try:
        network = parse_cidr(text.strip())
    except ValueError as exc:
        return str(exc)
    if is_wide(network):
        return f"{network} is wider than this wizard opens; give your own address or network (like 203.0.113.7/32)"
    return True


def public_ip(timeout_s: float = 3.0) -> str | None:
    """This machine's public IPv4 (checkip.amazonaws.com), or None when it cannot be found."""
    import urllib.request

    try:
        with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=timeout_s) as answer:
            text = answer.read(64).decode().strip()
        return str(ipaddress.IPv4Address(text))
    except (OSError, ValueError):
        return None
