"""GGUF metadata keys this project writes beyond the tokenizer and hyperparameters, as data."""

from __future__ import annotations

from collections.abc import Mapping

from gguf import Keys

# Not a standard key: whether the model's generation_config samples by default (transformers honours it).
DO_SAMPLE_KEY = "exaone_desktop.sampling.do_sample"

# generation_config.json field (= GenerationSettings field) -> GGUF key and its value type.
SAMPLING_KEYS: Mapping[str, tuple[str, type]] = {
    "temperature": (Keys.General.SAMPLING_TEMP, float),
    "top_k": (Keys.General.SAMPLING_TOP_K, int),
    "top_p": (Keys.General.SAMPLING_TOP_P, float),
    "min_p": (Keys.General.SAMPLING_MIN_P, float),
    "repetition_penalty": (Keys.General.SAMPLING_PENALTY_REPEAT, float),
    "do_sample": (DO_SAMPLE_KEY, bool),
}
