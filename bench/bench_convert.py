"""Benchmark: HF checkpoint -> bf16 / f16 GGUF, our converter vs llama.cpp's convert_hf_to_gguf.py.

    python bench/bench_convert.py [--shape SHAPE ...] [--quick] [--runs N] [--outtypes T ...] [--ckpt DIR]
        [--llama-cpp DIR] [--no-readme]

Input: a random-weight checkpoint of a real shape (``SHAPES``; made with make_random_checkpoint.py into
bench/out/ckpt/ when missing): EXAONE-3.5-2.4B (the default), ``k-exaone`` (K-EXAONE's widths and expert
shapes at reduced depth and expert count) or ``exaone-4.5-vision`` (EXAONE 4.5's real-size vision encoder
under two text layers of the real width). Each tool runs as its own process; wall time and peak RSS
(``ru_maxrss`` from ``os.wait4``) are per process. For EXAONE 4.5 our converter writes the text GGUF and
the vision projector (mmproj) in one run, llama.cpp's needs two (the text model, then ``--mmproj``): its
time is the sum of both runs and its peak RSS the larger. One untimed warm-up loads the checkpoint into the
page cache, then the tools alternate (the order flips every round) with ``sync`` between runs, and medians
are reported. Each shape's table goes to its own README section. ``--quick`` runs every shape (unless
``--shape`` is given) at smoke-test size (2.4B: 4 layers; the others: toy widths) for one round and
leaves the README alone.

llama.cpp's converter comes from the llama-cpp-python 0.3.36 sdist (``pip download`` into
bench/out/sdist when not found) and runs through ``exaone_convert.llamacpp_reference``, which only skips its
tokenizer-hash check (the random checkpoint's tokenizer is synthetic).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gguf import ReaderTensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

LLAMA_CPP_VERSION = "0.3.36"
SDIST_DIR = bl.OUT_DIR / "sdist"
LLAMA_CPP_CANDIDATES = (
    SDIST_DIR / f"llama_cpp_python-{LLAMA_CPP_VERSION}" / "vendor" / "llama.cpp",
    Path(f"/tmp/sd/llama_cpp_python-{LLAMA_CPP_VERSION}/vendor/llama.cpp"),
)
COMPARE_CHUNK = 1 << 22  # elements per step when two differing tensors are compared by value


@dataclass(frozen=True)
class Shape:
    """One benchmarked checkpoint: a make_random_checkpoint.py row and where its table goes."""

    name: str  # the make_random_checkpoint.py shape
    section: str  # README section (benchlib.SECTIONS)
    quick: tuple[str, ...]  # make_random_checkpoint.py options for --quick
    vision: bool = False  # the checkpoint has a vision encoder: an mmproj is written too


SHAPES = {s.name: s for s in (
    Shape("exaone-3.5-2.4b", "bench_convert", ("--layers", "4")),
    Shape("k-exaone", "bench_convert_k_exaone", ("--tiny",)),
    Shape("exaone-4.5-vision", "bench_convert_exaone45", ("--tiny",), vision=True),
)}
DEFAULT_SHAPE = "exaone-3.5-2.4b"


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


# ---------------------------------------------------------------------------------------------
# The two converters


@dataclass
class Tool:
    name: str
    key: str  # short name for folders and logs
    # (checkpoint, outtype, output folder, with mmproj) -> the runs it takes: [(part, argv)]
    runs: Callable[[Path, str, Path, bool], list[tuple[str, list[str]]]]
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def text_outfile(outdir: Path, outtype: str) -> Path:
    return outdir / f"model-{outtype.upper()}.gguf"


def make_tools(llama_dir: Path) -> list[Tool]:
    def ours(ckpt: Path, outtype: str, outdir: Path, vision: bool) -> list[tuple[str, list[str]]]:
        argv = [sys.executable, "-m", "exaone_convert.cli", str(ckpt), "--outtype", outtype, "--outfile",
                str(text_outfile(outdir, outtype)), "--force", "--quiet"]
        return [("text + mmproj" if vision else "text", argv)]  # one run writes both files

    def llama(ckpt: Path, outtype: str, outdir: Path, vision: bool) -> list[tuple[str, list[str]]]:
        base = [sys.executable, "-m", "exaone_convert.llamacpp_reference", str(llama_dir), str(ckpt),
                "--outtype", outtype]
        runs = [("text", [*base, "--outfile", str(text_outfile(outdir, outtype))])]
        if vision:
            runs.append(("mmproj", [*base, "--mmproj", "--outfile", str(outdir / f"mmproj-{outtype.upper()}.gguf")]))
        return runs

    llama_env = dict(os.environ)
    llama_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(llama_dir / "gguf-py"), os.environ.get("PYTHONPATH")]))
    return [Tool("exaone-convert (ours)", "ours", ours),
            Tool("llama.cpp convert_hf_to_gguf.py", "llama", llama, llama_env)]


@dataclass(frozen=True)
class ToolRun:
    """One conversion by one tool: its runs (one process each), in order."""

    parts: dict[str, bl.ChildRun]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.parts.values())

    @property
    def max_rss_mb(self) -> float:
        return max(r.max_rss_mb for r in self.parts.values())


def convert_once(tool: Tool, ckpt: Path, outtype: str, outdir: Path, vision: bool) -> ToolRun:
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    os.sync()
    parts: dict[str, bl.ChildRun] = {}
    for part, argv in tool.runs(ckpt, outtype, outdir, vision):
        log = bl.OUT_DIR / f"convert-{outtype}-{tool.key}-{part.split()[0]}.log"
        parts[part] = bl.check_ok(bl.run_child(argv, log=log, env=tool.env), f"{tool.name} ({part})", log)
    return ToolRun(parts)


# ---------------------------------------------------------------------------------------------
# Comparing the outputs


def _values(t: ReaderTensor, start: int, stop: int) -> np.ndarray:
    """Elements [start, stop) of a GGUFReader tensor as float64 (F32, F16 and BF16)."""
    flat = t.data.reshape(-1)
    if t.tensor_type.name == "BF16":
        bits = flat.view(np.uint16)[start:stop].astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    return flat[start:stop].astype(np.float64)


def _max_gap(t: ReaderTensor, u: ReaderTensor) -> float:
    """max |t - u| elementwise, a chunk at a time (a stacked expert tensor is gigabytes)."""
    n = int(t.n_elements)
    gap = 0.0
    for start in range(0, n, COMPARE_CHUNK):
        stop = min(n, start + COMPARE_CHUNK)
        gap = max(gap, float(np.max(np.abs(_values(t, start, stop) - _values(u, start, stop)))))
    return gap


def _same_bytes(t: ReaderTensor, u: ReaderTensor) -> bool:
    a, b = t.data.reshape(-1).view(np.uint8), u.data.reshape(-1).view(np.uint8)
    step = COMPARE_CHUNK * 16
    return a.size == b.size and all(np.array_equal(a[i:i + step], b[i:i + step]) for i in range(0, a.size, step))


def compare_tensors(a: Path, b: Path) -> str:
    """Which tensors of two GGUFs have identical type and bytes; the others with their types and max abs
    difference of values."""
    from gguf import GGUFReader

    ra, rb = GGUFReader(a), GGUFReader(b)
    other = {t.name: t for t in rb.tensors}
    same, diffs = 0, []
    for t in ra.tensors:
        u = other.pop(t.name, None)
        if u is None:
            diffs.append(f"{t.name} (missing from the second)")
        elif u.tensor_type == t.tensor_type and _same_bytes(t, u):
            same += 1
        elif {t.tensor_type.name, u.tensor_type.name} <= {"F32", "F16", "BF16"} and t.n_elements == u.n_elements:
            types = "" if u.tensor_type == t.tensor_type else f"type {t.tensor_type.name} vs {u.tensor_type.name}, "
            diffs.append(f"{t.name} ({types}max |diff| {_max_gap(t, u):.3g})")
        else:
            diffs.append(f"{t.name} (type {t.tensor_type.name} vs {u.tensor_type.name})")
    diffs += [f"{name} (missing from the first)" for name in other]
    return f"{same}/{len(ra.tensors)} tensors byte-identical" + (f"; differ: {', '.join(diffs)}" if diffs else "")


def compare_in_child(a: Path, b: Path) -> str:
    """Run the comparison in a child: its memory maps would otherwise raise the peak RSS that later
    children inherit at exec (Linux carries the parent's high-water mark over a fork)."""
    out = subprocess.run([sys.executable, __file__, "--compare", str(a), str(b)], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def outputs(outdir: Path) -> dict[str, Path]:
    """The files a conversion wrote, by role (text, mmproj)."""
    files = sorted(outdir.glob("*.gguf"), key=lambda p: (p.name.startswith("mmproj"), p.name))
    return {("mmproj" if p.name.startswith("mmproj") else "text"): p for p in files}

# ---------------------------------------------------------------------------------------------
# The benchmark


def bench_outtype(tools: list[Tool], ckpt: Path, shape: Shape, outtype: str, rounds: int) -> dict[str, list[ToolRun]]:
    results: dict[str, list[ToolRun]] = {t.name: [] for t in tools}
    outdirs = {t.name: bl.OUT_DIR / "convert" / t.key for t in tools}
    for r in range(-1, rounds):  # round -1: untimed warm-up of the page cache
        order = tools if r % 2 == 0 else tools[::-1]
        for tool in order if r >= 0 else tools[:1]:
            run = convert_once(tool, ckpt, outtype, outdirs[tool.name], shape.vision)
            if r >= 0:
                results[tool.name].append(run)
                parts = " + ".join(f"{p} {c.seconds:.1f} s" for p, c in run.parts.items()) if len(run.parts) > 1 \
                    else ""
                print(f"  {outtype} round {r + 1}: {tool.name}: {run.seconds:.1f} s{f' ({parts})' if parts else ''}, "
                      f"{run.max_rss_mb:.0f} MB", flush=True)
    files = [outputs(d) for d in outdirs.values()]
    for role in files[0]:
        if role not in files[1]:
            raise SystemExit(f"{tools[1].name} wrote no {role} file in {outdirs[tools[1].name]}")
        sizes = ", ".join(bl.file_size(f[role]) for f in files)
        print(f"  {outtype} {role}: {compare_in_child(files[0][role], files[1][role])}; sizes {sizes}", flush=True)
    for d in outdirs.values():
        shutil.rmtree(d, ignore_errors=True)
    return results


def _time_cell(runs: list[ToolRun]) -> str:
    cell = f"{bl.median([r.seconds for r in runs]):.1f} s"
    if len(runs[0].parts) > 1:
        cell += " (" + " + ".join(f"{p} {bl.median([r.parts[p].seconds for r in runs]):.1f}"
                                  for p in runs[0].parts) + ")"
    return cell


def table(all_results: dict[str, dict[str, list[ToolRun]]], tools: list[Tool]) -> str:
    ours, theirs = tools[0].name, tools[1].name
    rows = []
    for outtype, res in all_results.items():
        t_o, t_l = bl.median([r.seconds for r in res[ours]]), bl.median([r.seconds for r in res[theirs]])
        m_o, m_l = max(r.max_rss_mb for r in res[ours]), max(r.max_rss_mb for r in res[theirs])
        goal = "met" if m_o <= m_l / 2 and t_o <= t_l else "not met"
        rows.append([outtype, _time_cell(res[ours]), _time_cell(res[theirs]), f"**{t_l / t_o:.2f}×**",
                     f"{m_o:.0f} MB", f"{m_l:.0f} MB", f"{m_o / m_l:.2f}", goal])
    header = ["outtype", "ours: time", "llama.cpp: time", "speed-up", "ours: peak RSS", "llama.cpp: peak RSS",
              "RSS ratio", "goal: ≤ ½ the memory, not slower"]
    return bl.markdown_table(header, rows)


# ---------------------------------------------------------------------------------------------
# README text


METHOD = ("Each tool is a separate process; time is wall time of the whole process (start-up included), peak RSS "
          "is its `ru_maxrss`. Median of {rounds} alternating runs after a warm-up that put the checkpoint in the "
          "page cache; `sync` between runs. Our converter also fsyncs its output before renaming it into place; "
          "llama.cpp's does not.")
LLAMA_NOTE = ("llama.cpp's converter is `convert_hf_to_gguf.py` from the llama-cpp-python 0.3.36 sdist, run with "
              "the venv's torch 2.13 / transformers {transformers} through `exaone_convert.llamacpp_reference`, "
              "which only replaces its tokenizer-hash lookup (`get_vocab_base_pre`) with the pre-tokenizer name the "
              "real tokenizer gets (\"exaone\", \"exaone4\", \"exaone-moe\"), falls back to "
              "`PreTrainedTokenizerFast` where AutoTokenizer does not know a tokenizer class, and lets it read an "
              "EXAONE 3 config.json as it is (as with the transformers 4.57 it pins: transformers 5.24's "
              "`ExaoneConfig` drops `activation_function`, which llama.cpp's EXAONE 3 converter requires).")


def checkpoint_facts(ckpt: Path) -> tuple[float, int, dict[str, object]]:
    """(GB of weights, shards, config.json)."""
    shards = sorted(ckpt.glob("*.safetensors"))
    config = json.loads((ckpt / "config.json").read_text())
    return sum(f.stat().st_size for f in shards) / 1e9, len(shards), config


def describe_input(shape: Shape, ckpt: Path) -> str:
    size, shards, cfg = checkpoint_facts(ckpt)
    head = f"Input: random-weight bf16 checkpoint ({size:.2f} GB in {shards} shards, real config keys and weight names"
    if shape.name == "k-exaone":
        return (f"{head}, 153,600-token synthetic tokenizer with K-EXAONE's pre-tokenizer), made by "
                f"`make_random_checkpoint.py k-exaone`: K-EXAONE-236B-A23B's widths (hidden 6144, 64 query / 8 KV "
                f"heads of 128, vocabulary 153,600, untied output) at {cfg['num_hidden_layers']} of its 48 layers "
                f"(the first dense with ffn 18,432, then mixture-of-experts) plus its MTP layer. Each MoE layer has "
                f"{cfg['num_experts']} of the release's 128 routed experts at the real expert shape (2048 × 6144; "
                "8 used per token) and the shared expert: one MoE layer with all 128 experts is 9.7 GB of bf16 by "
                "itself, which with the 3.8 GB of embedding and output passes the ~12 GB a checkpoint may take on "
                "this 24 GiB machine. llama.cpp's converter gathers all of a layer's experts and stacks them "
                "(`torch.stack`) before writing; ours copies them into the stacked tensor one expert at a time.")
    if shape.name == "exaone-4.5-vision":
        text = cfg["text_config"]
        vision = cfg["vision_config"]
        assert isinstance(text, dict) and isinstance(vision, dict)
        return (f"{head}, 153,600-token synthetic tokenizer, Qwen2-VL image processor settings), made by "
                "`make_random_checkpoint.py exaone-4.5-vision`: EXAONE-4.5-33B's vision encoder at its real size "
                f"(depth {vision['depth']}, width {vision['hidden_size']}, ffn {vision['intermediate_size']}, "
                f"{vision['num_heads']} / {vision['num_key_value_heads']} heads, patch merger to 5120: 1.29 B "
                f"parameters) under {text['num_hidden_layers']} of the 64 text layers at the real width (5120, "
                "ffn 27,392, 40 / 8 heads of 128, untied output) plus the MTP layer; no sliding windows (llama.cpp "
                "0.3.36 runs EXAONE 4's 3:1 pattern only at 64 layers). Our converter writes the text GGUF and the "
                "mmproj in one run; llama.cpp's converter needs two runs (`convert_hf_to_gguf.py` for the text "
                "model, then again with `--mmproj`): its time is the sum of both (each part in brackets) and its "
                "peak RSS the larger of the two.")
    return (f"{head}, 102,400-token synthetic tokenizer), made by `make_random_checkpoint.py {shape.name}`.")


def readme_body(shape: Shape, ckpt: Path, rounds: int, tab: str) -> str:
    import transformers

    return "\n\n".join([
        bl.machine_line(),
        f"`python bench/bench_convert.py --shape {shape.name}`. " + describe_input(shape, ckpt),
        METHOD.format(rounds=rounds),
        tab,
        LLAMA_NOTE.format(transformers=transformers.__version__),
    ])


def ensure_checkpoint(shape: Shape, explicit: Path | None, quick: bool) -> Path:
    if explicit is not None:
        return explicit
    path = bl.OUT_DIR / "ckpt" / (f"{shape.name}-quick" if quick else shape.name)
    return bl.random_checkpoint(shape.name, path, list(shape.quick) if quick else [])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", action="append", choices=sorted(SHAPES),
                   help=f"checkpoint shape (repeatable; default {DEFAULT_SHAPE}, or every shape with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke-test sizes, one round, README untouched")
    p.add_argument("--runs", type=int, default=3, help="timed rounds per outtype (default 3)")
    p.add_argument("--ckpt", type=Path, help="HF checkpoint folder (one --shape only; default: a random one)")
    p.add_argument("--llama-cpp", type=Path, help="llama.cpp source tree with convert_hf_to_gguf.py")
    p.add_argument("--outtypes", nargs="+", default=["bf16", "f16"])
    p.add_argument("--no-readme", action="store_true", help="print only")
    p.add_argument("--compare", nargs=2, type=Path, metavar="GGUF", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.compare:
        print(compare_tensors(*args.compare))
        return 0
    names = args.shape or (sorted(SHAPES) if args.quick else [DEFAULT_SHAPE])
    if args.ckpt is not None and len(names) != 1:
        p.error("--ckpt goes with exactly one --shape")
    rounds = 1 if args.quick else args.runs
    tools = make_tools(find_llama_cpp(args.llama_cpp))
    for shape in (SHAPES[n] for n in names):
        ckpt = ensure_checkpoint(shape, args.ckpt, args.quick)
        size_gb = checkpoint_facts(ckpt)[0]
        print(f"{shape.name}: checkpoint {ckpt} ({size_gb:.2f} GB bf16), {rounds} timed round(s) per outtype",
              flush=True)
        results = {t: bench_outtype(tools, ckpt, shape, t, rounds) for t in args.outtypes}
        tab = table(results, tools)
        print(tab)
        if not (args.quick or args.no_readme):
            bl.write_section(shape.section, readme_body(shape, ckpt, rounds, tab))
            print(f"updated {bl.README} ({shape.section})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
