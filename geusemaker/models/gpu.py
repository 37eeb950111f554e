"""GPU names, aliases and the EC2 instance families GeuseMaker supports."""

from __future__ import annotations

import difflib
import re

#: Canonical GPU model names, as the catalog spells them.
GPU_MODELS: tuple[str, ...] = (
    "T4",
    "A10G",
    "L4",
    "L40S",
    "V100",
    "V100-32GB",
    "A100",
    "A100-80GB",
    "H100",
    "H200",
    "B200",
    "B300",
    "RTX-PRO-4500",
)

_EXTRA_ALIASES = {
    "a10": "A10G", "a100-40gb": "A100", "v100-16gb": "V100", "l40": "L40S",
    "rtx-pro-4500-blackwell": "RTX-PRO-4500", "rtx pro 4500": "RTX-PRO-4500", "rtxpro4500": "RTX-PRO-4500",
}  # fmt: skip
GPU_ALIASES: dict[str, str] = {name.lower(): name for name in GPU_MODELS} | _EXTRA_ALIASES

#: NVIDIA x86_64 instance families with a complete driver/AMI story: the ones the open-driver
#: Deep Learning Base AMI lists as supported.
SUPPORTED_GPU_FAMILIES: tuple[str, ...] = (
    "g4dn", "g5", "g6", "g6e", "gr6", "g7", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300",
)  # fmt: skip
_V100 = (
    "NVIDIA V100, which needs NVIDIA's proprietary driver; the open-driver Deep Learning AMI "
    "GeuseMaker boots does not support P3/P3dn"
)
#: GPU models that exist on EC2 but that GeuseMaker does not deploy, and why.
UNSUPPORTED_GPUS: dict[str, str] = {"V100": _V100, "V100-32GB": _V100}
#: Accelerator families that exist on EC2 but that GeuseMaker does not deploy onto.
UNSUPPORTED_ACCELERATOR_FAMILIES: dict[str, str] = {
    "p3": _V100,
    "p3dn": _V100,
    "g6f": "fractional NVIDIA L4, which needs the NVIDIA GRID driver; the open-driver Deep Learning AMI lacks it",
    "gr6f": "fractional NVIDIA L4, which needs the NVIDIA GRID driver; the open-driver Deep Learning AMI lacks it",
    "g7e": "NVIDIA RTX PRO 6000, not yet listed as supported by the open-driver Deep Learning AMI",
    "p6e-gb200": "NVIDIA GB200 on an Arm (Grace) host, sold as UltraServers",
    "g4ad": "AMD Radeon GPU (no CUDA)",
    "g5g": "Arm (Graviton) host with NVIDIA T4G",
    "g3": "retired Maxwell GPU generation",
    "g3s": "retired Maxwell GPU generation",
    "p2": "retired Kepler GPU generation",
    "dl1": "Habana Gaudi accelerator",
    "dl2q": "Qualcomm accelerator",
    "inf1": "AWS Inferentia",
    "inf2": "AWS Inferentia",
    "trn1": "AWS Trainium",
    "trn1n": "AWS Trainium",
    "trn2": "AWS Trainium",
    "f1": "FPGA",
    "f2": "FPGA",
}

INSTANCE_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")


def normalize_gpu(text: str) -> str:
    """Return the canonical GPU name for an alias such as `nvidia-a10g`; raise ValueError otherwise."""
    key = text.strip().lower()
    for prefix in ("nvidia-", "nvidia "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    if key in GPU_ALIASES:
        return GPU_ALIASES[key]
    canonical = [name.lower() for name in GPU_MODELS]
    close = difflib.get_close_matches(key, canonical, n=1) or difflib.get_close_matches(key, list(GPU_ALIASES), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    allowed = ", ".join(canonical)
    raise ValueError(f"unknown GPU '{text}'; {hint}allowed: {allowed}")


def instance_family(instance_type: str) -> str:
    """`g5.xlarge` -> `g5`."""
    return instance_type.split(".", 1)[0]


def gpu_family_problem(instance_type: str) -> str | None:
    """Why an instance type cannot carry the GPU tier, or None when its family is supported."""
    family = instance_family(instance_type)
    if family in SUPPORTED_GPU_FAMILIES:
        return None
    if family in UNSUPPORTED_ACCELERATOR_FAMILIES:
        return (
            f"family {family} ({UNSUPPORTED_ACCELERATOR_FAMILIES[family]}) is not supported; "
            f"supported: {', '.join(SUPPORTED_GPU_FAMILIES)}"
        )
    close = _close_family(family)
    if close:
        size = instance_type.partition(".")[2]
        return f"'{instance_type}' is not an NVIDIA GPU instance type; did you mean {close}.{size}?"
    if family[:1] in ("g", "p"):
        return (
            f"family {family} is not an NVIDIA GPU family GeuseMaker knows; supported: "
            f"{', '.join(SUPPORTED_GPU_FAMILIES)}"
        )
    return (
        f"{instance_type} has no NVIDIA GPU; tier gpu needs one of the families "
        f"{', '.join(SUPPORTED_GPU_FAMILIES)} (or set tier: cpu)"
    )


def _close_family(family: str) -> str | None:
    """A supported GPU family `family` is probably a typo of (g4nd -> g4dn, p4 -> p4d)."""
    if not family or family[0] not in "gp":
        return None
    close = difflib.get_close_matches(family, SUPPORTED_GPU_FAMILIES, n=1, cutoff=0.6)
    transposed = [f for f in SUPPORTED_GPU_FAMILIES if sorted(f) == sorted(family)]
    found = transposed or close
    return found[0] if found else None
