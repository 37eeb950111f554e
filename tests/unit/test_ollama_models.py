"""The model size table: which Ollama models cannot fit a GPU's memory."""

from __future__ import annotations

import pytest

from geusemaker.models.ollama_models import fit_warning, model_memory_gib


@pytest.mark.parametrize(
    ("model", "low", "high"),
    [("llama3.2:3b", 2, 4), ("llama3.2", 2, 4), ("llama3.2:latest", 2, 4), ("llama3.1:70b", 40, 55),
     ("phi3:mini", 2, 4), ("deepseek-r1:671b", 380, 480)],
)  # fmt: skip
def test_known_models_need_about_their_size_plus_context(model: str, low: float, high: float) -> None:
    need = model_memory_gib(model)
    assert need is not None and low < need < high


@pytest.mark.parametrize("model", ["my-own-model:7b", "llama3.1:13b", "someone/llama3.1:70b"])
def test_unknown_models_get_no_estimate(model: str) -> None:
    assert model_memory_gib(model) is None
    assert fit_warning([model], "T4", 1, 16) is None


def test_a_70b_model_does_not_fit_one_t4_but_fits_eight_a100() -> None:
    warning = fit_warning(["llama3.2:3b", "llama3.1:70b"], "T4", 1, 16)
    assert warning is not None and "llama3.1:70b needs about" in warning and "T4 has 16 GiB" in warning
    assert "llama3.2:3b" not in warning
    assert fit_warning(["llama3.1:70b"], "A100", 8, 40) is None
    assert "4 x A10G has 89.6 GiB" in str(fit_warning(["qwen3:235b"], "A10G", 4, 22.4))
