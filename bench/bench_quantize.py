"""Benchmark: bf16 GGUF -> Q4_K_M with our wrapper vs llama.cpp's own quantizer, same file, same run.

    python bench/bench_quantize.py [--shape 2.4b|tiny] [--threads N] [--workdir DIR] [--llama-quantize BIN]

Competitors (each run in a fresh process, so peak RSS is per competitor):
- ``wrapper``: ``exaone_convert.quantize.quantize_gguf`` (child process, progress, atomic write);
- ``raw``: a bare ``llama_cpp.llama_model_quantize`` call;
- ``llama-quantize``: the llama.cpp binary, when ``--llama-quantize`` (or ``$LLAMA_QUANTIZE``) is given.

The input is a random bf16 GGUF of the real EXAONE-3.5-2.4B shape (from the lead's
``bench/make_random_checkpoint.py`` pipeline if you pass ``--input``, else written here with
gguf.GGUFWriter). Peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (whole process tree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int


SHAPES = {
    "2.4b": Shape(hidden=2560, layers=30, heads=32, kv_heads=8, ffn=7168, vocab=102400),
    "tiny": Shape(hidden=256, layers=2, heads=4, kv_heads=2, ffn=512, vocab=1024),
}


def tensor_shapes(s: Shape) -> list[tuple[str, tuple[int, ...]]]:
    """GGUF tensor names and numpy shapes (rows, cols) of a tied EXAONE 3 model."""
    head_dim = s.hidden // s.heads
    out: list[tuple[str, tuple[int, ...]]] = [("token_embd.weight", (s.vocab, s.hidden))]
    for i in range(s.layers):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", (s.hidden,)),
            (p + "attn_q.weight", (s.heads * head_dim, s.hidden)),
            (p + "attn_k.weight", (s.kv_heads * head_dim, s.hidden)),
            (p + "attn_v.weight", (s.kv_heads * head_dim, s.hidden)),
            (p + "attn_output.weight", (s.hidden, s.heads * head_dim)),
            (p + "ffn_norm.weight", (s.hidden,)),
            (p + "ffn_gate.weight", (s.ffn, s.hidden)),
            (p + "ffn_up.weight", (s.ffn, s.hidden)),
            (p + "ffn_down.weight", (s.hidden, s.ffn)),
        ]
    out.append(("output_norm.weight", (s.hidden,)))
    return out


def write_random_gguf(path: Path, s: Shape, seed: int = 0) -> Path:
    """Stream a random bf16 EXAONE-3-shaped GGUF to ``path`` (norms f32 = 1, weights ~N(0, 0.02))."""
    import gguf

    rng = np.random.default_rng(seed)
    pool = (rng.standard_normal(1 << 22, dtype=np.float32) * 0.02).view(np.uint32) >> 16
    pool = pool.astype(np.uint16)
    shapes = tensor_shapes(s)
    w = gguf.GGUFWriter(path, "exaone")
    w.add_name("bench-random-2.4b")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_context_length(4096)
    w.add_embedding_length(s.hidden)
    w.add_block_count(s.layers)
    w.add_feed_forward_length(s.ffn)
    w.add_head_count(s.heads)
    w.add_head_count_kv(s.kv_heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(1e6)
    w.add_vocab_size(s.vocab)
    for name, shape in shapes:
        n = int(np.prod(shape))
        if len(shape) == 1:
            w.add_tensor_info(name, shape, np.dtype(np.float32), n * 4, raw_dtype=gguf.GGMLQuantizationType.F32)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.uint16), n * 2, raw_dtype=gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    offset = 0
    for _name, shape in shapes:
        n = int(np.prod(shape))
        if len(shape) == 1:
            w.write_tensor_data(np.ones(shape, dtype=np.float32))
            continue
        reps = -(-(offset % pool.size + n) // pool.size)
        data = np.tile(pool, reps)[offset % pool.size: offset % pool.size + n].reshape(shape)
        offset += 7919
        w.write_tensor_data(data)
    w.close()
    return path


# Each competitor is a small Python program (or a binary) run in its own process.
WRAPPER = (
    "import sys; from pathlib import Path; from exaone_convert.quantize import quantize_gguf;"
    "quantize_gguf(Path(sys.argv[1]), Path(sys.argv[2]), 'q4_k_m', threads=int(sys.argv[3]))"
)
RAW = """
import ctypes, sys
import llama_cpp
quiet = llama_cpp.llama_log_callback(lambda level, text, user: None)
llama_cpp.llama_log_set(quiet, ctypes.c_void_p(0))
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
p.nthread = int(sys.argv[3])
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(p)))
"""


def run_one(argv: list[str]) -> dict[str, float]:
    """Run ``argv``; wall seconds and peak RSS (MiB) of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    # Linux's wait4 ru_maxrss is the max over the child and the descendants it waited for, so the
    # wrapper's own quantizer process is counted.
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="2.4b")
    ap.add_argument("--input", type=Path, help="an existing bf16 GGUF to quantize instead of a random one")
    ap.add_argument("--workdir", type=Path, default=Path("bench/out"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--llama-quantize", default=os.environ.get("LLAMA_QUANTIZE"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    src = args.input or args.workdir / f"random-{args.shape}-bf16.gguf"
    if not src.exists():
        t0 = time.perf_counter()
        write_random_gguf(src, SHAPES[args.shape])
        print(f"wrote {src} ({src.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t0:.1f} s")
    threads = str(args.threads)
    competitors: dict[str, list[str]] = {
        "raw llama_model_quantize": [sys.executable, "-c", RAW, str(src), "", threads],
        "exaone_convert.quantize_gguf": [sys.executable, "-c", WRAPPER, str(src), "", threads],
    }
    if args.llama_quantize:
        competitors["llama-quantize binary"] = [args.llama_quantize, str(src), "", "Q4_K_M", threads]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in competitors}
    for _ in range(args.repeats):
        for name, argv in competitors.items():  # interleaved, same input file
            out = args.workdir / f"out-{abs(hash(name))}.gguf"
            argv = [str(out) if a == "" else a for a in argv]
            res = run_one(argv)
            res["out_mib"] = round(out.stat().st_size / 2**20, 1)
            results[name].append(res)
            out.unlink()
    print(f"\ninput: {src.name} ({src.stat().st_size / 2**30:.2f} GiB), threads={threads}, "
          f"cpus={os.cpu_count()}")
    print(f"{'competitor':32} {'wall s (best)':>14} {'peak RSS MiB':>13} {'output MiB':>11}")
    for name, runs in results.items():
        best = min(r["wall_s"] for r in runs)
        rss = max(r["peak_rss_mib"] for r in runs)
        print(f"{name:32} {best:14.2f} {rss:13.1f} {runs[0]['out_mib']:11.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
