"""How an instance's memory is split between the system and the containers.

The launch template is shared by every instance size the fleet may pick, so the split is made on
the instance: the boot script embeds this module's source and runs it against /proc/meminfo.
It must therefore stay self-contained (standard library only, Python 3.8+).
"""

from __future__ import annotations

#: (per mille of the memory, floor MiB, cap MiB) kept for the kernel, Docker, the SSM agent and
#: the page cache that model loads read through.
SYSTEM_RESERVE = (100, 1536, 8192)
#: (per mille of the memory left after the reserve, floor MiB, cap MiB) for every service but Ollama.
CAPPED = {
    "postgres": (50, 512, 4096),
    "n8n": (100, 1024, 4096),
    "qdrant": (100, 512, 16384),
    "crawl4ai": (100, 1536, 6144),
}
#: The capped services together take at most this per mille of the memory left after the reserve.
CAPPED_TOTAL_PER_MILLE = 500


def _share(total_mib: int, rule: tuple[int, int, int]) -> int:
    per_mille, floor, cap = rule
    return max(floor, min(cap, total_mib * per_mille // 1000))


def memory_limits(total_mib: int, services: list[str]) -> dict[str, int]:
    """The memory limit in MiB of each service's container on an instance with `total_mib` of memory.

    The system keeps its reserve, each capped service gets its share (scaled down together on a
    small instance), and Ollama, which holds models in memory while it loads them, gets the rest.
    """
    reserve = min(_share(total_mib, SYSTEM_RESERVE), total_mib // 4)
    available = total_mib - reserve
    limits = {name: _share(available, CAPPED[name]) for name in services if name in CAPPED}
    budget = available * CAPPED_TOTAL_PER_MILLE // 1000
    used = sum(limits.values())
    if used > budget:
        limits = {name: value * budget // used for name, value in limits.items()}
    if "ollama" in services:
        limits["ollama"] = available - sum(limits.values())
    return limits


def limit_variable(service: str) -> str:
    """The compose variable that carries a service's limit (`${GM_MEM_N8N}`)."""
    return "GM_MEM_" + service.upper().replace("-", "_")
