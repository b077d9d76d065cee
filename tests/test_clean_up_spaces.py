"""clean_up_tokenization_spaces: decoded text is cleaned exactly when transformers' decode() cleans it."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.chat.textstream import SpaceCleaner, TextAssembler, clean_up_tokenization

TEXT = "Hello , world . I do n't know ! Is it ? We 're here , they 've gone . It 's ' quoted ' I 'm ok"
PIECES = (" .", " ?", " !", " ,", " '", " ' ", "'", " n't", " n", "'t", " 'm", " 's", " 've", " 're", " ", "a",
          "b", "s", "m", "ve", "re", ".", "안녕")


def test_clean_up_is_transformers_function() -> None:
    from transformers import PreTrainedTokenizerBase

    rng = random.Random(0)
    for _ in range(300):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 30)))
        assert clean_up_tokenization(text) == PreTrainedTokenizerBase.clean_up_tokenization(None, text)  # type: ignore[arg-type]


def test_streaming_clean_up_equals_the_whole_at_any_split() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 60)))
        cleaner, out, at = SpaceCleaner(), "", 0
        while at < len(text):
            step = rng.randrange(1, 5)
            out += cleaner.feed(text[at: at + step])
            at += step
        assert out + cleaner.flush() == clean_up_tokenization(text), text


def _checkpoint(tiny_checkpoint: Any, folder: Path, **flags: bool) -> Path:
    shutil.copytree(tiny_checkpoint("exaone3_untied"), folder)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.update(flags)
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("flags", "cleaned"), [
    ({"clean_up_tokenization_spaces": True}, False),  # a BPE tokenizer: transformers skips the clean-up
    ({"clean_up_tokenization_spaces": True,
      "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": True}, True),
    ({"clean_up_tokenization_spaces": False}, False),
])
def test_decoded_text_matches_transformers(flags: dict[str, bool], cleaned: bool, tiny_checkpoint: Any,
                                           tmp_path: Path) -> None:
    from exaone_convert.convert import convert_checkpoint
    from exaone_desktop.engine.llama.local import LocalGenerator
    from transformers import AutoTokenizer

    ckpt = _checkpoint(tiny_checkpoint, tmp_path / "ckpt", **flags)
    tok = AutoTokenizer.from_pretrained(ckpt)
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    expected = tok.decode(ids, skip_special_tokens=True)
    assert (expected != TEXT) == cleaned
    with LocalGenerator(convert_checkpoint(ckpt, tmp_path / "m.gguf", "f32"), n_threads=1) as gen:
        assert gen.model_info.clean_up_spaces == cleaned
        streamed: list[str] = []
        text = TextAssembler(emit=lambda kind, t: streamed.append(t), clean_up_spaces=gen.model_info.clean_up_spaces)
        for token in ids:
            text.add(gen._words.piece(token))
        text.finish()
    assert text.answer == "".join(streamed) == expected
