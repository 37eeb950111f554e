"""Parsers of nvidia-smi output: query CSV (any fields, any order), -L, -q, -q -x, topo -m, errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

MISSING = {"[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", "[Insufficient Permissions]", ""}
DRIVER_FAILURE = "couldn't communicate with the NVIDIA driver"
#: The query the health check sends (header and units included).
HEALTH_QUERY_FIELDS = (
    "index,name,uuid,driver_version,memory.total,memory.used,utilization.gpu,temperature.gpu,"
    "power.draw,power.limit,ecc.errors.uncorrected.volatile.total,pstate"
)

_FIELD_ALIASES = {"clocks.current.sm": "clocks.sm", "clocks.current.memory": "clocks.mem"}


class NvidiaSmiError(ValueError):
    """nvidia-smi failed or printed something that is not what was asked for."""

    def __init__(self, message: str, *, driver_failure: bool = False) -> None:
        super().__init__(message)
        self.driver_failure = driver_failure


@dataclass(frozen=True)
class GpuReading:
    """One GPU as `nvidia-smi --query-gpu` reports it; None where the field was absent, N/A or unsupported."""

    index: int | None = None
    name: str | None = None
    uuid: str | None = None
    pci_bus_id: str | None = None
    driver_version: str | None = None
    memory_total_mib: float | None = None
    memory_used_mib: float | None = None
    memory_free_mib: float | None = None
    utilization_gpu_pct: float | None = None
    utilization_memory_pct: float | None = None
    temperature_c: float | None = None
    power_draw_w: float | None = None
    power_limit_w: float | None = None
    pstate: str | None = None
    clocks_sm_mhz: float | None = None
    clocks_max_sm_mhz: float | None = None
    ecc_errors_uncorrected: int | None = None
    persistence_mode: str | None = None
    compute_mode: str | None = None

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


_NUMERIC = {
    "memory.total": "memory_total_mib", "memory.used": "memory_used_mib", "memory.free": "memory_free_mib",
    "utilization.gpu": "utilization_gpu_pct", "utilization.memory": "utilization_memory_pct",
    "temperature.gpu": "temperature_c", "power.draw": "power_draw_w", "power.limit": "power_limit_w",
    "clocks.sm": "clocks_sm_mhz", "clocks.max.sm": "clocks_max_sm_mhz",
}  # fmt: skip
_TEXT = {
    "name": "name", "uuid": "uuid", "pci.bus_id": "pci_bus_id", "driver_version": "driver_version",
    "pstate": "pstate", "persistence_mode": "persistence_mode", "compute_mode": "compute_mode",
}  # fmt: skip


def check_output(text: str, exit_code: int = 0) -> None:
    """Raise `NvidiaSmiError` when nvidia-smi reported a failure instead of data."""
    if DRIVER_FAILURE in text or exit_code == 9:
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "driver failure")
        raise NvidiaSmiError(f"NVIDIA driver not loaded: {line}", driver_failure=True)
    if "is not a valid field" in text:
        raise NvidiaSmiError(text.strip().splitlines()[0])
    if exit_code == 127 or "command not found" in text:
        raise NvidiaSmiError("nvidia-smi is not installed")
    if exit_code != 0:
        raise NvidiaSmiError(f"nvidia-smi exited with {exit_code}: {text.strip()[:200]}")


def parse_query_gpu(text: str, fields: str | None = None) -> list[GpuReading]:
    """Readings from `--query-gpu=... --format=csv` (header required unless `fields` is given; units allowed)."""
    check_output(text)
    lines = [line for line in text.splitlines() if line.strip()]
    if fields is None:
        if not lines:
            raise NvidiaSmiError("empty nvidia-smi output")
        header, rows = _split(lines[0]), lines[1:]
        names = [re.sub(r"\s*\[.*\]$", "", column) for column in header]
        if not any(name in _TEXT or name in _NUMERIC or name == "index" or name in _FIELD_ALIASES for name in names):
            raise NvidiaSmiError(f"not an nvidia-smi CSV header: {lines[0][:80]}")
    else:
        names, rows = [f.strip() for f in fields.split(",")], lines
    readings = []
    for row in rows:
        values = _split(row)
        if len(values) != len(names):
            raise NvidiaSmiError(f"expected {len(names)} values, got {len(values)}: {row[:80]}")
        readings.append(_reading(dict(zip((_FIELD_ALIASES.get(n, n) for n in names), values, strict=True))))
    return readings


def _split(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(",")]


def _reading(cells: dict[str, str]) -> GpuReading:
    values: dict[str, object] = {}
    for field, attribute in _TEXT.items():
        if field in cells:
            values[attribute] = None if cells[field] in MISSING else cells[field]
    for field, attribute in _NUMERIC.items():
        if field in cells:
            values[attribute] = _number(cells[field])
    if "index" in cells:
        index = _number(cells["index"])
        values["index"] = None if index is None else int(index)
    ecc = cells.get("ecc.errors.uncorrected.volatile.total")
    if ecc is not None:
        number = _number(ecc)
        values["ecc_errors_uncorrected"] = None if number is None else int(number)
    return GpuReading(**values)  # type: ignore[arg-type]


def _number(text: str) -> float | None:
    if text in MISSING:
        return None
    match = re.match(r"^\s*(-?\d+(?:\.\d+)?)", text)
    if match is None:
        raise NvidiaSmiError(f"not a number: {text!r}")
    return float(match.group(1))


@dataclass(frozen=True)
class ListedGpu:
    index: int
    name: str
    uuid: str


def parse_list(text: str) -> list[ListedGpu]:
    """`nvidia-smi -L`: one `GPU 0: NAME (UUID: GPU-...)` line per GPU."""
    check_output(text)
    found = [
        ListedGpu(int(m.group(1)), m.group(2).strip(), m.group(3))
        for m in re.finditer(r"^GPU (\d+): (.+?) \(UUID: ([^)]+)\)", text, re.MULTILINE)
    ]
    if not found and text.strip():
        raise NvidiaSmiError(f"not nvidia-smi -L output: {text.strip()[:80]}")
    return found


def parse_versions(text: str) -> tuple[str | None, str | None]:
    """(driver, CUDA) versions from plain `nvidia-smi` or `nvidia-smi -q`."""
    check_output(text)
    driver = re.search(r"Driver Version\s*:?\s*([\d.]+)", text)
    cuda = re.search(r"CUDA Version\s*:?\s*([\d.]+)", text)
    return (driver.group(1) if driver else None, cuda.group(1) if cuda else None)


def parse_proc_version(text: str) -> str | None:
    """The kernel module version from /proc/driver/nvidia/version."""
    match = re.search(r"Kernel Module(?: for \S+)?\s+([\d.]+)", text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class XmlReport:
    driver_version: str | None
    cuda_version: str | None
    gpus: tuple[tuple[str, str | None, float | None, float | None], ...]  # name, uuid, total MiB, used MiB


def parse_xml(text: str) -> XmlReport:
    """`nvidia-smi -q -x`: versions and, per GPU, product name, UUID and frame-buffer memory."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise NvidiaSmiError(f"not nvidia-smi XML: {exc}") from None
    gpus = tuple(
        (
            gpu.findtext("product_name") or "",
            gpu.findtext("uuid"),
            _number(gpu.findtext("fb_memory_usage/total") or ""),
            _number(gpu.findtext("fb_memory_usage/used") or ""),
        )
        for gpu in root.findall("gpu")
    )
    return XmlReport(root.findtext("driver_version"), root.findtext("cuda_version"), gpus)


def parse_compute_apps(text: str) -> list[tuple[int, str, float | None]]:
    """`--query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits`."""
    apps = []
    for line in text.splitlines():
        if line.strip():
            pid, name, used = _split(line)
            apps.append((int(pid), name, _number(used)))
    return apps


def parse_topology(text: str) -> dict[str, dict[str, str]]:
    """`nvidia-smi topo -m`: per GPU its row (links to other GPUs, CPU and NUMA affinity)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].strip().startswith("GPU"):
        raise NvidiaSmiError("not nvidia-smi topo -m output")
    header = [cell.strip() for cell in re.split(r"\t+", lines[0].strip("\t"))]
    matrix = {}
    for line in lines[1:]:
        if not line.startswith("GPU"):
            break
        cells = [cell.strip() for cell in re.split(r"\t+", line)]
        matrix[cells[0]] = dict(zip(header, cells[1:], strict=False))
    return matrix
