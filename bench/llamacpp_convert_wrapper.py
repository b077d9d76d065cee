"""Run llama.cpp's ``convert_hf_to_gguf.py`` on a checkpoint with a synthetic tokenizer.

    python bench/llamacpp_convert_wrapper.py LLAMA_CPP_DIR [convert_hf_to_gguf.py arguments...]

llama.cpp picks ``tokenizer.ggml.pre`` by hashing how the tokenizer encodes a test string and refuses
tokenizers it does not know. The benchmark's random checkpoints have a synthetic tokenizer, so this
wrapper replaces that lookup with the answer the real EXAONE tokenizer gets ("exaone", "exaone4", or
"exaone-moe" for K-EXAONE's). It skips only the hash check: every tensor and every other key is converted by
llama.cpp's own code (EXAONE 4.5's vision projector too: pass ``--mmproj``).

transformers 5.23 has no ``exaone`` (3.x) tokenizer mapping, so ``AutoTokenizer`` raises on an
EXAONE 3 folder (llama.cpp pins transformers 4.57 for that); the wrapper then loads the same
tokenizer.json with ``PreTrainedTokenizerFast``, which is what AutoTokenizer resolves to there.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

# The pre-tokenizer llama.cpp's hash lookup finds for the real tokenizers (EXAONE 4.5 keeps EXAONE 4.0's).
PRE_BY_MODEL_TYPE = {"exaone": "exaone", "exaone4": "exaone4", "exaone4_5": "exaone4", "exaone_moe": "exaone-moe"}


def patch_auto_tokenizer() -> None:
    import transformers

    auto = transformers.AutoTokenizer.from_pretrained

    def from_pretrained(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
        try:
            return auto(path, *args, **kwargs)
        except (ValueError, KeyError, AttributeError):
            return transformers.PreTrainedTokenizerFast.from_pretrained(path)

    transformers.AutoTokenizer.from_pretrained = from_pretrained  # type: ignore[method-assign,assignment]


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
    sys.argv = [str(llama_dir / "convert_hf_to_gguf.py"), *args]
    runpy.run_path(str(llama_dir / "convert_hf_to_gguf.py"), run_name="__main__")


if __name__ == "__main__":
    main()
