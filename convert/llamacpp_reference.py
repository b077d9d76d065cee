"""llama.cpp's own converter as the reference for ours: ``convert_hf_to_gguf.py`` on any checkpoint of a family
in the table, including the synthetic ones of ``exaone_convert.synthetic``.

    python -m exaone_convert.llamacpp_reference LLAMA_CPP_DIR [convert_hf_to_gguf.py arguments...]

LG's official GGUFs are made with this converter, so its output is what ``inspect_gguf`` must recognise and
what ``exaone-convert`` is measured against (tests/convert/test_gguf_recognition.py, bench/bench_convert.py).
llama.cpp picks ``tokenizer.ggml.pre`` by hashing how the tokenizer encodes a test string and refuses
tokenizers it does not know; this runner answers that lookup with the family table's ``tokenizer_pre`` (what
the real EXAONE tokenizer gets). It skips only the hash check: every tensor and every other key is converted
by llama.cpp's own code (EXAONE 4.5's vision projector too: pass ``--mmproj``).

Like ``--verify``'s comparison, it needs the test extra (torch, transformers: ``pip install
'exaone-desktop[test]'``) and nothing in the app imports it; each import of transformers here carries
deptry's ``ignore[DEP004]``.

Two mismatches with the venv's transformers (llama.cpp pins 4.57) are bridged the way that version behaves:
an ``AutoTokenizer`` that raises on a folder falls back to the same tokenizer.json through
``PreTrainedTokenizerFast``, which is what AutoTokenizer resolves to there; and an EXAONE 3 config.json is
read as it is. transformers 5.24 loads EXAONE 3 configs with its Llama-based class, whose ``to_dict`` drops
``activation_function``, and llama.cpp's EXAONE 3 converter then fails on a KeyError; transformers 4.57 (and
5.23) have no such class, so llama.cpp reads config.json itself.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from .families import family_for_model_type


def patch_auto_tokenizer() -> None:
    import transformers  # deptry: ignore[DEP004]

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
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m exaone_convert.llamacpp_reference LLAMA_CPP_DIR CHECKPOINT [options]")
    llama_dir = Path(sys.argv[1]).resolve()
    args = sys.argv[2:]
    sys.path[:0] = [str(llama_dir), str(llama_dir / "gguf-py")]
    base = importlib.import_module("conversion.base")  # llama.cpp's own package, in the tree given at run time

    model_dir = next(Path(a) for a in args if not a.startswith("-") and Path(a).is_dir())
    model_type = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["model_type"]
    family = family_for_model_type(model_type)
    if family is None:
        raise SystemExit(f"{model_dir}: model_type {model_type!r} is no EXAONE family; pass an EXAONE checkpoint")
    pre = family.tokenizer_pre
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre  # type: ignore[method-assign]
    patch_auto_tokenizer()
    patch_load_hparams(base)
    sys.argv = [str(llama_dir / "convert_hf_to_gguf.py"), *args]
    runpy.run_path(str(llama_dir / "convert_hf_to_gguf.py"), run_name="__main__")


if __name__ == "__main__":
    main()
