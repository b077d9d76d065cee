"""The EXAONE family table drives conversion, the GGUF check and chat rendering; sliding-window and
end-of-sequence facts are carried over as transformers 5 reads them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import llama_helpers as lh
import pytest
from exaone_convert import families
from exaone_convert.architectures import ARCHITECTURES, FULL_WINDOW, transformers_sliding_layers
from exaone_convert.convert import convert_checkpoint
from exaone_convert.errors import ConversionError
from exaone_convert.gguf_check import SUPPORTED_ARCHITECTURES, inspect_gguf
from exaone_desktop.engine.chat.templates import reasoning_tags, render_chat
from reference import load_reference
from transformers import Exaone4Config

# The tiny fixture of each family row.
FAMILY_FIXTURES = {
    "exaone3": "exaone3_untied",
    "exaone_deep": "exaone_deep",
    "exaone4": "exaone4",
    "exaone4_5": "exaone4_5",
    "k_exaone": "exaone_moe",
}
MESSAGES = [
    {"role": "system", "content": "간결하게 답해."},
    {"role": "user", "content": "1+1?"},
    {"role": "assistant", "content": "2"},
    {"role": "user", "content": "그럼 2+2는?"},
]


def _edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


_DROP = object()


def test_every_family_row_is_complete():
    assert {f.key for f in families.FAMILIES} == set(FAMILY_FIXTURES)
    repos = [r.repo_id for f in families.FAMILIES for r in f.gguf_repos]
    assert len(repos) == len(set(repos))
    for fam in families.FAMILIES:
        assert fam.gguf_arch in SUPPORTED_ARCHITECTURES
        assert all(ARCHITECTURES[t].gguf_arch.name.lower().replace("_", "-") == fam.gguf_arch
                   for t in fam.model_types)
        for repo in fam.gguf_repos:
            assert repo.quants and all(f.size > 0 and f.name.endswith(".gguf") for f in repo.files)
            assert all(f.name.endswith(f"-{f.quant}.gguf") for f in repo.files)
    assert families.official_gguf_repos()["LGAI-EXAONE/EXAONE-4.5-33B-GGUF"].mmproj is not None


@pytest.mark.parametrize("key", list(FAMILY_FIXTURES))
def test_every_family_converts_checks_and_renders_through_one_path(key, tiny_checkpoint, tmp_path):
    """Convert the family's tiny checkpoint, check the GGUF, find the family again from the file alone,
    and render its own chat template as transformers does."""
    fam = next(f for f in families.FAMILIES if f.key == key)
    src = tiny_checkpoint(FAMILY_FIXTURES[key])
    out = convert_checkpoint(src, tmp_path / f"{key}.gguf", "f16")
    info = inspect_gguf(out)
    assert info.architecture == fam.gguf_arch
    assert info.family == fam.key
    assert families.family_for_gguf_arch(info.architecture, info.chat_template, info.family) is fam
    assert reasoning_tags(info.architecture, info.chat_template) == fam.reasoning_tags
    _, tokenizer = load_reference(src)
    assert info.chat_template == tokenizer.chat_template
    rendered = render_chat(info.chat_template, MESSAGES, bos_token=info.bos_token, eos_token=info.eos_token)
    assert rendered == tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)


LAYER_CONFIGS = [
    {},  # no sliding_window key: transformers' default window and pattern
    {"sliding_window": None, "layer_types": ["full_attention"] * 8},
    {"sliding_window": 8},
    {"sliding_window": 8, "sliding_window_pattern": 2},
    {"sliding_window": 16, "layer_types": ["sliding_attention", "full_attention"] * 4},
    {"sliding_window": None, "layer_types": ["sliding_attention"] * 8},
]


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_sliding_layers_are_read_as_transformers_reads_them(cfg):
    ref = Exaone4Config(num_hidden_layers=8, **cfg)
    window, pattern = transformers_sliding_layers(cfg, 8)
    assert window == ref.sliding_window
    if window is not None:
        assert pattern == [t == "sliding_attention" for t in ref.layer_types]


def test_missing_sliding_window_key_means_transformers_default(tiny_checkpoint, tmp_path):
    """transformers 5 reads a missing key as a 4096 window with every 4th layer global."""
    src = tmp_path / "hybrid"
    shutil.copytree(tiny_checkpoint("exaone4_hybrid64"), src)
    _edit_json(src / "config.json", sliding_window=_DROP, layer_types=_DROP, sliding_window_pattern=_DROP)
    meta = lh.metadata(convert_checkpoint(src, tmp_path / "h.gguf", "f16"))
    assert meta["exaone4.attention.sliding_window"] == "4096"

    small = tmp_path / "small"
    shutil.copytree(tiny_checkpoint("exaone4"), small)
    _edit_json(small / "config.json", sliding_window=_DROP, layer_types=_DROP, sliding_window_pattern=_DROP)
    with pytest.raises(ConversionError, match="would run it wrong"):
        convert_checkpoint(small, tmp_path / "s.gguf", "f16")
    assert not list(tmp_path.glob("*s.gguf*"))


def test_window_without_sliding_layers_refused_below_64_layers(tiny_checkpoint, tmp_path):
    """transformers runs such a model without RoPE anywhere; llama.cpp would use RoPE everywhere."""
    src = tmp_path / "nope"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    _edit_json(src / "config.json", sliding_window=8, layer_types=["full_attention"] * 2)
    with pytest.raises(ConversionError, match="no sliding layers") as err:
        convert_checkpoint(src, tmp_path / "n.gguf", "f16")
    assert "\n" not in str(err.value)


def test_64_layers_without_windows_are_written_as_full_windows(tiny_checkpoint, tmp_path):
    """Parity itself is in test_convert_parity (exaone4_64_full); here: what the file says."""
    out = convert_checkpoint(tiny_checkpoint("exaone4_64_full"), tmp_path / "f.gguf", "f16")
    info = inspect_gguf(out)
    assert info.sliding_window == FULL_WINDOW > info.context_length


def test_three_end_of_sequence_ids_are_all_kept(tiny_checkpoint, tmp_path):
    src = tmp_path / "eos"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    gen = json.loads((src / "generation_config.json").read_text())
    ids = [gen["eos_token_id"], 5, 13, 15]  # [|endofturn|], [|user|], <tool_call>, <tool_result>
    _edit_json(src / "generation_config.json", eos_token_id=ids)
    info = inspect_gguf(convert_checkpoint(src, tmp_path / "e.gguf", "f16"))
    assert set(ids) <= set(info.eos_token_ids)
    assert info.eos_token_ids[0] == ids[0]


MOE_REFUSALS = [
    ({"scoring_func": "softmax"}, "scoring_func"),
    ({"n_group": 4, "topk_group": 2}, "expert groups"),
    ({"mlp_layer_types": ["sparse", "dense", "sparse", "sparse"]}, "mlp_layer_types"),
    ({"num_experts_per_tok": 9}, "experts per token"),
]


@pytest.mark.parametrize(("change", "match"), MOE_REFUSALS)
def test_moe_configs_llama_cpp_would_run_wrong_are_refused(change, match, tiny_checkpoint, tmp_path):
    src = tmp_path / "moe"
    shutil.copytree(tiny_checkpoint("exaone_moe"), src)
    _edit_json(src / "config.json", **change)
    with pytest.raises(ConversionError, match=match) as err:
        convert_checkpoint(src, tmp_path / "m.gguf", "f16")
    assert "\n" not in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["moe"]


def test_moe_missing_expert_is_named(tiny_checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file

    src = tmp_path / "moe"
    shutil.copytree(tiny_checkpoint("exaone_moe"), src)
    state = load_file(str(src / "model.safetensors"))
    del state["model.layers.2.mlp.experts.5.up_proj.weight"]
    save_file(state, str(src / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ConversionError, match="expert 5 of 'model.layers.2.mlp.experts.up_proj.weight'"):
        convert_checkpoint(src, tmp_path / "m.gguf", "f16")


def test_moe_gguf_says_what_llama_cpp_needs(tiny_checkpoint, tmp_path):
    """The gating function (not in transformers' config class) and the MTP layer count are written."""
    src = tmp_path / "moe"
    shutil.copytree(tiny_checkpoint("exaone_moe"), src)
    _edit_json(src / "config.json", scoring_func=_DROP)  # transformers' router is a sigmoid regardless
    meta = lh.metadata(convert_checkpoint(src, tmp_path / "m.gguf", "f16"))
    assert meta["exaone-moe.expert_gating_func"] == "2"  # sigmoid
    assert meta["exaone-moe.nextn_predict_layers"] == "1"
    assert meta["exaone-moe.block_count"] == "5"  # 4 layers + 1 MTP layer
    assert meta["exaone-moe.expert_shared_feed_forward_length"] == "32"


@pytest.mark.parametrize("outtype", ["bf16", "f16", "q8_0"])
def test_moe_router_stays_f32_as_llama_cpp_writes_it(outtype, tiny_checkpoint, tmp_path):
    """llama.cpp's converter and quantizer keep ffn_gate_inp in F32: a BF16/F16 router rounds its input too,
    and moves near-tied expert scores. Every other matrix takes the output type."""
    from gguf import GGUFReader

    out = convert_checkpoint(tiny_checkpoint("exaone_moe"), tmp_path / "m.gguf", outtype)
    types = {t.name: t.tensor_type.name for t in GGUFReader(out).tensors}
    routers = {n for n in types if n.endswith("ffn_gate_inp.weight")}
    assert routers and {types[n] for n in routers} == {"F32"}
    matrices = {n for n, t in types.items() if n not in routers and t != "F32"}
    assert {types[n] for n in matrices} == {outtype.upper()}
    assert {n.rsplit(".", 2)[-2] for n in matrices} >= {"ffn_gate_exps", "attn_q", "token_embd"}


def test_hybrid_exaone4_5_refused_unless_64_text_layers(tiny_checkpoint, tmp_path):
    """llama.cpp's exaone4 graph turns windows on only at exactly 64 layers (MTP layers not counted)."""
    src = tmp_path / "vl"
    shutil.copytree(tiny_checkpoint("exaone4_5"), src)
    cfg = json.loads((src / "config.json").read_text())
    n = cfg["text_config"]["num_hidden_layers"]
    cfg["text_config"].update(sliding_window=8, layer_types=["sliding_attention"] * (n - 1) + ["full_attention"])
    (src / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConversionError, match="would run it wrong") as err:
        convert_checkpoint(src, tmp_path / "v.gguf", "f16")
    assert "\n" not in str(err.value)


def test_exaone4_5_text_gguf_keeps_mtp_layers(tiny_checkpoint, tmp_path):
    meta = lh.metadata(convert_checkpoint(tiny_checkpoint("exaone4_5_hybrid64"), tmp_path / "v.gguf", "f16"))
    assert meta["general.architecture"] == "exaone4"
    assert meta["exaone4.block_count"] == "65" and meta["exaone4.nextn_predict_layers"] == "1"
    assert meta["exaone4.attention.sliding_window"] == "8"


@pytest.mark.parametrize(("key", "value"), [("expert_count", 1025), ("expert_count", 100000), ("expert_used_count", 9),
                                            ("expert_used_count", 0), ("leading_dense_block_count", 1000)])
def test_gguf_check_bounds_the_moe_keys_llama_cpp_aborts_on(key, value, tiny_checkpoint, tmp_path):
    """llama.cpp 0.3.36 kills the whole process (SIGABRT) on the first four; the check says one line."""
    import struct

    from exaone_convert.gguf_check import InvalidGGUF

    good = convert_checkpoint(tiny_checkpoint("exaone_moe"), tmp_path / "m.gguf", "f16")
    data = bytearray(good.read_bytes())
    name = f"exaone-moe.{key}".encode()
    at = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
    assert struct.unpack_from("<I", data, at)[0] == 4  # a uint32 value follows
    struct.pack_into("<I", data, at + 4, value)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(InvalidGGUF, match=f"exaone-moe.{key} is {value}") as err:
        inspect_gguf(bad)
    assert "\n" not in str(err.value)
    assert inspect_gguf(good).architecture == "exaone-moe"


@pytest.mark.parametrize("kind", ["exaone_moe", "exaone4_5"])
def test_verify_passes_for_the_2026_families_at_f32(kind, tiny_checkpoint, tmp_path, capsys):
    """exaone-convert --verify loads transformers' own model for the family and agrees with the GGUF."""
    from exaone_convert.cli import main

    rc = main([str(tiny_checkpoint(kind)), "--outfile", str(tmp_path / "m-F32.gguf"), "--outtype", "f32", "--verify",
               "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "verification PASSED" in out and "same tokenization  yes" in out
    assert "mean KLD" in out.split("GGUF vs transformers", 1)[1]
    assert ("no limit for a mixture-of-experts model" in out) == (kind == "exaone_moe")
