"""inspect_gguf: model info from valid GGUFs, and one-line refusals for broken or hostile ones."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from exaone_desktop.engine.llama.gguf_check import MAX_LAYERS, ModelInfo, inspect_gguf
from exaone_desktop.engine.types import GenerationError

TOKENS = ["[PAD]", "[BOS]", "[EOS]", "[UNK]", "[|endofturn|]", "<think>", "</think>"] + [
    chr(c) for c in range(ord("a"), ord("a") + 25)
]
HIDDEN, FFN, KV_DIM = 8, 16, 4
TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}<think>\n"
LAYER_TENSORS = (
    ("attn_norm", (HIDDEN,)), ("attn_q", (HIDDEN, HIDDEN)), ("attn_k", (KV_DIM, HIDDEN)),
    ("attn_v", (KV_DIM, HIDDEN)), ("attn_output", (HIDDEN, HIDDEN)), ("ffn_norm", (HIDDEN,)),
    ("ffn_gate", (FFN, HIDDEN)), ("ffn_up", (FFN, HIDDEN)), ("ffn_down", (HIDDEN, FFN)),
)  # fmt: skip


def write_gguf(
    path: Path,
    *,
    arch: str = "exaone",
    block_count: int = 2,
    omit: tuple[str, ...] = (),
    file_type: gguf.LlamaFileType | None = gguf.LlamaFileType.ALL_F32,
    tokens: Any = None,
    extra: Callable[[gguf.GGUFWriter], None] | None = None,
    layer_dtype: type = np.float32,
) -> Path:
    """A tiny EXAONE-shaped GGUF written with gguf's own writer; ``omit`` drops metadata keys."""
    w = gguf.GGUFWriter(str(path), arch)
    setters: dict[str, Callable[[], None]] = {
        "general.name": lambda: w.add_name("tiny-exaone"),
        "block_count": lambda: w.add_block_count(block_count),
        "context_length": lambda: w.add_context_length(64),
        "embedding_length": lambda: w.add_embedding_length(HIDDEN),
        "feed_forward_length": lambda: w.add_feed_forward_length(FFN),
        "head_count": lambda: w.add_head_count(2),
        "head_count_kv": lambda: w.add_head_count_kv(1),
        "rms_eps": lambda: w.add_layer_norm_rms_eps(1e-5),
        "tokenizer.ggml.model": lambda: w.add_tokenizer_model("gpt2"),
        "tokenizer.ggml.pre": lambda: w.add_tokenizer_pre("exaone"),
        "tokenizer.ggml.tokens": lambda: w.add_token_list(TOKENS if tokens is None else tokens),
        "tokenizer.ggml.token_type": lambda: w.add_token_types([3] * 7 + [1] * (len(TOKENS) - 7)),
        "tokenizer.ggml.merges": lambda: w.add_token_merges(["a b", "c d"]),
        "tokenizer.ggml.bos_token_id": lambda: w.add_bos_token_id(1),
        "tokenizer.ggml.eos_token_id": lambda: w.add_eos_token_id(2),
        "tokenizer.ggml.add_bos_token": lambda: w.add_add_bos_token(True),
        "tokenizer.chat_template": lambda: w.add_chat_template(TEMPLATE),
    }
    for key, add in setters.items():
        if key not in omit:
            add()
    if file_type is not None:
        w.add_file_type(file_type)
    if extra is not None:
        extra(w)
    vocab = len(TOKENS)
    w.add_tensor("token_embd.weight", np.zeros((vocab, HIDDEN), np.float32))
    w.add_tensor("output_norm.weight", np.ones(HIDDEN, np.float32))
    for i in range(min(block_count, 2)):
        for name, shape in LAYER_TENSORS:
            w.add_tensor(f"blk.{i}.{name}.weight", np.zeros(shape, layer_dtype))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture()
def valid(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf")


def refused(path: Path) -> str:
    """The one-line message inspect_gguf refuses ``path`` with."""
    with pytest.raises(GenerationError) as info:
        inspect_gguf(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def patched(src: Path, dst: Path, edit: Callable[[bytearray], None]) -> Path:
    data = bytearray(src.read_bytes())
    edit(data)
    dst.write_bytes(bytes(data))
    return dst


def after_key(data: bytearray, key: str) -> int:
    """Offset of the value type field that follows a metadata key."""
    raw = key.encode()
    at = data.find(struct.pack("<Q", len(raw)) + raw)
    assert at >= 0, key
    return at + 8 + len(raw)


def after_tensor_name(data: bytearray, name: str) -> int:
    """Offset of the n_dims field that follows a tensor's name in the tensor-info table."""
    raw = name.encode()
    at = data.rfind(struct.pack("<Q", len(raw)) + raw)
    assert at >= 0, name
    return at + 8 + len(raw)


def put(data: bytearray, offset: int, fmt: str, value: int) -> None:
    struct.pack_into(fmt, data, offset, value)


# ------------------------------------------------------------------------------------------------
# Valid files


def test_valid_file_gives_model_info(valid: Path) -> None:
    info = inspect_gguf(valid)
    reader = gguf.GGUFReader(valid)  # trusted here: we wrote the file ourselves
    assert isinstance(info, ModelInfo)
    assert info.path == valid
    assert (info.architecture, info.name) == ("exaone", "tiny-exaone")
    assert (info.n_layers, info.context_length, info.embedding_length) == (2, 64, HIDDEN)
    assert info.n_vocab == len(TOKENS)
    assert info.file_size == os.path.getsize(valid)
    assert info.quant_type == "F32"
    assert info.chat_template == TEMPLATE and info.reasoning
    assert info.bos_token_id == 1 and info.bos_token == "[BOS]"
    # eos, then the [|endofturn|] token found in the vocabulary
    assert info.eos_token_ids == [2, TOKENS.index("[|endofturn|]")]
    assert info.add_bos is True
    assert info.sliding_window is None
    assert info.tensor_count == len(reader.tensors)
    assert info.parameter_count == sum(int(t.n_elements) for t in reader.tensors)
    assert info.sampling_defaults == {}


def test_exaone4_sampling_defaults_eot_and_sliding_window(tmp_path: Path) -> None:
    def extra(w: gguf.GGUFWriter) -> None:
        w.add_float32("general.sampling.temp", 0.6)
        w.add_int32("general.sampling.top_k", 20)
        w.add_float32("general.sampling.top_p", 0.95)
        w.add_float32("general.sampling.penalty_repeat", 1.25)
        w.add_uint32("tokenizer.ggml.eot_token_id", TOKENS.index("[|endofturn|]"))
        w.add_sliding_window(4)

    info = inspect_gguf(write_gguf(tmp_path / "e4.gguf", arch="exaone4", extra=extra, omit=("general.name",)))
    assert info.architecture == "exaone4"
    assert info.name == "e4"  # falls back to the file name
    # a file without exaone-convert's family key: EXAONE 4.0's thinking default comes from the family table,
    # the file's own values win over LG's recommended ones (tests/test_gguf_recognition.py)
    assert info.sampling_defaults == pytest.approx(
        {"temperature": 0.6, "top_k": 20, "top_p": 0.95, "repetition_penalty": 1.25, "enable_thinking": False}
    )
    assert isinstance(info.sampling_defaults["top_k"], int)
    assert info.eos_token_ids == [2, TOKENS.index("[|endofturn|]")]  # deduplicated
    assert info.sliding_window == 4


def test_quant_type_falls_back_to_most_common_tensor_type(tmp_path: Path) -> None:
    info = inspect_gguf(write_gguf(tmp_path / "f16.gguf", file_type=None, layer_dtype=np.float16))
    assert info.quant_type == "F16"


def test_missing_template_means_no_reasoning(tmp_path: Path) -> None:
    info = inspect_gguf(write_gguf(tmp_path / "nt.gguf", omit=("tokenizer.chat_template",)))
    assert info.chat_template is None and not info.reasoning
    assert info.add_bos is True


def test_llama_cpp_loads_what_the_check_accepts(valid: Path) -> None:
    """The checks are not stricter than llama.cpp on a well-formed file."""
    pytest.importorskip("llama_cpp")
    inspect_gguf(valid)
    code = (
        "import sys, llama_cpp; m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=32, n_threads=1, verbose=False);"
        "print(m.n_vocab())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(valid)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == str(len(TOKENS))


# ------------------------------------------------------------------------------------------------
# Refusals


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "not found" in refused(tmp_path / "nope.gguf")
    assert "not a file" in refused(tmp_path)


@pytest.mark.parametrize("content", [b"", b"GG", b"PK\x03\x04" + b"\0" * 60, b"\x7fELF" + b"\0" * 60])
def test_not_a_gguf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(content)
    message = refused(path)
    assert "not a GGUF file" in message and "exaone-convert" in message


@pytest.mark.parametrize("version", [1, 4, 99])
def test_unsupported_version(valid: Path, tmp_path: Path, version: int) -> None:
    bad = patched(valid, tmp_path / "v.gguf", lambda d: put(d, 4, "<I", version))
    message = refused(bad)
    assert f"unsupported GGUF version {version}" in message and "convert" in message


def test_big_endian_is_named(valid: Path, tmp_path: Path) -> None:
    bad = patched(valid, tmp_path / "be.gguf", lambda d: put(d, 4, ">I", 3))
    assert "big-endian" in refused(bad)


def test_truncated_anywhere_is_refused(valid: Path, tmp_path: Path) -> None:
    data = valid.read_bytes()
    path = tmp_path / "cut.gguf"
    header_end = data.find(b"blk.1.ffn_down.weight") + 64
    for cut in [*range(0, header_end, 4), *range(header_end, len(data), 61)]:
        path.write_bytes(data[:cut])
        message = refused(path)
        assert "truncated" in message or "not a GGUF" in message, (cut, message)


def test_unsupported_architecture(tmp_path: Path) -> None:
    message = refused(write_gguf(tmp_path / "llama.gguf", arch="llama"))
    assert "'llama'" in message and "exaone, exaone4" in message


def test_huge_string_length(valid: Path, tmp_path: Path) -> None:
    # general.name's value: type (4 bytes), then its u64 length
    bad = patched(valid, tmp_path / "s.gguf", lambda d: put(d, after_key(d, "general.name") + 4, "<Q", 2**62))
    message = refused(bad)
    assert str(2**62) in message and "left in the file" in message


def test_huge_key_length(valid: Path, tmp_path: Path) -> None:
    def edit(d: bytearray) -> None:
        raw = b"general.name"
        put(d, d.find(struct.pack("<Q", len(raw)) + raw), "<Q", 2**63 + 5)

    assert "left in the file" in refused(patched(valid, tmp_path / "k.gguf", edit))


@pytest.mark.parametrize("count", [2**60, 2**64 - 1, 10**6])
def test_huge_array_length(valid: Path, tmp_path: Path, count: int) -> None:
    # tokens: type (4), element type (4), then the u64 element count
    bad = patched(valid, tmp_path / "a.gguf",
                  lambda d: put(d, after_key(d, "tokenizer.ggml.tokens") + 8, "<Q", count))
    message = refused(bad)
    assert str(count) in message and "elements" in message


def test_token_array_of_wrong_type(tmp_path: Path) -> None:
    message = refused(write_gguf(tmp_path / "t.gguf", tokens=list(range(len(TOKENS)))))
    assert "tokenizer.ggml.tokens" in message and "expected an array of string" in message


@pytest.mark.parametrize("key", ["tokenizer.ggml.token_type", "tokenizer.ggml.scores"])
def test_token_arrays_shorter_than_vocabulary(tmp_path: Path, key: str) -> None:
    # llama.cpp reads token_type[i] and scores[i] for every token without a length check
    def extra(w: gguf.GGUFWriter) -> None:
        if key.endswith("type"):
            w.add_token_types([1, 1, 1])
        else:
            w.add_token_scores([1.0, 1.0, 1.0])

    bad = write_gguf(tmp_path / "tt.gguf", omit=("tokenizer.ggml.token_type",), extra=extra)
    assert f"{key} has 3 entries but the vocabulary has {len(TOKENS)}" in refused(bad)


def test_block_count_beyond_llama_cpp_limit(tmp_path: Path) -> None:
    message = refused(write_gguf(tmp_path / "b.gguf", block_count=100_000))
    assert "exaone.block_count is 100000" in message and str(MAX_LAYERS) in message


def test_block_count_100000_aborts_llama_cpp(tmp_path: Path) -> None:
    """Why the check exists: llama-cpp-python 0.3.36 aborts the whole process on this file."""
    path = write_gguf(tmp_path / "abort.gguf", block_count=100_000)
    assert "block_count is 100000" in refused(path)  # refused before llama.cpp ever sees it
    pytest.importorskip("llama_cpp")
    code = "import sys, llama_cpp; llama_cpp.Llama(model_path=sys.argv[1], n_ctx=32, verbose=False)"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=120)
    if os.name == "posix" and done.returncode < 0:
        assert done.returncode == -signal.SIGABRT


def test_zero_layers(tmp_path: Path) -> None:
    assert "block_count is 0" in refused(write_gguf(tmp_path / "z.gguf", block_count=0))


@pytest.mark.parametrize(
    "key", ["block_count", "context_length", "embedding_length", "tokenizer.ggml.tokens"]
)
def test_missing_required_key(tmp_path: Path, key: str) -> None:
    message = refused(write_gguf(tmp_path / "m.gguf", omit=(key,)))
    assert "missing" in message and key in message


def test_tensor_data_past_end_of_file(valid: Path, tmp_path: Path) -> None:
    def edit(d: bytearray) -> None:
        at = after_tensor_name(d, "blk.1.ffn_down.weight")
        n_dims = struct.unpack_from("<I", d, at)[0]
        put(d, at + 4 + 8 * n_dims + 4, "<Q", 1 << 40)  # offset field, still aligned

    message = refused(patched(valid, tmp_path / "o.gguf", edit))
    assert "blk.1.ffn_down.weight" in message and "past the end" in message


def test_misaligned_tensor_offset(valid: Path, tmp_path: Path) -> None:
    def edit(d: bytearray) -> None:
        at = after_tensor_name(d, "output_norm.weight")
        put(d, at + 4 + 8 * 1 + 4, "<Q", 3)

    assert "alignment" in refused(patched(valid, tmp_path / "al.gguf", edit))


@pytest.mark.parametrize(
    ("dims", "expected"),
    [((2**40, 2**40), "overflows 64 bits"), ((2**63 + 1, 1), "negative or huge")],
)
def test_dimension_overflow(valid: Path, tmp_path: Path, dims: tuple[int, int], expected: str) -> None:
    def edit(d: bytearray) -> None:
        at = after_tensor_name(d, "token_embd.weight")
        assert struct.unpack_from("<I", d, at)[0] == 2
        struct.pack_into("<QQ", d, at + 4, *dims)

    assert expected in refused(patched(valid, tmp_path / "d.gguf", edit))


def test_too_many_dimensions(valid: Path, tmp_path: Path) -> None:
    bad = patched(valid, tmp_path / "nd.gguf", lambda d: put(d, after_tensor_name(d, "token_embd.weight"), "<I", 5))
    assert "5 dimensions" in refused(bad)


@pytest.mark.parametrize("ggml_type", [4, 5, 200, 2**32 - 1])
def test_unknown_ggml_type(valid: Path, tmp_path: Path, ggml_type: int) -> None:
    def edit(d: bytearray) -> None:
        at = after_tensor_name(d, "output_norm.weight")
        put(d, at + 4 + 8, "<I", ggml_type)

    assert f"unknown ggml type {ggml_type}" in refused(patched(valid, tmp_path / "ty.gguf", edit))


def test_block_size_mismatch(valid: Path, tmp_path: Path) -> None:
    def edit(d: bytearray) -> None:
        at = after_tensor_name(d, "output_norm.weight")
        put(d, at + 4 + 8, "<I", int(gguf.GGMLQuantizationType.Q4_K))  # 8 is not a multiple of 256

    assert "block size" in refused(patched(valid, tmp_path / "bs.gguf", edit))


@pytest.mark.parametrize(("offset", "count"), [(8, 2**40), (16, 2**50), (8, 2**64 - 1), (16, 10**4)])
def test_absurd_counts(valid: Path, tmp_path: Path, offset: int, count: int) -> None:
    bad = patched(valid, tmp_path / "c.gguf", lambda d: put(d, offset, "<Q", count))
    assert "more than a" in refused(bad)


def test_unknown_value_type(valid: Path, tmp_path: Path) -> None:
    bad = patched(valid, tmp_path / "vt.gguf", lambda d: put(d, after_key(d, "general.name"), "<I", 77))
    assert "unknown value type 77" in refused(bad)


def test_nested_array(valid: Path, tmp_path: Path) -> None:
    bad = patched(valid, tmp_path / "na.gguf",
                  lambda d: put(d, after_key(d, "tokenizer.ggml.merges") + 4, "<I", int(gguf.GGUFValueType.ARRAY)))
    assert "holds arrays" in refused(bad)


def test_duplicate_key(tmp_path: Path) -> None:
    def extra(w: gguf.GGUFWriter) -> None:
        w.add_string("general.aaaa", "x")
        w.add_string("general.bbbb", "y")

    path = write_gguf(tmp_path / "dup.gguf", extra=extra)
    def rename(d: bytearray) -> None:
        at = d.find(b"general.bbbb")
        d[at:at + 12] = b"general.aaaa"

    assert "appears twice" in refused(patched(path, tmp_path / "dup2.gguf", rename))


def test_bad_alignment(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "al.gguf", extra=lambda w: w.add_uint32("general.alignment", 24))
    assert "power of two" in refused(path)


def test_wrong_type_for_required_key(valid: Path, tmp_path: Path) -> None:
    bad = patched(valid, tmp_path / "w.gguf",
                  lambda d: put(d, after_key(d, "exaone.context_length"), "<I", int(gguf.GGUFValueType.FLOAT32)))
    assert "exaone.context_length" in refused(bad) and "expected an integer" in refused(bad)


def test_random_corruption_never_crashes(valid: Path, tmp_path: Path) -> None:
    """Random byte damage in the header gives ModelInfo or a one-line GenerationError, nothing else."""
    rng = random.Random(1234)
    data = valid.read_bytes()
    header_end = data.find(b"blk.1.ffn_down.weight") + 64
    path = tmp_path / "fuzz.gguf"
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(header_end)] = rng.randrange(256)
        path.write_bytes(bytes(damaged))
        try:
            inspect_gguf(path)
            outcomes["ok"] += 1
        except GenerationError as err:
            assert "\n" not in str(err)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
