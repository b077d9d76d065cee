"""LG's own GGUFs are recognised for what they are.

LG's official GGUF repositories are made with llama.cpp's ``convert_hf_to_gguf.py``, which writes no
``exaone_desktop.family`` key. These tests make their stand-ins the same way: tiny checkpoints of every family
(tests/support/tiny_checkpoints.py; EXAONE 4.5 and K-EXAONE with their release's special tokens and LG's 4.5 chat
template) run through llama.cpp's own converter from the llama-cpp-python 0.3.36 sdist (through
``exaone_convert.llamacpp_reference``, which only skips its tokenizer-hash lookup). ``inspect_gguf`` must name each
family and fill what the file lacks from the family table: LG's recommended sampling (under the file's own
general.sampling.* values), the thinking default, and EXAONE 4.5's image token id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from exaone_convert import families, inspect_gguf
from exaone_convert.families import GGUFFacts, family_for_gguf, recommended_defaults

from tests.support.llama_cpp_source import llama_cpp_source

ROOT = Path(__file__).resolve().parents[2]

# The release's names for the role, end-of-turn and image tokens of EXAONE 4.5 and K-EXAONE (one tokenizer):
# a fixture still carrying EXAONE 4.0's names gets them renamed in place (same ids, same vocabulary size).
RELEASE_TOKENS = {"[|system|]": "<|system|>", "[|user|]": "<|user|>", "[|assistant|]": "<|assistant|>",
                  "[|endofturn|]": "<|endofturn|>", "[|tool|]": "<|tool|>", "<|image|>": "<|image_pad|>"}


def release_file(*parts: str) -> Path | None:
    """A file of LG's releases in the ``shared/releases`` folder beside the checkout (None when absent)."""
    for folder in (ROOT, *ROOT.parents):
        candidate = folder.joinpath("shared", "releases", *parts)
        if candidate.is_file():
            return candidate
    return None


def lg_template(ckpt: Path) -> str:
    """LG's EXAONE 4.5 chat template (K-EXAONE's format too); without the releases folder, the checkpoint's own
    template with the release's token names (what the recognition reads of it is the same)."""
    path = release_file("EXAONE-4.5-33B", "chat_template.jinja")
    if path is not None:
        return path.read_text(encoding="utf-8")
    text = str(json.loads((ckpt / "tokenizer_config.json").read_text(encoding="utf-8"))["chat_template"])
    for old, new in RELEASE_TOKENS.items():
        text = text.replace(old, new)
    return text


def with_release_tokens(ckpt: Path) -> None:
    """Give a tiny 4.5 / K-EXAONE checkpoint the release's special-token names and LG's chat template (a
    fixture already in the release's layout is left as it is, but for the template)."""
    template = lg_template(ckpt)
    tj = json.loads((ckpt / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    for token in tj["added_tokens"]:
        new = RELEASE_TOKENS.get(token["content"])
        if new is None:
            continue
        if token["content"] in vocab:
            vocab[new] = vocab.pop(token["content"])
        token["content"], token["special"] = new, True
    (ckpt / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    cfg = json.loads((ckpt / "tokenizer_config.json").read_text(encoding="utf-8"))
    for entry in cfg["added_tokens_decoder"].values():
        if entry["content"] in RELEASE_TOKENS:
            entry["content"], entry["special"] = RELEASE_TOKENS[entry["content"]], True
    cfg["eos_token"] = RELEASE_TOKENS.get(cfg["eos_token"], cfg["eos_token"])
    cfg["chat_template"] = template
    (ckpt / "tokenizer_config.json").write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    special = json.loads((ckpt / "special_tokens_map.json").read_text(encoding="utf-8"))
    special["eos_token"] = RELEASE_TOKENS.get(special["eos_token"], special["eos_token"])
    (ckpt / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")


def token_id(ckpt: Path, content: str) -> int:
    tj = json.loads((ckpt / "tokenizer.json").read_text(encoding="utf-8"))
    return next(int(t["id"]) for t in tj["added_tokens"] if t["content"] == content)


def strip_sampling(ckpt: Path) -> None:
    """generation_config.json with ids only (as LG's EXAONE 4.0 release has it): the GGUF carries no sampling."""
    path = ckpt / "generation_config.json"
    gen = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({k: v for k, v in gen.items() if k.endswith("token_id") or k.startswith("trans")}),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def llama_cpp_dir(request: pytest.FixtureRequest) -> Path:
    """llama.cpp's source tree from the llama-cpp-python sdist ($LLAMA_CPP_DIR, or downloaded once into pytest's
    cache)."""
    return llama_cpp_source(request.config.cache.mkdir("llama-cpp-sdist"))


def llama_convert(llama_dir: Path, ckpt: Path, outfile: Path, *extra: str) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(llama_dir / "gguf-py"),
                                                                      os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "exaone_convert.llamacpp_reference", str(llama_dir), str(ckpt),
                           "--outtype", "f32",
                           "--outfile", str(outfile), *extra], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    assert proc.returncode == 0 and outfile.is_file(), proc.stderr[-3000:]
    return outfile


# (LG's repository name for the stand-in, tiny checkpoint kind, release tokens, keep the generation config's
# sampling, expected family key)
CASES = {
    "EXAONE-3.5-2.4B-Instruct": ("exaone3_untied", False, False, "exaone3"),
    "EXAONE-Deep-2.4B": ("exaone_deep", False, False, "exaone_deep"),
    "EXAONE-4.0-1.2B": ("exaone4", False, True, "exaone4"),
    "EXAONE-4.5-33B": ("exaone4_5", True, False, "exaone4_5"),
    "K-EXAONE-236B-A23B": ("exaone_moe", True, False, "k_exaone"),
}


@pytest.fixture(scope="module")
def lg_gguf(llama_cpp_dir: Path, tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """name -> (the GGUF llama.cpp's converter made, the checkpoint it was made from), made on first use from a
    copy of the tiny checkpoint (the conftest skips, with the reason, a kind that needs LG's absent files)."""
    made: dict[str, tuple[Path, Path]] = {}

    def make(name: str) -> tuple[Path, Path]:
        if name not in made:
            kind, release, keep_sampling, _key = CASES[name]
            ckpt = tmp_path_factory.mktemp("ckpt") / name
            shutil.copytree(tiny_checkpoint(kind), ckpt)
            if release:
                with_release_tokens(ckpt)
            if not keep_sampling:
                strip_sampling(ckpt)
            folder = tmp_path_factory.mktemp("gguf")
            gguf = llama_convert(llama_cpp_dir, ckpt, folder / f"{name}-F32.gguf")
            if kind == "exaone4_5":
                llama_convert(llama_cpp_dir, ckpt, folder / f"mmproj-{name}-F32.gguf", "--mmproj")
            made[name] = (gguf, ckpt)
        return made[name]

    return make


def defaults_of(gguf: Path) -> dict[str, Any]:
    return dict(inspect_gguf(gguf).sampling_defaults)


@pytest.mark.parametrize("name", CASES)
def test_llama_cpp_converted_gguf_is_its_family_with_lgs_defaults(name: str, lg_gguf: Any) -> None:
    gguf, ckpt = lg_gguf(name)
    info = inspect_gguf(gguf)
    fam = next(f for f in families.FAMILIES if f.key == CASES[name][3])
    assert "exaone_desktop.family" not in info.metadata_keys  # nothing of ours: llama.cpp's converter made it
    assert (info.family, info.family_label) == (fam.key, fam.label)
    expected = recommended_defaults(fam)
    if CASES[name][2]:  # the file's own general.sampling.* (from its generation_config) wins over the table
        gen = json.loads((ckpt / "generation_config.json").read_text(encoding="utf-8"))
        expected.update({k: gen[k] for k in ("temperature", "top_p", "top_k", "repetition_penalty") if k in gen})
        assert expected["temperature"] != fam.sampling.temperature  # the case shows which one wins
    assert {k: pytest.approx(v) if isinstance(v, float) else v for k, v in expected.items()} == info.sampling_defaults
    if fam.vision:
        assert info.image_token_id == token_id(ckpt, "<|image_pad|>")
        assert info.image_token_id == json.loads((ckpt / "config.json").read_text())["image_token_id"]
    else:
        assert info.image_token_id is None


def test_exaone_4_5_as_lg_recommends(lg_gguf: Any) -> None:
    """The issue's case: LG's 4.5 GGUF (its template, its mmproj beside it) is EXAONE 4.5, not 4.0, with its
    image token and presence_penalty 1.5; the app's settings take these as the model's defaults."""
    from exaone_desktop.engine.settings import model_defaults

    gguf, _ckpt = lg_gguf("EXAONE-4.5-33B")
    info = inspect_gguf(gguf)
    assert info.family_label == "EXAONE 4.5" and info.image_token_id is not None
    defaults = model_defaults(info)
    assert defaults["presence_penalty"] == 1.5 and defaults["top_p"] == 0.95 and defaults["enable_thinking"] is True


def test_the_status_line_names_the_family_beside_the_model(qtbot: Any, store: Any) -> None:
    from exaone_desktop.session.controller import ChatController
    from exaone_desktop.session.turns import StatusFigures
    from exaone_desktop.ui.status_line import StatusLine
    from PySide6.QtWidgets import QStatusBar

    bar = QStatusBar()
    qtbot.addWidget(bar)
    line = StatusLine(bar, ChatController(store))
    line.show(StatusFigures("EXAONE-4.5-33B-Q4_K_M", "cpu", family="EXAONE 4.5"))
    assert line.model_label.text() == "Model: EXAONE-4.5-33B-Q4_K_M (EXAONE 4.5)"
    line.show(StatusFigures("my-model", "cpu"))
    assert line.model_label.text() == "Model: my-model"


def test_the_app_shows_exaone_4_5_and_samples_as_lg_recommends(lg_gguf: Any, store: Any) -> None:
    """The app's session controller with the file loaded in llama.cpp: the status line names the family and
    the settings the next reply uses are LG's (the generator's own defaults are the same)."""
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.session.controller import ChatController

    gguf, _ckpt = lg_gguf("EXAONE-4.5-33B")
    generator = LocalGenerator(gguf, n_threads=1, n_ctx=256)
    try:
        c = ChatController(store)
        c.set_local(generator)
        assert c.status().family == "EXAONE 4.5" and c.family_label() == "EXAONE 4.5"
        settings = c.state.effective()
        assert (settings.temperature, settings.top_p, settings.presence_penalty) == (1.0, 0.95, 1.5)
        assert settings.enable_thinking is True
        assert generator.default_settings().presence_penalty == 1.5
    finally:
        generator.close()


def test_exaone_4_5_is_recognised_without_its_name_or_projector(lg_gguf: Any, tmp_path: Path) -> None:
    """Renamed and alone in a folder, the 4.5 file is still 4.5: its vocabulary and template say so."""
    gguf, _ckpt = lg_gguf("EXAONE-4.5-33B")
    alone = shutil.copyfile(gguf, tmp_path / "model.gguf")
    assert inspect_gguf(alone).family == "exaone4_5"
    # the projector clue (asked on a tie) reads llama.cpp's mmproj beside the original, and nothing beside the copy
    from exaone_convert.gguf_check import _has_mmproj

    width = inspect_gguf(gguf).embedding_length
    assert _has_mmproj(gguf, width) and not _has_mmproj(alone, width) and not _has_mmproj(gguf, width + 1)


def test_exaone_convert_files_keep_their_own_defaults(tiny_checkpoint: Any, tmp_path: Path) -> None:
    """Our converter's files name their family and carry exactly the checkpoint's generation_config: nothing
    is added from the table (transformers reads that generation_config as it is)."""
    from exaone_convert.convert import convert_checkpoint

    out = convert_checkpoint(tiny_checkpoint("exaone4"), tmp_path / "ours-F32.gguf", outtype="f32")
    info = inspect_gguf(out)
    assert info.family == "exaone4" and "enable_thinking" not in info.sampling_defaults
    assert "presence_penalty" not in info.sampling_defaults


# -- the clues, one at a time (no conversion) ------------------------------------------------------------------


def key(facts: GGUFFacts) -> str:
    fam = family_for_gguf(facts)
    return fam.key if fam is not None else ""


def test_each_clue_alone_decides_between_rows_of_one_architecture() -> None:
    assert key(GGUFFacts("exaone4")) == "exaone4"  # nothing to go on: the plain row, as before
    assert key(GGUFFacts("exaone4", tokens={"<|endofturn|>"})) == "exaone4_5"
    assert key(GGUFFacts("exaone4", tokens={"[|endofturn|]"})) == "exaone4"
    assert key(GGUFFacts("exaone4", chat_template="{{ '<vision><|image_pad|></vision>' }}")) == "exaone4_5"
    assert key(GGUFFacts("exaone4", names=("EXAONE 4.5 33B",))) == "exaone4_5"
    assert key(GGUFFacts("exaone4", names=("exaone_4.0_32b",))) == "exaone4"
    assert key(GGUFFacts("exaone4", vocab_size=153_600)) == "exaone4_5"
    assert key(GGUFFacts("exaone4", has_mmproj=lambda: True)) == "exaone4_5"
    assert key(GGUFFacts("exaone", names=("EXAONE-Deep-7.8B",))) == "exaone_deep"
    assert key(GGUFFacts("exaone", chat_template="...</thought>...")) == "exaone_deep"
    assert key(GGUFFacts("exaone", names=("EXAONE-3.5-2.4B-Instruct",))) == "exaone3"
    assert key(GGUFFacts("exaone-moe")) == "k_exaone"
    # our converter's key wins over every clue
    assert key(GGUFFacts("exaone4", key="exaone4", tokens={"<|endofturn|>"}, vocab_size=153_600)) == "exaone4"


def test_more_clues_win_and_the_projector_is_asked_only_on_a_tie() -> None:
    asked: list[bool] = []

    def projector() -> bool:
        asked.append(True)
        return True

    assert key(GGUFFacts("exaone4", tokens={"[|endofturn|]"}, vocab_size=102_400, names=("EXAONE-4.5",),
                         has_mmproj=projector)) == "exaone4"
    assert not asked
    assert key(GGUFFacts("exaone4", tokens={"[|endofturn|]"}, names=("EXAONE-4.5",), has_mmproj=projector)) \
        == "exaone4_5"
    assert asked

