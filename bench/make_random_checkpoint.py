"""Write a random-weight EXAONE checkpoint of a real release's shape, in the real HF layout.

    python bench/make_random_checkpoint.py {exaone-3.5-2.4b|exaone-4.0-1.2b} OUTDIR [--seed N] [--layers N]
        [--vocab N]

The folder looks like the official release (config keys, original weight names, bf16 safetensors
sharded with ``model.safetensors.index.json``, tokenizer files, generation_config.json), but the
weights are N(0, 0.02) noise and the tokenizer is a synthetic byte-level BPE with exactly 102,400
(or ``--vocab``) entries and EXAONE's special tokens at their real low ids (``[PAD]`` 0, ``[BOS]`` 1, ``[EOS]`` 2,
``[UNK]`` 3, ``[|endofturn|]`` 361). It is for speed and memory measurements only. ``--layers``
shrinks the model for a smoke test. Output is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from exaone_convert import atomic_path
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import tiny_checkpoints as tc  # noqa: E402  (templates, tensor layouts, atomic writers)

VOCAB = 102_400
WEIGHT_STD = 0.02
SHARD_BYTES = 2_000_000_000  # ~2 GB per shard, like the official uploads
CHUNK_ELEMS = 1 << 23  # random numbers drawn per step (32 MB of float32)
ROPE_LLAMA3 = {"rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
# Special tokens at fixed ids. Only 0-3 and 361 are known from the releases; the role tokens sit
# just below [|endofturn|] here, which is an assumption of this synthetic tokenizer.
SPECIALS_COMMON = {0: "[PAD]", 1: "[BOS]", 2: "[EOS]", 3: "[UNK]",
                   358: "[|system|]", 359: "[|user|]", 360: "[|assistant|]", 361: "[|endofturn|]"}
SPECIALS_EXAONE4 = {362: "[|tool|]", 363: "<think>", 364: "</think>", 365: "<tool_call>", 366: "</tool_call>",
                    367: "<tool_result>", 368: "</tool_result>"}


@dataclass(frozen=True)
class Release:
    family: str  # "exaone" (3.x) or "exaone4"
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    rope_factor: float
    max_positions: int
    generation: dict[str, float | int]


RELEASES: dict[str, Release] = {
    "exaone-3.5-2.4b": Release("exaone", 2560, 30, 32, 8, 80, 7168, 8.0, 32768, {}),
    "exaone-4.0-1.2b": Release("exaone4", 2048, 30, 32, 8, 64, 4096, 16.0, 65536,
                               {"temperature": 0.6, "top_p": 0.95, "do_sample": True}),
}
TEMPLATES = {"exaone": tc.EXAONE35_TEMPLATE, "exaone4": tc.EXAONE4_TEMPLATE}


def as_kind(rel: Release, layers: int) -> tc.Kind:
    return tc.Kind(rel.family, TEMPLATES[rel.family], layers=layers, hidden=rel.hidden, heads=rel.heads,
                   kv_heads=rel.kv_heads, head_dim=rel.head_dim, ffn=rel.ffn, tied=True)


def specials(family: str) -> dict[int, str]:
    return {**SPECIALS_COMMON, **(SPECIALS_EXAONE4 if family == "exaone4" else {})}


# ---------------------------------------------------------------------------------------------
# Tokenizer


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def synthetic_merges(alphabet: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` merges: pairs of common symbols, then every other byte pair, then common triples."""
    common = [alphabet[b] for b in b" \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'!?-:;()"]
    common_pairs = [(a, b) for a in common for b in common]
    seen = {a + b for a, b in common_pairs}
    rest = [(a, b) for a in alphabet for b in alphabet if a + b not in seen]
    triples = ((a + b, c) for a, b in common_pairs for c in common)
    out = (common_pairs + rest)[:n]
    out.extend(t for t, _ in zip(triples, range(n - len(out)), strict=False))
    if len(out) != n:
        raise ValueError(f"cannot make {n} merges")
    return out


def build_tokenizer(family: str, size: int = VOCAB) -> Tokenizer:
    """Byte-level BPE with exactly ``size`` entries, EXAONE's special tokens at their ids."""
    fixed = specials(family)
    alphabet = _byte_alphabet()
    merges = synthetic_merges(alphabet, size - len(fixed) - len(alphabet))
    normal = iter(alphabet + [a + b for a, b in merges])
    vocab = {fixed[i] if i in fixed else next(normal): i for i in range(size)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = (  # "exaone": digits one by one, then GPT-2's regex; "exaone4": GPT-2's regex
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"), byte_level])
        if family == "exaone" else byte_level
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for _, t in sorted(fixed.items())])
    check_tokenizer(tok, fixed, size)
    return tok


def check_tokenizer(tok: Tokenizer, fixed: dict[int, str], expected: int = VOCAB) -> None:
    size = tok.get_vocab_size(with_added_tokens=True)
    if size != expected:
        raise RuntimeError(f"tokenizer has {size} entries, expected {expected}")
    for i, text in fixed.items():
        if tok.token_to_id(text) != i:
            raise RuntimeError(f"{text} has id {tok.token_to_id(text)}, expected {i}")
    for sample in tc.tokenization_samples():
        ids = tok.encode(sample, add_special_tokens=False).ids
        if tok.decode(ids, skip_special_tokens=False) != sample:
            raise RuntimeError(f"tokenizer does not round-trip {sample!r}")


# ---------------------------------------------------------------------------------------------
# Weights


def bf16_bits(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32)
    return ((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16).astype(np.uint16)


def tensor_data(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """bf16 bits of one tensor, chunk by chunk: norms 1 + N(0, 0.02), the rest N(0, 0.02)."""
    count = math.prod(shape)
    for start in range(0, count, CHUNK_ELEMS):
        x = rng.standard_normal(min(CHUNK_ELEMS, count - start), dtype=np.float32)
        x *= np.float32(WEIGHT_STD)
        if len(shape) == 1:
            x += np.float32(1.0)
        yield bf16_bits(x)


def plan_shards(layout: list[tuple[str, tuple[int, ...]]]) -> list[list[tuple[str, tuple[int, ...]]]]:
    total = sum(math.prod(s) * 2 for _, s in layout)
    n = max(1, math.ceil(total / SHARD_BYTES))
    target = total / n
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    filled = 0
    for name, shape in layout:
        if filled >= target * len(shards) and len(shards) < n:
            shards.append([])
        shards[-1].append((name, shape))
        filled += math.prod(shape) * 2
    return shards


def write_safetensors(path: Path, entries: list[tuple[str, tuple[int, ...]]], rng: np.random.Generator) -> int:
    """Stream one bf16 safetensors file (header: 8-byte length + JSON padded to 8 bytes); returns data bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in entries:
        nbytes = math.prod(shape) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for name, shape in entries:
            for chunk in tensor_data(rng, name, shape):
                f.write(chunk.data)
    return offset


def write_weights(out: Path, kind: tc.Kind, seed: int, vocab: int = VOCAB) -> None:
    layout = tc.TENSOR_LAYOUTS[kind.family](kind, vocab)
    shards = plan_shards(layout)
    rng = np.random.default_rng(seed)
    weight_map: dict[str, str] = {}
    total = 0
    for i, entries in enumerate(shards, start=1):
        fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(out / fname, entries, rng)
        weight_map.update({name: fname for name, _ in entries})
    tc.write_json(out / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})


# ---------------------------------------------------------------------------------------------
# Config files


def hf_config(rel: Release, kind: tc.Kind, vocab: int = VOCAB) -> dict[str, object]:
    ids = {tc.BOS: 1, tc.EOS: 361, tc.PAD: 0, tc.UNK: 3}
    config = tc.hf_config(kind, vocab, ids)
    config["max_position_embeddings"] = rel.max_positions
    config["rope_scaling"] = {**ROPE_LLAMA3, "factor": rel.rope_factor}
    if rel.family == "exaone4":
        config["sliding_window"] = None
        config["sliding_window_pattern"] = None
    return config


def write_checkpoint(shape: str, out: Path, *, seed: int = 0, layers: int | None = None,
                     vocab: int = VOCAB) -> Path:
    rel = RELEASES[shape]
    kind = as_kind(rel, layers or rel.layers)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(rel.family, vocab)
    tc.write_tokenizer_files(out, tok, kind.template)
    cfg_path = out / "tokenizer_config.json"
    tok_cfg = json.loads(cfg_path.read_text())
    tok_cfg["model_max_length"] = rel.max_positions
    tc.write_json(cfg_path, tok_cfg)
    tc.write_json(out / "config.json", hf_config(rel, kind, vocab))
    gen = {"bos_token_id": 1, "eos_token_id": 361, "pad_token_id": 0, **rel.generation,
           "transformers_version": "4.54.0"}
    tc.write_json(out / "generation_config.json", gen)
    write_weights(out, kind, seed, vocab)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shape", choices=sorted(RELEASES))
    p.add_argument("outdir", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=None, help="fewer layers, for a quick smoke test")
    p.add_argument("--vocab", type=int, default=VOCAB,
                   help=f"tokenizer size (default {VOCAB:,}; K-EXAONE's is 153,600)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    write_checkpoint(args.shape, args.outdir, seed=args.seed, layers=args.layers, vocab=args.vocab)
    size = sum(f.stat().st_size for f in args.outdir.glob("*.safetensors"))
    print(f"wrote {args.outdir} ({size / 1e9:.2f} GB of weights) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
