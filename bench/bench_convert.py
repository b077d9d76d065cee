"""Benchmark: HF checkpoint -> bf16 / f16 GGUF, our converter vs llama.cpp's convert_hf_to_gguf.py.

    python bench/bench_convert.py [--quick] [--runs N] [--ckpt DIR] [--llama-cpp DIR] [--no-readme]

Input: a random-weight checkpoint of the real EXAONE-3.5-2.4B shape (made with
make_random_checkpoint.py into bench/out/ckpt/ when missing). Each tool runs as its own process;
wall time and peak RSS (``ru_maxrss`` from ``os.wait4``) are per process. One untimed warm-up
loads the checkpoint into the page cache, then the tools alternate (the order flips every round)
with ``sync`` between runs, and medians are reported. ``--quick`` uses a 4-layer model and one
round and leaves the README alone.

llama.cpp's converter comes from the llama-cpp-python 0.3.36 sdist (``pip download`` into
bench/out/sdist when not found) and runs through llamacpp_convert_wrapper.py, which only skips its
tokenizer-hash check (the random checkpoint's tokenizer is synthetic).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

LLAMA_CPP_VERSION = "0.3.36"
SDIST_DIR = bl.OUT_DIR / "sdist"
LLAMA_CPP_CANDIDATES = (
    SDIST_DIR / f"llama_cpp_python-{LLAMA_CPP_VERSION}" / "vendor" / "llama.cpp",
    Path(f"/tmp/sd/llama_cpp_python-{LLAMA_CPP_VERSION}/vendor/llama.cpp"),
)
SHAPE = "exaone-3.5-2.4b"


def find_llama_cpp(explicit: Path | None) -> Path:
    """llama.cpp's source tree with convert_hf_to_gguf.py; downloads the sdist when none is found."""
    env = os.environ.get("LLAMA_CPP_DIR")
    for cand in (explicit, Path(env) if env else None, *LLAMA_CPP_CANDIDATES):
        if cand is not None and (cand / "convert_hf_to_gguf.py").is_file():
            return cand
    SDIST_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={LLAMA_CPP_VERSION}", "--no-deps",
                    "--no-binary", ":all:", "-d", str(SDIST_DIR)], check=True)
    archive = next(SDIST_DIR.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(SDIST_DIR, filter="data")
    return LLAMA_CPP_CANDIDATES[0]


def ensure_checkpoint(path: Path, layers: int | None) -> Path:
    if not (path / "model.safetensors.index.json").is_file():
        cmd = [sys.executable, str(bl.BENCH_DIR / "make_random_checkpoint.py"), SHAPE, str(path)]
        subprocess.run(cmd + (["--layers", str(layers)] if layers else []), check=True)
    return path


@dataclass
class Tool:
    name: str
    command: Callable[[Path, str, Path], list[str]]  # (checkpoint, outtype, outfile) -> argv
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def make_tools(llama_dir: Path) -> list[Tool]:
    def ours(ckpt: Path, outtype: str, out: Path) -> list[str]:
        return [sys.executable, "-m", "exaone_convert.cli", str(ckpt), "--outtype", outtype, "--outfile", str(out),
                "--force", "--quiet"]

    def llama(ckpt: Path, outtype: str, out: Path) -> list[str]:
        return [sys.executable, str(bl.BENCH_DIR / "llamacpp_convert_wrapper.py"), str(llama_dir), str(ckpt),
                "--outtype", outtype, "--outfile", str(out)]

    llama_env = dict(os.environ)
    llama_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(llama_dir / "gguf-py"), os.environ.get("PYTHONPATH")]))
    return [Tool("exaone-convert (ours)", ours), Tool("llama.cpp convert_hf_to_gguf.py", llama, llama_env)]


def compare_tensors(a: Path, b: Path) -> str:
    """Which tensors of two GGUFs have identical type and bytes (max abs difference of the others)."""
    from gguf import GGUFReader

    ra, rb = GGUFReader(a), GGUFReader(b)
    other = {t.name: t for t in rb.tensors}
    same, diffs = 0, []
    for t in ra.tensors:
        u = other.get(t.name)
        if u is None or u.tensor_type != t.tensor_type:
            diffs.append(f"{t.name} (type {t.tensor_type.name} vs {u.tensor_type.name if u else 'missing'})")
        elif np.array_equal(t.data.view(np.uint8), u.data.view(np.uint8)):
            same += 1
        else:
            gap = float(np.max(np.abs(t.data.astype(np.float64) - u.data.astype(np.float64))))
            diffs.append(f"{t.name} (max |diff| {gap:.3g})")
    return f"{same}/{len(ra.tensors)} tensors byte-identical" + (f"; differ: {', '.join(diffs)}" if diffs else "")


def compare_in_child(a: Path, b: Path) -> str:
    """Run the comparison in a child: its memory maps would otherwise raise the peak RSS that later
    children inherit at exec (Linux carries the parent's high-water mark over a fork)."""
    out = subprocess.run([sys.executable, __file__, "--compare", str(a), str(b)], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def bench_outtype(tools: list[Tool], ckpt: Path, outtype: str, rounds: int) -> dict[str, list[bl.ChildRun]]:
    results: dict[str, list[bl.ChildRun]] = {t.name: [] for t in tools}
    outs = {t.name: bl.OUT_DIR / f"convert-{i}-{outtype}.gguf" for i, t in enumerate(tools)}
    for r in range(-1, rounds):  # round -1: untimed warm-up of the page cache
        order = tools if r % 2 == 0 else tools[::-1]
        for tool in order if r >= 0 else tools[:1]:
            outs[tool.name].unlink(missing_ok=True)
            os.sync()
            log = bl.OUT_DIR / f"convert-{outtype}-{tool.name.split()[0]}.log"
            run = bl.check_ok(bl.run_child(tool.command(ckpt, outtype, outs[tool.name]), log=log, env=tool.env),
                              tool.name, log)
            if r >= 0:
                results[tool.name].append(run)
                print(f"  {outtype} round {r + 1}: {tool.name}: {run.seconds:.1f} s, {run.max_rss_mb:.0f} MB",
                      flush=True)
    print(f"  {outtype}: {compare_in_child(*outs.values())}", flush=True)
    sizes = [p.stat().st_size / 1e9 for p in outs.values()]
    print(f"  {outtype}: output sizes " + ", ".join(f"{s:.2f} GB" for s in sizes), flush=True)
    for p in outs.values():
        p.unlink(missing_ok=True)
    return results


def table(all_results: dict[str, dict[str, list[bl.ChildRun]]], tools: list[Tool]) -> str:
    ours, theirs = tools[0].name, tools[1].name
    rows = []
    for outtype, res in all_results.items():
        t_o, t_l = bl.median([r.seconds for r in res[ours]]), bl.median([r.seconds for r in res[theirs]])
        m_o, m_l = max(r.max_rss_mb for r in res[ours]), max(r.max_rss_mb for r in res[theirs])
        rows.append([outtype, f"{t_o:.1f} s", f"{t_l:.1f} s", f"**{t_l / t_o:.2f}×**",
                     f"{m_o:.0f} MB", f"{m_l:.0f} MB", f"{m_o / m_l:.2f}"])
    header = ["outtype", "ours: time", "llama.cpp: time", "speed-up", "ours: peak RSS", "llama.cpp: peak RSS",
              "RSS ratio"]
    return bl.markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4-layer model, one round, README untouched")
    p.add_argument("--runs", type=int, default=3, help="timed rounds per outtype (default 3)")
    p.add_argument("--ckpt", type=Path, help="HF checkpoint folder (default: a random 2.4B-shaped one)")
    p.add_argument("--llama-cpp", type=Path, help="llama.cpp source tree with convert_hf_to_gguf.py")
    p.add_argument("--outtypes", nargs="+", default=["bf16", "f16"])
    p.add_argument("--no-readme", action="store_true", help="print only")
    p.add_argument("--compare", nargs=2, type=Path, metavar="GGUF", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.compare:
        print(compare_tensors(*args.compare))
        return 0

    layers = 4 if args.quick else None
    default_ckpt = bl.OUT_DIR / "ckpt" / (f"{SHAPE}-L4" if args.quick else SHAPE)
    ckpt = ensure_checkpoint(args.ckpt or default_ckpt, layers)
    rounds = 1 if args.quick else args.runs
    tools = make_tools(find_llama_cpp(args.llama_cpp))
    size_gb = sum(f.stat().st_size for f in ckpt.glob("*.safetensors")) / 1e9
    print(f"checkpoint {ckpt} ({size_gb:.2f} GB bf16), {rounds} timed round(s) per outtype", flush=True)

    results = {t: bench_outtype(tools, ckpt, t, rounds) for t in args.outtypes}
    tab = table(results, tools)
    print(tab)
    if args.quick or args.no_readme:
        return 0
    body = "\n\n".join([
        bl.machine_line(),
        f"Input: random-weight bf16 checkpoint of the EXAONE-3.5-2.4B shape ({size_gb:.2f} GB in 3 shards, "
        "real config keys and weight names, 102,400-token synthetic tokenizer), made by "
        "`make_random_checkpoint.py`. Each tool is a separate process; time is wall time of the whole "
        f"process (start-up included), peak RSS is its `ru_maxrss`. Median of {rounds} alternating runs "
        "after a warm-up that put the checkpoint in the page cache; `sync` between runs. Our converter "
        "also fsyncs its output before renaming it into place; llama.cpp's does not.",
        tab,
        "llama.cpp's converter is `convert_hf_to_gguf.py` from the llama-cpp-python 0.3.36 sdist, run with "
        "the venv's torch 2.13 / transformers 5.23 through `llamacpp_convert_wrapper.py`, which only "
        "replaces its tokenizer-hash lookup (`get_vocab_base_pre`) with \"exaone\" and falls back to "
        "`PreTrainedTokenizerFast` where transformers 5.23's AutoTokenizer does not know `exaone`.",
    ])
    bl.write_section("bench_convert", body)
    print(f"updated {bl.README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
