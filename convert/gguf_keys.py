"""GGUF metadata keys this project writes beyond the tokenizer and hyperparameters, as data.

Plain strings (equal to gguf-py's ``Keys.General.SAMPLING_*``, checked by a test) so that the app can
read this table at start-up without importing gguf.
"""

from __future__ import annotations

from collections.abc import Mapping

# Not a standard key: whether the model's generation_config samples by default (transformers honours it).
DO_SAMPLE_KEY = "exaone_desktop.sampling.do_sample"

# Not a standard key: whether transformers' decode() cleans up tokenization spaces (" ." -> ".") for this
# tokenizer. True only when tokenizer_config.json's clean_up_tokenization_spaces is set and transformers does
# apply it: it skips the clean-up for BPE tokenizers (every EXAONE one) unless
# clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output is also set.
CLEAN_UP_SPACES_KEY = "exaone_desktop.tokenizer.clean_up_tokenization_spaces"

# Not a standard key: every end-of-sequence id of generation_config.json (llama.cpp keeps only eos and eot).
EOS_IDS_KEY = "exaone_desktop.eos_token_ids"

# Not a standard key: the EXAONE family table row the converter read the checkpoint as (EXAONE 4.0 and 4.5
# share the exaone4 architecture and chat format, but not their defaults).
FAMILY_KEY = "exaone_desktop.family"

# Not a standard key: the id transformers puts at each image position (EXAONE 4.5's image_token_id), so a
# repetition penalty sees the same history llama.cpp's image embeddings stand in for.
IMAGE_TOKEN_KEY = "exaone_desktop.image_token_id"

# generation_config.json field (= GenerationSettings field) -> GGUF key and its value type.
SAMPLING_KEYS: Mapping[str, tuple[str, type]] = {
    "temperature": ("general.sampling.temp", float),
    "top_k": ("general.sampling.top_k", int),
    "top_p": ("general.sampling.top_p", float),
    "min_p": ("general.sampling.min_p", float),
    "repetition_penalty": ("general.sampling.penalty_repeat", float),
    "do_sample": (DO_SAMPLE_KEY, bool),
}
