"""The GGUF's pre-tokenizer comes from the checkpoint's tokenizer.json, not from the family: each llama.cpp
pre-tokenizer type is matched by what it implements, and a tokenizer.json that none implements is refused in one
line with nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from exaone_convert.cli import main
from exaone_convert.convert import convert_checkpoint
from exaone_convert.errors import ConversionError
from exaone_convert.vocab import PRE_TOKENIZERS, detect_pre_tokenizer

from tests.support import llama_helpers as lh
from tests.support.release_files import EXAONE40, need
from tests.support.tiny_checkpoints import tokenization_samples

EXPECTED = {"exaone3_untied": "exaone", "exaone_deep": "exaone", "exaone4": "exaone4", "exaone_moe": "exaone-moe",
            "exaone4_5": "exaone-moe"}


def tokenizer_json(folder: Path) -> dict:
    return json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("kind", "pre"), sorted(EXPECTED.items()))
def test_each_fixture_tokenizer_maps_to_its_llama_cpp_type(kind, pre, tiny_checkpoint, tmp_path):
    src = tiny_checkpoint(kind)
    assert detect_pre_tokenizer(tokenizer_json(src)).llama_pre == pre
    assert lh.metadata(convert_checkpoint(src, tmp_path / "m.gguf", "f16"))["tokenizer.ggml.pre"] == pre


def test_lg_exaone40_tokenizer_is_exaone4():
    assert detect_pre_tokenizer(json.loads(need(f"{EXAONE40}/tokenizer.json").read_text())).llama_pre == "exaone4"


def test_digits_pre_tokenizer_is_the_same_as_a_digit_split():
    """EXAONE 3's tokenizer.json writes the digit split as Digits(individual_digits=true)."""
    digits = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    assert detect_pre_tokenizer({"pre_tokenizer": digits}).llama_pre == "exaone"


def test_the_pre_tokenizer_follows_the_tokenizer_not_the_family(tiny_checkpoint, tmp_path):
    """An EXAONE 4.0 checkpoint whose tokenizer.json splits as K-EXAONE's does is written as exaone-moe, and llama.cpp
    then tokenizes it as transformers does."""
    from transformers import AutoTokenizer

    src = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    tok = tokenizer_json(src)
    tok["pre_tokenizer"] = tokenizer_json(tiny_checkpoint("exaone_moe"))["pre_tokenizer"]
    (src / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    config = json.loads((src / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # GPT2Tokenizer would rebuild GPT-2's own pre-tokenizer
    (src / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False))
    gguf = convert_checkpoint(src, tmp_path / "m.gguf", "f16")
    assert lh.metadata(gguf)["tokenizer.ggml.pre"] == "exaone-moe"
    tokenizer = AutoTokenizer.from_pretrained(str(src))
    for text in tokenization_samples():
        assert lh.tokenize(gguf, text, special=True) == tokenizer(text, add_special_tokens=False)["input_ids"], text


BYTES = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
UNKNOWN = [
    ({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}, "Metaspace"),
    ({"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
     "ByteLevel(add_prefix_space=true)"),
    ({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
     r"Split(\p{N}{1,3})"),
    ({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r" ?\p{L}+|\p{N}"}, "behavior": "Isolated", "invert": False}, BYTES]},
     r"Split( ?\p{L}+|\p{N}) -> ByteLevel"),
    (None, "none"),
]


@pytest.mark.parametrize(("pre_tokenizer", "named"), UNKNOWN, ids=[u[1] for u in UNKNOWN])
@pytest.mark.parametrize("outtype", ["f16", "q4_k_m"])
def test_a_pre_tokenizer_llama_cpp_lacks_is_refused_in_one_line_with_nothing_written(
        pre_tokenizer, named, outtype, tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    tok = tokenizer_json(src)
    tok["pre_tokenizer"] = pre_tokenizer
    (src / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    rc = main([str(src), "--outfile", str(out / "m.gguf"), "--outtype", outtype])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert "pre-tokenizer" in lines[0] and named in lines[0] and "nothing was written" in lines[0]
    assert all(p.llama_pre in lines[0] for p in PRE_TOKENIZERS)
    assert list(out.iterdir()) == []
    with pytest.raises(ConversionError):
        detect_pre_tokenizer(tok)


OPTIONS = [
    ("normalizer", {"type": "NFC"}, "normalizer ('NFC')"),
    ("normalizer", {"type": "Sequence", "normalizers": [{"type": "Lowercase"}]}, "normalizer ('Sequence')"),
    ("byte_fallback", True, "sets byte_fallback to True"),
    ("continuing_subword_prefix", "##", "sets continuing_subword_prefix to '##'"),
    ("end_of_word_suffix", "</w>", "sets end_of_word_suffix to '</w>'"),
    ("ignore_merges", True, "sets ignore_merges to True"),
    ("dropout", 0.1, "sets dropout to 0.1"),
]


@pytest.mark.parametrize(("key", "value", "named"), OPTIONS, ids=[o[0] + "=" + str(o[1]) for o in OPTIONS])
def test_a_normalizer_or_bpe_option_llama_cpp_ignores_is_refused_in_one_line(key, value, named, tiny_checkpoint,
                                                                             tmp_path, capsys):
    """llama.cpp's byte-level BPE applies no normalizer and none of these BPE options: a tokenizer.json with one
    would convert to a GGUF whose token ids differ from transformers' (an NFC normalizer composes decomposed
    Hangul first), so it is refused."""
    src = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    tok = tokenizer_json(src)
    if key == "normalizer":
        tok["normalizer"] = value
    else:
        tok["model"][key] = value
    (src / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    rc = main([str(src), "--outfile", str(out / "m.gguf"), "--outtype", "f16"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert named in lines[0] and "llama.cpp does not apply" in lines[0] and "nothing was written" in lines[0]
    assert list(out.iterdir()) == []


def test_an_nfc_normalizer_changes_transformers_ids_on_decomposed_hangul(tiny_checkpoint, tmp_path):
    """Why the NFC normalizer is refused: transformers then tokenizes decomposed Hangul (NFD) as the composed
    syllables, which a GGUF without the normalizer does not."""
    import unicodedata

    from tokenizers import Tokenizer

    tok = tokenizer_json(tiny_checkpoint("exaone4"))
    plain = Tokenizer.from_str(json.dumps(tok))
    nfc = Tokenizer.from_str(json.dumps({**tok, "normalizer": {"type": "NFC"}}))
    text = unicodedata.normalize("NFD", "한국어 문장")
    assert nfc.encode(text).ids == plain.encode(unicodedata.normalize("NFC", text)).ids
    assert nfc.encode(text).ids != plain.encode(text).ids


def test_lg_tokenizer_options_are_accepted():
    from exaone_convert.vocab import check_tokenizer_options

    tok = json.loads(need(f"{EXAONE40}/tokenizer.json").read_text())
    assert tok["normalizer"] is None and tok["model"]["continuing_subword_prefix"] == ""
    check_tokenizer_options(tok)  # raises ConversionError if a release option were refused
