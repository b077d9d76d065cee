"""The converter's checkpoint factory (``exaone_convert.synthetic``, which bench/make_random_checkpoint.py and
the tests' tiny checkpoints use): K-EXAONE and EXAONE 4.5 have the tensor names and shapes transformers' own
model classes save, the release rows fit the benchmark machine, the synthetic tokenizer of a release's size
round-trips, and the factory needs nothing of the test extra."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from exaone_convert import synthetic as sy

from tests.support import tiny_checkpoints as tc

NEW_SHAPES = ("k-exaone", "exaone-4.5-vision")
MAX_CHECKPOINT_BYTES = 12e9  # what a bf16 checkpoint may take on the 24 GiB benchmark machine


@pytest.mark.parametrize("shape", NEW_SHAPES)
def test_layout_is_what_transformers_saves(shape: str) -> None:
    kind = sy.release_shape(sy.tiny(sy.RELEASES[shape]), template="")
    ours = dict(sy.tensor_layout(kind, 800))
    theirs = tc.transformers_layout(kind, 800)
    assert ours == theirs


@pytest.mark.parametrize("shape", NEW_SHAPES)
def test_real_size_rows_fit_the_machine(shape: str) -> None:
    rel = sy.RELEASES[shape]
    kind = sy.release_shape(rel, template="")
    layout = sy.tensor_layout(kind, rel.vocab)
    assert sum(math.prod(s) for _, s in layout) * 2 < MAX_CHECKPOINT_BYTES
    if rel.moe is not None:  # fewer experts, each of the release's shape
        experts = [s for n, s in layout if ".mlp.experts." in n and n.endswith("gate_proj.weight")]
        assert experts and set(experts) == {(rel.moe.ffn, rel.hidden)} and len(experts) == rel.moe.kept


@pytest.mark.parametrize("family", ["exaone", "exaone4", "exaone_moe"])
def test_synthetic_tokenizer_has_the_release_size_and_round_trips(family: str) -> None:
    from tokenizers import Tokenizer

    rel = next(r for r in sy.RELEASES.values() if r.family == family)
    tok = Tokenizer.from_str(sy.release_tokenizer(family))
    assert tok.get_vocab_size(with_added_tokens=True) == rel.vocab
    assert {i: tok.id_to_token(i) for i in rel.specials} == rel.specials
    for sample in tc.tokenization_samples():
        ids = tok.encode(sample, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == sample


def test_the_factory_needs_no_test_extra(tmp_path) -> None:
    """A runtime-only install can write a checkpoint: no torch, transformers or tokenizers is imported."""
    code = ("import sys, pathlib\n"
            "from exaone_convert import synthetic as sy\n"
            "rel = sy.tiny(sy.with_overrides(sy.RELEASES['exaone-4.0-1.2b'], layers=2))\n"
            f"sy.write_checkpoint(pathlib.Path({str(tmp_path)!r}), sy.release_shape(rel),"
            " sy.release_tokenizer('exaone4', 1024))\n"
            "print(sorted(m for m in ('torch', 'transformers', 'tokenizers', 'safetensors') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "exaone4" and config["num_hidden_layers"] == 2 and config["vocab_size"] == 1024
