"""Where a stack's data lives (its layout), and the storage warnings of a configuration.

`storage.data` names what the user wants; the layout is what the boot and the plan build from it:

- `volume` (data: ebs, the default): every service's data and Docker's image store on one encrypted gp3
  data volume that outlives every instance.
- `volume+efs` (data: efs): the same data volume, and Ollama's models on EFS (a shared file system
  fits models, which several instances may read); Qdrant and PostgreSQL are never on a network file system.
- `efs`: everything on EFS, the layout of stacks deployed before the data volume was the default; it is
  kept for them, never chosen for a new stack.
- `root`: everything on the root disk (data: none); nothing survives the instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

DataLayout = Literal["volume", "volume+efs", "efs", "root"]
#: the layout of a stack deployed when `data: efs` put every service's data on EFS
LEGACY_EFS: DataLayout = "efs"
#: the mount point of the data volume (or, in the old layout, of EFS)
DATA_DIR = "/opt/geusemaker/data"
#: the mount point of EFS beside the data volume (its models)
SHARED_DIR = "/opt/geusemaker/shared"
#: the state fact that records a stack's layout (absent in states written before it existed)
LAYOUT_FACT = "data_layout"
STORAGE_DOC = "docs/storage.md"

_LAYOUTS: dict[str, DataLayout] = {"ebs": "volume", "efs": "volume+efs", "none": "root"}


def layout_for(data: str) -> DataLayout:
    """The layout a new stack gets for `storage.data`."""
    return _LAYOUTS[data]


def has_volume(layout: DataLayout) -> bool:
    """Whether the stack has an EBS data volume (mounted at DATA_DIR)."""
    return layout in ("volume", "volume+efs")


def has_file_system(layout: DataLayout) -> bool:
    """Whether the stack has an EFS file system."""
    return layout in ("volume+efs", "efs")


def efs_mount(layout: DataLayout) -> str:
    """Where EFS is mounted ("" without one): beside the data volume, or (old layout) as the data directory."""
    return {"volume+efs": SHARED_DIR, "efs": DATA_DIR}.get(layout, "")


def mounts(layout: DataLayout) -> tuple[str, ...]:
    """The mount points the stack's containers need before they start."""
    return tuple(path for path in (DATA_DIR if layout != "root" else "", efs_mount(layout)) if path)


def service_dir(layout: DataLayout, service: str) -> str:
    """The host directory of `service`'s data: Ollama's models on EFS with `volume+efs`, all else in DATA_DIR."""
    if service == "ollama" and layout == "volume+efs":
        return f"{SHARED_DIR}/ollama"
    return f"{DATA_DIR}/{service}"


def kept_layout(facts: Mapping[str, object], kinds: Iterable[str]) -> DataLayout | None:
    """The layout of a stack's kept data: the recorded one; without a record (a state written before layouts
    were recorded), a file system without a data volume is the old all-on-EFS layout. None: nothing says."""
    recorded = facts.get(LAYOUT_FACT)
    if recorded in ("volume", "volume+efs", "efs", "root"):
        return recorded  # type: ignore[return-value]
    kinds = set(kinds)
    if "file-system" in kinds and "data-volume" not in kinds:
        return LEGACY_EFS
    return None


def storage_warnings(data: str, data_given: bool, layout: DataLayout | None = None) -> list[str]:
    """What a user should know about `storage.data` whose meaning changed (`data_given`: the key is set)."""
    if layout == LEGACY_EFS:
        return [
            "this stack's kept data is all on EFS (deployed before the data volume); it keeps that layout. "
            "Qdrant and PostgreSQL do not support network file systems: export what you need and deploy "
            f"afresh to move them onto the data volume (see {STORAGE_DOC})"
        ]
    if not data_given:
        return [
            "storage.data now defaults to ebs (an encrypted gp3 data volume kept across stop, start and "
            f"replacement); set storage.data: efs to keep models on EFS — see {STORAGE_DOC}"
        ]
    if data == "efs":
        return [
            "storage.data: efs now keeps only Ollama's models on EFS; Postgres, Qdrant and n8n live on the data volume"
        ]
    return []
