"""How much GPU memory well-known Ollama models need, to warn before a model cannot fit the GPU.

Sizes are the downloads of the Ollama library's default (4-bit) tags in GB; a model needs about its
size plus room for the context (KV cache) and the CUDA runtime. Unknown models get no estimate.
"""

from __future__ import annotations

#: name:tag -> download size in GB of the library's default quantisation.
MODEL_SIZES_GB: dict[str, float] = {
    "llama3.2:1b": 1.3, "llama3.2:3b": 2.0,
    "llama3.1:8b": 4.9, "llama3.1:70b": 43, "llama3.1:405b": 243,
    "llama3.3:70b": 43, "llama3:8b": 4.7, "llama3:70b": 40,
    "llama2:7b": 3.8, "llama2:13b": 7.4, "llama2:70b": 39,
    "qwen2.5:0.5b": 0.4, "qwen2.5:1.5b": 1.0, "qwen2.5:3b": 1.9, "qwen2.5:7b": 4.7, "qwen2.5:14b": 9.0,
    "qwen2.5:32b": 20, "qwen2.5:72b": 47,
    "qwen2.5-coder:7b": 4.7, "qwen2.5-coder:14b": 9.0, "qwen2.5-coder:32b": 20,
    "qwen3:0.6b": 0.5, "qwen3:1.7b": 1.4, "qwen3:4b": 2.5, "qwen3:8b": 5.2, "qwen3:14b": 9.3, "qwen3:30b": 19,
    "qwen3:32b": 20, "qwen3:235b": 142,
    "mistral:7b": 4.1, "mistral-nemo:12b": 7.1, "mistral-small:24b": 14, "mixtral:8x7b": 26, "mixtral:8x22b": 80,
    "gemma2:2b": 1.6, "gemma2:9b": 5.4, "gemma2:27b": 16,
    "gemma3:1b": 0.8, "gemma3:4b": 3.3, "gemma3:12b": 8.1, "gemma3:27b": 17,
    "phi3:3.8b": 2.2, "phi3:14b": 7.9, "phi4:14b": 9.1,
    "deepseek-r1:1.5b": 1.1, "deepseek-r1:7b": 4.7, "deepseek-r1:8b": 4.9, "deepseek-r1:14b": 9.0,
    "deepseek-r1:32b": 20, "deepseek-r1:70b": 43, "deepseek-r1:671b": 404,
    "codellama:7b": 3.8, "codellama:13b": 7.4, "codellama:34b": 19, "codellama:70b": 39,
    "llava:7b": 4.7, "llava:13b": 8.0, "llava:34b": 20,
    "nomic-embed-text:v1.5": 0.27, "mxbai-embed-large:335m": 0.67,
}  # fmt: skip

#: The tag `name` and `name:latest` stand for.
DEFAULT_TAGS: dict[str, str] = {
    "llama3.2": "3b", "llama3.1": "8b", "llama3.3": "70b", "llama3": "8b", "llama2": "7b",
    "qwen2.5": "7b", "qwen2.5-coder": "7b", "qwen3": "8b", "mistral": "7b", "mistral-nemo": "12b",
    "mistral-small": "24b", "mixtral": "8x7b", "gemma2": "9b", "gemma3": "4b", "phi3": "3.8b", "phi4": "14b",
    "deepseek-r1": "7b", "codellama": "7b", "llava": "7b", "nomic-embed-text": "v1.5", "mxbai-embed-large": "335m",
}  # fmt: skip
_ALIASES = {"phi3:mini": "phi3:3.8b", "phi3:medium": "phi3:14b"}
GIB_PER_GB = 1e9 / 2**30
#: Context (KV cache at Ollama's default context) and CUDA runtime on top of the weights.
OVERHEAD_SHARE = 0.2
OVERHEAD_GIB = 1.0


def model_memory_gib(model: str) -> float | None:
    """GPU memory the model needs to run wholly on the GPU (GiB), or None for a model not in the table."""
    name, _, tag = model.partition(":")
    if not tag or tag == "latest":
        tag = DEFAULT_TAGS.get(name, "")
    key = _ALIASES.get(f"{name}:{tag}", f"{name}:{tag}")
    size_gb = MODEL_SIZES_GB.get(key)
    if size_gb is None:
        return None
    return round(size_gb * GIB_PER_GB * (1 + OVERHEAD_SHARE) + OVERHEAD_GIB, 1)


def models_that_do_not_fit(models: list[str], gpu_memory_gib: float) -> list[tuple[str, float]]:
    """(model, GiB it needs) of every known model that needs more than the GPUs' memory together."""
    needs = ((model, model_memory_gib(model)) for model in models)
    return [(model, need) for model, need in needs if need is not None and need > gpu_memory_gib]


def fit_warning(models: list[str], gpu: str, gpu_count: int, gpu_memory_gib: float) -> str | None:
    """A sentence for the user when a model cannot fit the GPU memory; None when all fit (or are unknown)."""
    total = gpu_memory_gib * gpu_count
    too_big = models_that_do_not_fit(models, total)
    if not too_big:
        return None
    listed = ", ".join(f"{model} needs about {need:g} GiB" for model, need in too_big)
    gpus = f"{gpu_count} x {gpu}" if gpu_count > 1 else gpu
    return (
        f"{listed}, but {gpus} has {total:g} GiB of GPU memory: it would run mostly on the CPU (very slowly) "
        "or fail to load. Choose a smaller model or a larger GPU."
    )
