"""Benchmark: bf16 GGUF -> Q4_K_M with our wrapper vs llama.cpp's own quantizer, same file, same run.

    python bench/bench_quantize.py [--shape exaone-3.5-2.4b|exaone-4.0-1.2b] [--layers N] [--threads N]
                                   [--workdir DIR] [--llama-quantize BIN] [--repeats N]

Competitors (each run in a fresh process, so peak RSS is per competitor):
- ``wrapper``: ``exaone_convert.quantize.quantize_gguf`` (child process, progress, atomic write);
- ``raw``: a bare ``llama_cpp.llama_model_quantize`` call;
- ``llama-quantize``: the llama.cpp binary, when ``--llama-quantize`` (or ``$LLAMA_QUANTIZE``) is given.

The input is a bf16 GGUF of a real EXAONE shape with random weights (``make_random_checkpoint.py``,
then ``exaone-convert --outtype bf16``), or ``--input``. Peak RSS is the child's ``ru_maxrss`` from
``os.wait4`` (whole process tree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_random_checkpoint import RELEASES  # noqa: E402


def make_input(shape: str, workdir: Path, layers: int | None) -> Path:
    """A random-weight checkpoint of a real EXAONE shape (make_random_checkpoint.py), converted to a
    bf16 GGUF by exaone-convert: the file a user would quantize."""
    from make_random_checkpoint import write_checkpoint

    name = shape if layers is None else f"{shape}-L{layers}"
    ckpt = workdir / "ckpt" / name
    if not (ckpt / "config.json").exists():
        write_checkpoint(shape, ckpt, layers=layers)
    out = workdir / f"{name}-bf16.gguf"
    if not out.exists():
        subprocess.run([sys.executable, "-m", "exaone_convert.cli", str(ckpt), "--outtype", "bf16",
                        "--outfile", str(out), "--quiet"], check=True)
    return out


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
    ap.add_argument("--shape", choices=sorted(RELEASES), default="exaone-3.5-2.4b")
    ap.add_argument("--layers", type=int, default=None, help="fewer layers, for a quick smoke test")
    ap.add_argument("--input", type=Path, help="an existing bf16 GGUF to quantize instead of a random one")
    ap.add_argument("--workdir", type=Path, default=Path("bench/out"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--llama-quantize", default=os.environ.get("LLAMA_QUANTIZE"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    src = args.input or make_input(args.shape, args.workdir, args.layers)
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
