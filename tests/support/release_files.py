"""LG's own release files (``shared/releases/`` beside the checkout) as test fixtures: the folder, the files, and a
reduced EXAONE-4.0-1.2B checkpoint built from the real config and tokenizer with random weights.

LG's files are not copied into this repository. A test that needs one asks ``need`` and is skipped, with the
reason, where the folder is absent (a fresh clone elsewhere); CI always has it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.tiny_checkpoints import Kind, ReleaseFileMissing, random_weights, release_file, write_weights

EXAONE40 = "EXAONE-4.0-1.2B"
EXAONE45 = "EXAONE-4.5-33B"
K_EXAONE = "K-EXAONE-236B-A23B"
EXAONE40_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
                  "tokenizer.json", "vocab.json", "merges.txt", "chat_template.jinja")


def need(relative: str) -> Path:
    """The release file ``relative`` (e.g. ``EXAONE-4.5-33B/chat_template.jinja``), or skip the test saying why."""
    try:
        return release_file(relative)
    except ReleaseFileMissing as err:
        pytest.skip(str(err))


# EXAONE-4.0-1.2B's config, made tiny where the tests do not need the real value: two layers and narrow widths
# (the real vocabulary of 102,400 tokens stays, so the embedding is 102,400 x 64).
REDUCED_40 = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
              "num_key_value_heads": 2, "head_dim": 16}


def build_reduced_exaone40(out: Path, *, seed: int = 0) -> Path:
    """LG's EXAONE-4.0-1.2B config.json (reduced by ``REDUCED_40``), tokenizer files, generation_config.json and
    chat_template.jinja, with random bf16 weights, in ``out``."""
    for name in EXAONE40_FILES:
        shutil.copyfile(need(f"{EXAONE40}/{name}"), out / name)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config.update(REDUCED_40)
    config["layer_types"] = config["layer_types"][: REDUCED_40["num_hidden_layers"]]
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    kind = Kind("exaone4", "", layers=config["num_hidden_layers"], hidden=config["hidden_size"],
                heads=config["num_attention_heads"], kv_heads=config["num_key_value_heads"],
                head_dim=config["head_dim"], ffn=config["intermediate_size"], tied=config["tie_word_embeddings"])
    write_weights(out, random_weights(kind, config["vocab_size"], seed), 1)
    return out
