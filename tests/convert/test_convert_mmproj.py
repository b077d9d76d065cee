"""EXAONE 4.5: the text GGUF plus its vision projector (mmproj) beside it, loaded and run by llama.cpp's mtmd."""

from __future__ import annotations

import ctypes
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from exaone_convert.cli import main
from exaone_convert.errors import ConversionError
from exaone_convert.gguf_check import InvalidGGUF, inspect_gguf, inspect_mmproj
from exaone_convert.mmproj import convert_mmproj, mmproj_outtype
from llama_cpp import mtmd_cpp as mtmd

from tests.support import llama_helpers as lh


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def converted(tiny_checkpoint, tmp_path_factory):
    """(folder, text GGUF, mmproj GGUF) of the tiny EXAONE 4.5 at f32, through the CLI."""
    out = tmp_path_factory.mktemp("vl")
    text = out / "tiny45-F32.gguf"
    assert main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(text), "--outtype", "f32", "--quiet"]) == 0
    return out, text, out / "mmproj-tiny45-F32.gguf"


def test_cli_writes_text_and_mmproj_side_by_side(converted):
    folder, text, mmproj = converted
    assert sorted(p.name for p in folder.iterdir()) == [mmproj.name, text.name]
    model = inspect_gguf(text)
    info = inspect_mmproj(mmproj, model)
    assert (info.projector_type, info.projection_dim, info.n_layers) == ("exaone4_5", model.embedding_length, 3)
    with pytest.raises(InvalidGGUF, match="vision projector"):
        inspect_gguf(mmproj)  # one line that says what the file is


@pytest.mark.parametrize(("outtype", "expected"), [("f32", "f32"), ("bf16", "bf16"), ("f16", "f16"),
                                                   ("q8_0", "f16"), ("q4_k_m", "f16")])
def test_mmproj_float_type_follows_the_text(outtype, expected):
    assert mmproj_outtype(outtype).name == expected


def test_a_second_type_keeps_the_shared_mmproj(tiny_checkpoint, tmp_path, capsys):
    """q8_0 and q4_k_m both come with the f16 projector: the second run keeps the first one's."""
    src = str(tiny_checkpoint("exaone4_5"))
    assert run_cli(capsys, src, "--outfile", str(tmp_path / "t-Q8_0.gguf"), "--outtype", "q8_0", "--quiet")[0] == 0
    first = (tmp_path / "mmproj-t-F16.gguf").stat().st_mtime_ns
    rc, out, _ = run_cli(capsys, src, "--outfile", str(tmp_path / "t-Q4_K_M.gguf"), "--outtype", "q4_k_m", "--quiet")
    assert rc == 0 and "kept" in out and "wrote " + str(tmp_path / "mmproj") not in out
    assert (tmp_path / "mmproj-t-F16.gguf").stat().st_mtime_ns == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mmproj-t-F16.gguf", "t-Q4_K_M.gguf", "t-Q8_0.gguf"]


def test_no_mmproj_writes_the_text_only(tiny_checkpoint, tmp_path, capsys):
    rc, out, _ = run_cli(capsys, str(tiny_checkpoint("exaone4_5")), "--outfile", str(tmp_path / "t-Q8_0.gguf"),
                         "--outtype", "q8_0", "--no-mmproj", "--quiet")
    assert rc == 0 and [p.name for p in tmp_path.iterdir()] == ["t-Q8_0.gguf"]
    assert "vision projector" not in out


def test_mtmd_loads_the_mmproj_and_encodes_an_image(converted):
    """llama.cpp's own multimodal library accepts our projector (type exaone4_5) and embeds an image
    into as many text-width vectors as it says, all finite."""
    _, text, mmproj = converted
    llm = lh.load(str(text))
    params = mtmd.mtmd_context_params_default()
    params.use_gpu, params.n_threads, params.warmup = False, 2, False
    ctx = mtmd.mtmd_init_from_file(str(mmproj).encode(), llm.model, params)
    assert ctx and mtmd.mtmd_support_vision(ctx)
    try:
        h, w = 84, 112
        pixels = np.random.default_rng(0).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        bitmap = mtmd.mtmd_bitmap_init(w, h, (ctypes.c_uint8 * pixels.size).from_buffer_copy(pixels.tobytes()))
        prompt = b"look: " + mtmd.mtmd_default_marker() + b" ok"
        text_in = mtmd.mtmd_input_text()
        text_in.text, text_in.text_len, text_in.add_special, text_in.parse_special = prompt, len(prompt), False, True
        chunks = mtmd.mtmd_input_chunks_init()
        assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text_in), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
        images = [mtmd.mtmd_input_chunks_get(chunks, i) for i in range(mtmd.mtmd_input_chunks_size(chunks))]
        images = [c for c in images if mtmd.mtmd_input_chunk_get_type(c) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE]
        assert len(images) == 1
        n = mtmd.mtmd_input_chunk_get_n_tokens(images[0])
        assert n == (h // 28) * (w // 28)  # 14-pixel patches merged 2x2
        assert mtmd.mtmd_encode_chunk(ctx, images[0]) == 0
        embd = np.ctypeslib.as_array(mtmd.mtmd_get_output_embd(ctx), shape=(n * inspect_gguf(text).embedding_length,))
        assert np.isfinite(embd).all() and np.abs(embd).max() > 0
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
    finally:
        mtmd.mtmd_free(ctx)


def test_mmproj_of_another_model_is_refused(converted, tiny_checkpoint, tmp_path):
    _, _, mmproj = converted
    other = convert_mmproj(tiny_checkpoint("exaone4_5_hybrid64"), tmp_path / "mmproj-other-F16.gguf", "f16")
    with pytest.raises(InvalidGGUF, match="does not match") as err:
        inspect_mmproj(other, inspect_gguf(converted[1]))
    assert "\n" not in str(err.value)
    assert inspect_mmproj(mmproj).projection_dim == 64


VISION_REFUSALS = [
    ({"spatial_merge_size": 4}, "spatial_merge_size"),
    ({"window_size": 64}, "window_size"),
    ({"intermediate_size": 32}, "intermediate_size equals hidden_size"),
    ({"fullatt_block_indexes": [0, 2]}, "evenly spaced"),
]


@pytest.mark.parametrize(("change", "match"), VISION_REFUSALS)
def test_vision_configs_llama_cpp_would_run_wrong_leave_nothing(change, match, tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "vl"
    shutil.copytree(tiny_checkpoint("exaone4_5"), src)
    cfg = json.loads((src / "config.json").read_text())
    cfg["vision_config"].update(change)
    (src / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "out"
    out.mkdir()
    rc, _, err = run_cli(capsys, str(src), "--outfile", str(out / "m-F16.gguf"), "--outtype", "f16", "--quiet")
    assert rc == 1 and match in err and err.count("\n") == 1 and "--no-mmproj" in err
    assert list(out.iterdir()) == []


MISSING_OR_MALFORMED = [
    ("vision_config", "patch_size", None, "config.json's vision_config lacks 'patch_size'"),
    ("vision_config", "hidden_size", None, "config.json's vision_config lacks 'hidden_size'"),
    ("vision_config", "intermediate_size", None, "config.json's vision_config lacks 'intermediate_size'"),
    ("vision_config", "depth", None, "config.json's vision_config lacks 'depth'"),
    ("vision_config", "num_heads", None, "config.json's vision_config lacks 'num_heads'"),
    ("vision_config", "patch_size", "fourteen", "vision_config field 'patch_size' should be int, got 'fourteen'"),
    ("vision_config", "depth", 1e400, "vision_config field 'depth' should be int, got inf"),
    ("vision_config", "fullatt_block_indexes", 2, "fullatt_block_indexes is 2, not a list of layer numbers"),
    ("preprocessor", "image_mean", 0.5, "image_mean is 0.5, not three numbers"),
    ("preprocessor", "image_std", ["a", "b", "c"], "image_std is ['a', 'b', 'c'], not three numbers"),
    ("preprocessor", "max_pixels", "many", "preprocessor config field 'max_pixels' should be int"),
]


@pytest.mark.parametrize(("where", "key", "value", "match"), MISSING_OR_MALFORMED)
def test_a_missing_or_malformed_vision_value_is_one_line(where, key, value, match, tiny_checkpoint, tmp_path,
                                                         capsys):
    """Every value the projector's metadata needs is read through the checked config helper: a missing key or
    a value of the wrong type is one line naming the key and the fix (it was a KeyError or TypeError)."""
    src = tmp_path / "vl"
    shutil.copytree(tiny_checkpoint("exaone4_5"), src)
    name = "config.json" if where == "vision_config" else "preprocessor_config.json"
    cfg = json.loads((src / name).read_text())
    section = cfg["vision_config"] if where == "vision_config" else cfg
    section.pop(key)
    if value is not None:
        section[key] = value
    (src / name).write_text(json.dumps(cfg))
    out = tmp_path / "out"
    out.mkdir()
    rc, _, err = run_cli(capsys, str(src), "--outfile", str(out / "m-F16.gguf"), "--outtype", "f16", "--quiet")
    assert rc == 1 and err.startswith("exaone-convert: error: ") and err.count("\n") == 1, err
    assert match in err and "--no-mmproj" in err, err
    assert list(out.iterdir()) == []


def test_bad_text_config_writes_no_mmproj_either(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "vl"
    shutil.copytree(tiny_checkpoint("exaone4_5"), src)
    cfg = json.loads((src / "config.json").read_text())
    cfg["text_config"].update(sliding_window=8, layer_types=["sliding_attention", "full_attention"])
    (src / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "out"
    out.mkdir()
    rc, _, err = run_cli(capsys, str(src), "--outfile", str(out / "m-F16.gguf"), "--outtype", "f16", "--quiet")
    assert rc == 1 and "would run it wrong" in err
    assert list(out.iterdir()) == []


def test_missing_preprocessor_config_is_one_line(tiny_checkpoint, tmp_path):
    src = tmp_path / "vl"
    shutil.copytree(tiny_checkpoint("exaone4_5"), src)
    (src / "preprocessor_config.json").unlink()
    with pytest.raises(ConversionError, match="preprocessor_config.json"):
        convert_mmproj(src, tmp_path / "mmproj.gguf", "f16")
    assert not (tmp_path / "mmproj.gguf").exists()


def test_text_only_checkpoint_has_no_mmproj(tiny_checkpoint, tmp_path):
    with pytest.raises(ConversionError, match="no vision encoder"):
        convert_mmproj(tiny_checkpoint("exaone4"), tmp_path / "mmproj.gguf", "f16")
    assert isinstance(Path(tmp_path), Path) and not list(tmp_path.iterdir())


# Image parity: llama.cpp's vision encoder computes in its own order, so logits after an image agree to about
# 7e-4 of max|logit| at f32 with flash attention off (1.5e-3 with it on; text alone: ~1e-6).
IMAGE_TOLERANCE = 3e-3
# The rendered EXAONE 4.5 prompt, with mtmd's marker where the template puts <vision><|image_pad|></vision>.
IMAGE_PROMPT = "<|user|>\n사진을 봐: {marker}\n무엇이 보여?<|endofturn|>\n<|assistant|>\n<think>\n"
# 84x112 fits one of the encoder's 112-pixel attention windows; 84x252 spans three.
IMAGE_SIZES = [(84, 112), (84, 252)]


@pytest.fixture(scope="module")
def multimodal(converted):
    from tests.support.mtmd_helpers import Multimodal

    _, text, mmproj = converted
    mm = Multimodal(text, mmproj)
    yield mm
    mm.close()


@pytest.mark.parametrize(("height", "width"), IMAGE_SIZES)
def test_image_logits_and_greedy_match_transformers(height, width, multimodal, tiny_checkpoint):
    from tests.support.mtmd_helpers import MARKER, image_inputs, reference_run
    from tests.support.reference import load_reference

    ckpt = tiny_checkpoint("exaone4_5")
    model, _ = load_reference(ckpt)
    pixels = np.random.default_rng(height * width).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    ids, got, got_greedy = multimodal.run(IMAGE_PROMPT.format(marker=MARKER), pixels, model.config.image_token_id, 8)
    assert ids.count(model.config.image_token_id) == (height // 28) * (width // 28)
    want, want_greedy = reference_run(model, ids, image_inputs(ckpt, pixels), 8)
    assert float(np.abs(got - want).max() / np.abs(want).max()) < IMAGE_TOLERANCE
    assert got_greedy == want_greedy


def test_image_parity_catches_a_wrong_projector(converted, tiny_checkpoint, tmp_path, monkeypatch):
    """Swapping the vision blocks' gate and up projections (a plausible mapping slip) is caught."""
    import dataclasses

    import exaone_convert.mmproj as mmproj_mod

    from tests.support.mtmd_helpers import MARKER, Multimodal, image_inputs, reference_run
    from tests.support.reference import load_reference

    real = mmproj_mod.plan_mmproj
    swap = {"ffn_gate": "ffn_up", "ffn_up": "ffn_gate"}

    def swapped(*args, **kwargs):
        vision, tensors = real(*args, **kwargs)
        renamed = []
        for t in tensors:
            parts = t.name.split(".")
            parts = [swap.get(p, p) for p in parts]
            renamed.append(dataclasses.replace(t, name=".".join(parts)))
        return vision, renamed

    monkeypatch.setattr(mmproj_mod, "plan_mmproj", swapped)
    ckpt = tiny_checkpoint("exaone4_5")
    bad = convert_mmproj(ckpt, tmp_path / "mmproj-bad-F32.gguf", "f32")
    model, _ = load_reference(ckpt)
    pixels = np.random.default_rng(1).integers(0, 256, size=(84, 112, 3), dtype=np.uint8)
    mm = Multimodal(converted[1], bad)
    try:
        ids, got, _ = mm.run(IMAGE_PROMPT.format(marker=MARKER), pixels, model.config.image_token_id, 0)
    finally:
        mm.close()
    want, _ = reference_run(model, ids, image_inputs(ckpt, pixels), 0)
    assert float(np.abs(got - want).max() / np.abs(want).max()) > 10 * IMAGE_TOLERANCE
