"""Shared helpers of the bench scripts: child-process timing, machine facts, README sections."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from exaone_convert import atomic_write_text

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
README = BENCH_DIR / "README.md"

# Sections of bench/README.md in order: (marker name, heading, placeholder body).
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("bench_convert", "Conversion", "Run `python bench/bench_convert.py`."),
    ("bench_convert_k_exaone", "Conversion: K-EXAONE (exaone_moe)",
     "Run `python bench/bench_convert.py --shape k-exaone`."),
    ("bench_convert_exaone45", "Conversion: EXAONE 4.5 (text + vision projector)",
     "Run `python bench/bench_convert.py --shape exaone-4.5-vision`."),
    ("bench_image", "Image encoding (EXAONE 4.5, 1024×1024)", "Run `python bench/bench_image.py`."),
    ("bench_quantize", "Quantization", "See `bench_quantize.py`; the lead fills this section."),
    ("bench_generate", "Generation", "Run `python bench/bench_generate.py`."),
    ("bench_overhead", "Generator overhead (same process)", "Run `python bench/bench_overhead.py`."),
    ("bench_app", "Desktop app", "See `bench_app.py`; the lead fills this section."),
    ("bench_sampling_micro", "Sampling cost (`TokenSampler` alone)", "Run `python bench/bench_sampling.py micro`."),
    ("bench_logit_check", "Damaged-model check (per generated token)", "Run `python bench/bench_logit_check.py`."),
    ("bench_sampling_model", "Decode on the sampling path", "Run `python bench/bench_sampling.py model`."),
    ("bench_server", "Local server (exaone-serve)", "Run `python bench/bench_server.py`."),
    ("bench_speculative", "Speculative decoding (`bench_speculative.py`), EXAONE-4.0-1.2B shape",
     "Run `python bench/bench_speculative.py`."),
    ("bench_worker", "Worker process vs in-process", "Run `python bench/bench_worker.py`."),
    ("fuzz_gguf", "GGUF fuzzing (`exaone-generate` on mutated headers)",
     "Run `python -m tests.support.fuzz_gguf --mutants 10000`."),
    ("bench_chat", "Long chats (`bench_chat.py`), EXAONE-4.0-1.2B shape",
     "Run `python bench/bench_chat.py --rounds 3 --no-switch`."),
    ("bench_chat_24b", "Long chats (`bench_chat.py`), EXAONE-3.5-2.4B shape",
     "Run `python bench/bench_chat.py --model bench/out/exaone-3.5-2.4b-Q4_K_M.gguf --rounds 3 --no-switch "
     "--section bench_chat_24b`."),
    ("bench_documents", "Documents (`bench_documents.py`): reading, indexing, retrieval, follow-up TTFT",
     "Run `python bench/bench_documents.py`."),
    ("bench_chat_switch", "Switching back to a kept conversation (`bench_chat.py --switch-only`), "
     "EXAONE-4.0-1.2B shape", "Run `python bench/bench_chat.py --switch-only --section bench_chat_switch`."),
)


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    max_rss_mb: float  # peak resident set of the child and the descendants it waited for
    returncode: int


def run_child(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None) -> ChildRun:
    """Run ``argv`` to completion; wall time and ``ru_maxrss`` from ``os.wait4`` (this child only)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=dict(env or os.environ))
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(seconds, usage.ru_maxrss / 1024, proc.returncode)


def check_ok(run: ChildRun, what: str, log: Path) -> ChildRun:
    if run.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{what} failed (exit {run.returncode}); log {log}:\n{tail}")
    return run


def random_checkpoint(shape: str, path: Path, options: Sequence[str] = ()) -> Path:
    """A random-weight checkpoint of ``shape`` (make_random_checkpoint.py) at ``path``, made when missing."""
    if not (path / "model.safetensors.index.json").is_file():
        cmd = [sys.executable, str(BENCH_DIR / "make_random_checkpoint.py"), shape, str(path), *options]
        subprocess.run(cmd, check=True)
    return path


def tiny_checkpoint(folder: Path) -> Path:
    """A tiny EXAONE 4.0 checkpoint (2 layers of width 64, 1,024 tokens, noise weights) from the converter's
    factory, ``exaone_convert.synthetic``."""
    from exaone_convert import synthetic as sy

    shape = sy.Shape("exaone4", sy.TEMPLATES["exaone4"])
    return sy.write_checkpoint(folder, shape, sy.release_tokenizer("exaone4", 1024))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


def machine_line() -> str:
    today = dt.date.today().isoformat()
    return (f"Machine: {cpu_model()}, {os.cpu_count()} cores, {ram_gb():.0f} GiB RAM, {platform.system()}; "
            f"{today}. Competitors run in the same process or session, alternating, so both see the same "
            "machine state; medians where there are rounds.")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _skeleton() -> str:
    parts = ["# Benchmarks\n",
             "Figures from the scripts in this folder; each script rewrites only its own section.\n"]
    for name, heading, body in SECTIONS:
        parts.append(f"## {heading}\n\n<!-- {name}:start -->\n{body}\n<!-- {name}:end -->\n")
    return "\n".join(parts)


def write_section(name: str, body: str, readme: Path = README) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (atomically)."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else _skeleton()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n## {name}\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{body.strip()}\n{end}{tail}"
    atomic_write_text(readme, new)


def file_size(path: Path) -> str:
    """A file's size for a report: GB, or MB below 0.1 GB."""
    n = path.stat().st_size
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"
