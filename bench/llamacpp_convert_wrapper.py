"""Run llama.cpp's ``convert_hf_to_gguf.py`` on a checkpoint with a synthetic tokenizer.

    python bench/llamacpp_convert_wrapper.py LLAMA_CPP_DIR [convert_hf_to_gguf.py arguments...]

llama.cpp picks ``tokenizer.ggml.pre`` by hashing how the tokenizer encodes a test string and refuses
tokenizers it does not know. The benchmark's random checkpoints have a synthetic tokenizer, so this
wrapper replaces that lookup with the answer the real EXAONE tokenizer gets ("exaone", "exaone4", or
"exaone-moe" for the tokenizer K-EXAONE and EXAONE 4.5 share). It skips only the hash check: every tensor and
every other key is converted by llama.cpp's own code (EXAONE 4.5's vision projector too: pass ``--mmproj``).

Two mismatches with the venv's transformers (llama.cpp pins 4.57) are bridged the way that version behaves:
an ``AutoTokenizer`` that raises on a folder falls back to the same tokenizer.json through
``PreTrainedTokenizerFast``, which is what AutoTokenizer resolves to there; and an EXAONE 3 config.json is
read as it is. transformers 5.24 loads EXAONE 3 configs with its Llama-based class, whose ``to_dict`` drops
``activation_function``, and llama.cpp's EXAONE 3 converter then fails on a KeyError; transformers 4.57 (and
5.23) have no such class, so llama.cpp reads config.json itself.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

# The pre-tokenizer llama.cpp's hash lookup finds for the real tokenizers (EXAONE 4.5 has K-EXAONE's).
PRE_BY_MODEL_TYPE = {"exaone": "exaone", "exaone4": "exaone4", "exaone4_5": "exaone-moe", "exaone_moe": "exaone-moe"}


def patch_auto_tokenizer() -> None:
    import transformers

    auto = transformers.AutoTokenizer.from_pretrained

    def from_pretrained(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
        try:
            return auto(path, *args, **kwargs)
        except (ValueError, KeyError, AttributeError):
            return transformers.PreTrainedTokenizerFast.from_pretrained(path)

    transformers.AutoTokenizer.from_pretrained = from_pretrained  # type: ignore[method-assign,assignment]


RAW_CONFIG_MODEL_TYPES = frozenset({"exaone"})  # config.json read as it is (see above)


def patch_load_hparams(base: Any) -> None:
    load = base.ModelBase.load_hparams

    def load_hparams(dir_model: Path, is_mistral_format: bool) -> Any:
        path = Path(dir_model) / "config.json"
        raw = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not is_mistral_format else {}
        return raw if raw.get("model_type") in RAW_CONFIG_MODEL_TYPES else load(dir_model, is_mistral_format)

    base.ModelBase.load_hparams = staticmethod(load_hparams)


def main() -> None:
    llama_dir = Path(sys.argv[1]).resolve()
    args = sys.argv[2:]
    sys.path[:0] = [str(llama_dir), str(llama_dir / "gguf-py")]
    from conversion import base  # llama.cpp's own package, found through sys.path

    model_dir = next(Path(a) for a in args if not a.startswith("-") and Path(a).is_dir())
    model_type = json.loads((model_dir / "config.json").read_text())["model_type"]
    pre = PRE_BY_MODEL_TYPE[model_type]
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre  # type: ignore[method-assign]
    patch_auto_tokenizer()
    patch_load_hparams(base)
    sys.argv = [str(llama_dir / "convert_hf_to_gguf.py"), *args]
    runpy.run_path(str(llama_dir / "convert_hf_to_gguf.py"), run_name="__main__")


if __name__ == "__main__":
    main()
