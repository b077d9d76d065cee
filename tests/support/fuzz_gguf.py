"""Fuzz the model-loading path with mutated GGUF headers, as a user would meet them: ``exaone-generate``.

    python -m tests.support.fuzz_gguf --mutants 10000              # the campaign (writes bench/README.md's section)
    python -m tests.support.fuzz_gguf --mutants 200 --no-readme    # a quick sample

A robustness harness, so it lives with the tests (tests/convert/test_fuzz.py runs a CI-sized sample of it);
the full campaign's table goes into bench/README.md's ``fuzz_gguf`` section, rewritten here by plain text
editing between its markers.

Each mutant is a good tiny EXAONE GGUF with its header region (metadata and tensor table, up to the
tensor data) changed by one of ``MUTATORS``: bit flips, boundary integers written over the header's
4- and 8-byte integer fields, truncations, and spans spliced from one place to another. Mutant ``i`` of
seed ``s`` is always the same file (``--replay I`` writes it out), so every finding can be reproduced.

Each mutant runs through ``exaone_desktop.cli.generate.main(["--model", M, "--prompt", "hi", ...])`` in one of a
pool of persistent harness processes (the user's process: llama.cpp itself runs in the worker process
the CLI starts). The supervisor counts, per mutant:

- generated: exit code 0;
- clean error: exit code 1 or 2 and exactly one ``exaone-generate: error:`` line on stderr;
- traceback: a traceback, or an "unexpected" error (an exception type nobody turned into a message);
- other output: anything else on stderr, or another exit code;
- crash: a signal reached the harness process (the user's process) -- it dies and is restarted;
- hang: no answer within ``--timeout`` seconds -- the harness is killed and restarted.

Every process the harness starts is limited to ``--memory-gb`` of address space, so no mutant can take
the machine's memory.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import io
import json
import os
import platform
import random
import select
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_README = ROOT / "bench" / "README.md"
SECTION = "fuzz_gguf"  # bench/README.md's section: <!-- fuzz_gguf:start --> ... <!-- fuzz_gguf:end -->
OUTCOMES = ("generated", "clean error", "traceback", "other output", "crash", "hang")
BAD = ("traceback", "other output", "crash", "hang")
U32_BOUNDARIES = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                  0xFFFFFFFE, 0xFFFFFFFF)
U64_BOUNDARIES = (*U32_BOUNDARIES, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFE,
                  0xFFFFFFFFFFFFFFFF)
CLI_ARGS = ("--prompt", "hi", "--max-new-tokens", "4", "--threads", "1", "--n-ctx", "256")


# -- the base file and its mutants ------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    data: bytes
    header_end: int  # start of the tensor data: everything before it is "header region"
    int_fields: tuple[tuple[int, int], ...]  # (offset, size) of the header's 4- and 8-byte integers


def load_base(path: Path) -> Base:
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(path))
    start = reader.data.ctypes.data
    ints: set[tuple[int, int]] = set()
    fields = [*reader.fields.values(), *(t.field for t in reader.tensors)]
    for f in fields:
        for part in f.parts:
            if part.dtype in (np.uint32, np.int32, np.uint64, np.int64) and part.size <= 4:
                for k in range(part.size):
                    ints.add((part.ctypes.data - start + k * part.itemsize, part.itemsize))
    return Base(path.read_bytes(), int(reader.data_offset), tuple(sorted(ints)))


def _bitflip(base: Base, rng: random.Random) -> bytes:
    data = bytearray(base.data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        at = rng.randrange(base.header_end)
        data[at] ^= 1 << rng.randrange(8)
    return bytes(data)


def _boundary(base: Base, rng: random.Random) -> bytes:
    data = bytearray(base.data)
    for _ in range(rng.choice((1, 1, 2))):
        at, size = rng.choice(base.int_fields)
        values = U32_BOUNDARIES if size == 4 else U64_BOUNDARIES
        value = rng.choice(values)
        if rng.random() < 0.2:  # near the field's own value
            (old,) = struct.unpack_from("<I" if size == 4 else "<Q", data, at)
            value = (old + rng.choice((-1, 1, 2, -2, 1 << 16))) % (1 << (8 * size))
        struct.pack_into("<I" if size == 4 else "<Q", data, at, value)
    return bytes(data)


def _truncate(base: Base, rng: random.Random) -> bytes:
    end = rng.randrange(base.header_end) if rng.random() < 0.8 else rng.randrange(base.header_end, len(base.data))
    return base.data[:end]


def _splice(base: Base, rng: random.Random) -> bytes:
    data = bytearray(base.data)
    n = rng.choice((1, 2, 4, 8, 16, 64, 256))
    src = rng.randrange(max(1, base.header_end - n))
    dst = rng.randrange(max(1, base.header_end - n))
    span = bytes(data[src: src + n])
    mode = rng.choice(("overwrite", "insert", "delete"))
    if mode == "overwrite":
        data[dst: dst + n] = span
    elif mode == "insert":
        data[dst:dst] = span
    else:
        del data[dst: dst + n]
    return bytes(data)


MUTATORS = (("bitflip", _bitflip), ("boundary", _boundary), ("truncate", _truncate), ("splice", _splice))


def mutant(base: Base, seed: int, index: int) -> tuple[str, bytes]:
    """(mutator name, file bytes) of mutant ``index`` of ``seed``: the same every time."""
    rng = random.Random(f"{seed}:{index}")
    name, mutate = MUTATORS[index % len(MUTATORS)]
    return name, mutate(base, rng)


# -- one mutant through the user's path (inside a harness process) ----------------------------------


def classify(code: int, err: str) -> str:
    lines = err.splitlines()
    if "Traceback" in err or "unexpected " in err:
        return "traceback"
    if code == 0:
        return "generated" if not err.strip() else "other output"
    if code in (1, 2) and len(lines) == 1 and lines[0].startswith("exaone-generate: error: "):
        return "clean error"
    return "other output"


def run_cli(path: Path) -> tuple[int, str]:
    from exaone_desktop.cli import generate as cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--model", str(path), *CLI_ARGS])
    return code, err.getvalue()


def _load_in_process(args: argparse.Namespace) -> Any:
    """``cli.load_local`` without the worker process (``--in-process``: shows what the worker prevents)."""
    from exaone_desktop.cli.generate import load_settings
    from exaone_desktop.engine.llama.local import LocalGenerator

    return LocalGenerator(args.model, **load_settings(args).changed())


def serve(model: Path, seed: int, in_process: bool = False) -> None:
    """Harness process: read mutant indices on stdin, write one JSON line per mutant on stdout."""
    if in_process:
        from exaone_desktop.cli import generate as cli

        cli.load_local = _load_in_process
    base = load_base(model)
    work = Path(tempfile.mkdtemp(prefix="fuzz-gguf-"))
    path = work / "mutant.gguf"
    replies = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write on the reply channel
    for line in sys.stdin:
        index = int(line)
        kind, data = mutant(base, seed, index)
        path.write_bytes(data)
        code, err = run_cli(path)
        replies.write(json.dumps({"i": index, "kind": kind, "outcome": classify(code, err), "code": code,
                                  "stderr": err.strip()[-600:]}) + "\n")
        replies.flush()


# -- the supervisor: a pool of harness processes ------------------------------------------------------


def _limit_memory(gb: float) -> Any:
    def apply() -> None:
        import resource

        limit = int(gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply if os.name == "posix" else None


@dataclass
class Harness:
    proc: subprocess.Popen[str]
    index: int | None = None
    started: float = 0.0


@dataclass
class Report:
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    by_kind: dict[str, collections.Counter[str]] = field(default_factory=lambda: collections.defaultdict(
        collections.Counter))
    findings: list[dict[str, Any]] = field(default_factory=list)
    messages: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0

    def add(self, result: dict[str, Any]) -> None:
        outcome = result["outcome"]
        self.counts[outcome] += 1
        self.by_kind[result["kind"]][outcome] += 1
        if outcome in BAD:
            self.findings.append(result)
        elif outcome == "clean error":
            self.messages[_message_shape(result["stderr"])] += 1


def _message_shape(line: str) -> str:
    """An error line without its numbers and file names, to count kinds of messages."""
    import re

    line = line.removeprefix("exaone-generate: error: ")
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)
    return re.sub(r"\d+", "N", line)[:110]


def _start(model: Path, seed: int, memory_gb: float, in_process: bool) -> Harness:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *(p for p in sys.path if p)])}
    flags = ["--in-process"] if in_process else []
    proc = subprocess.Popen([sys.executable, "-m", __spec__.name if __spec__ else "tests.support.fuzz_gguf",
                             "--serve", "--model", str(model), "--seed", str(seed), *flags],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            bufsize=1, env=env, preexec_fn=_limit_memory(memory_gb))
    return Harness(proc)


def campaign(model: Path, *, mutants: int, seed: int = 0, processes: int = 2, timeout: float = 60.0,
             memory_gb: float = 4.0, in_process: bool = False, progress: bool = False) -> Report:
    """Run mutants ``0 .. mutants-1`` of ``seed`` through a pool of harness processes.

    ``in_process`` loads llama.cpp in the harness process itself instead of the CLI's worker.
    """
    from exaone_desktop.engine.llama.crash import exit_description

    base = load_base(model)
    todo = collections.deque(range(mutants))
    report = Report()
    pool = [_start(model, seed, memory_gb, in_process) for _ in range(processes)]
    t0 = time.monotonic()
    shown = 0

    def feed(h: Harness) -> None:
        if todo and h.index is None:
            h.index, h.started = todo.popleft(), time.monotonic()
            assert h.proc.stdin is not None
            h.proc.stdin.write(f"{h.index}\n")
            h.proc.stdin.flush()

    def replace(h: Harness, outcome: str, detail: str) -> None:
        assert h.index is not None
        kind, _ = mutant(base, seed, h.index)
        report.add({"i": h.index, "kind": kind, "outcome": outcome, "code": h.proc.returncode, "stderr": detail})
        pool[pool.index(h)] = _start(model, seed, memory_gb, in_process)

    try:
        for h in pool:
            feed(h)
        while any(h.index is not None for h in pool):
            streams = {h.proc.stdout: h for h in pool if h.index is not None and h.proc.stdout is not None}
            ready, _, _ = select.select(list(streams), [], [], 0.5)
            for stream in ready:
                h = streams[stream]
                if time.monotonic() - h.started > timeout:
                    continue  # answered too late: counted as a hang below
                line = stream.readline()
                if not line:  # the harness died: a signal reached the user's process
                    h.proc.wait()
                    replace(h, "crash", exit_description(h.proc.returncode))
                    continue
                report.add(json.loads(line))
                h.index = None
                feed(h)
            for h in list(pool):
                if h.index is not None and time.monotonic() - h.started > timeout:
                    h.proc.kill()
                    h.proc.wait()
                    replace(h, "hang", f"no answer in {timeout:g} s")
            for h in pool:
                feed(h)
            done = sum(report.counts.values())
            if progress and done != shown:
                shown = done
                print(f"\r{done}/{mutants} {dict(report.counts)}", end="", file=sys.stderr, flush=True)
    finally:
        for h in pool:
            with contextlib.suppress(OSError):
                if h.proc.stdin is not None:
                    h.proc.stdin.close()
            try:
                h.proc.wait(30)
            except subprocess.TimeoutExpired:
                h.proc.kill()
    report.seconds = time.monotonic() - t0
    if progress:
        print(file=sys.stderr)
    return report


# -- command line -----------------------------------------------------------------------------------


def tiny_model(folder: Path) -> Path:
    """A tiny EXAONE 4 checkpoint (2 layers of width 64, 1,024 tokens, noise weights) from the converter's
    factory, ``exaone_convert.synthetic``, converted to f32."""
    from exaone_convert import synthetic as sy
    from exaone_convert.convert import convert_checkpoint

    shape = sy.Shape("exaone4", sy.TEMPLATES["exaone4"])
    ckpt = sy.write_checkpoint(folder / "ckpt", shape, sy.release_tokenizer("exaone4", 1024))
    return Path(convert_checkpoint(ckpt, folder / "tiny-exaone4-f32.gguf", "f32"))


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(cells) + " |" for cells in (header, ["---"] * len(header), *rows))


def summary(report: Report, model: str, mutants: int, seed: int, processes: int) -> str:
    rate = mutants / report.seconds if report.seconds else 0.0
    rows = [[kind, *(str(report.by_kind[kind][o]) for o in OUTCOMES)] for kind, _ in MUTATORS]
    rows.append(["**all**", *(f"**{report.counts[o]}**" for o in OUTCOMES)])
    top = "\n".join(f"- {n} × {shape}" for shape, n in report.messages.most_common(8))
    machine = (f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"{platform.system()}; {dt.date.today().isoformat()}.")
    return (f"`python -m tests.support.fuzz_gguf --mutants {mutants} --seed {seed} --processes {processes}`: "
            f"{mutants} mutants of `{model}` through `exaone-generate --model M --prompt hi` "
            f"in {report.seconds / 60:.1f} min ({rate:.2f} mutants/s with {processes} harness processes).\n\n"
            + _table(["mutator", *OUTCOMES], rows)
            + f"\n\nMost common clean errors:\n\n{top}\n\n{machine}\n")


def write_readme_section(text: str, readme: Path = BENCH_README) -> None:
    """Replace what stands between bench/README.md's ``fuzz_gguf`` markers with ``text`` (atomically)."""
    from exaone_convert import atomic_write_text

    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    old = readme.read_text(encoding="utf-8")
    if start not in old or end not in old:
        raise SystemExit(f"{readme} has no {start} ... {end} section: restore it, or pass --no-readme")
    head, rest = old.split(start, 1)
    atomic_write_text(readme, f"{head}{start}\n{text.strip()}\n{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, help="the good GGUF to mutate (default: the tests' tiny EXAONE 4 model)")
    p.add_argument("--mutants", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--processes", type=int, default=2, help="harness processes run in parallel")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a mutant counts as a hang")
    p.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit of each harness process")
    p.add_argument("--replay", type=int, metavar="I", help="write mutant I to --out and exit")
    p.add_argument("--out", type=Path, default=Path("mutant.gguf"))
    p.add_argument("--findings", type=Path, default=ROOT / "bench" / "out" / "fuzz_findings.json")
    p.add_argument("--no-readme", action="store_true", help="do not write bench/README.md's section")
    p.add_argument("--in-process", action="store_true",
                   help="run llama.cpp in the harness process, not in the CLI's worker (to see what the worker stops)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or tiny_model(Path(tmp))
        if args.serve:
            serve(model, args.seed, args.in_process)
            return 0
        if args.replay is not None:
            kind, data = mutant(load_base(model), args.seed, args.replay)
            args.out.write_bytes(data)
            print(f"mutant {args.replay} ({kind}) of seed {args.seed} written to {args.out}")
            return 0
        report = campaign(model, mutants=args.mutants, seed=args.seed, processes=args.processes,
                          timeout=args.timeout, memory_gb=args.memory_gb, in_process=args.in_process,
                          progress=True)
    text = summary(report, model.name, args.mutants, args.seed, args.processes)
    print(text)
    args.findings.parent.mkdir(parents=True, exist_ok=True)
    args.findings.write_text(json.dumps(report.findings, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.no_readme:
        write_readme_section(text)
    return 1 if any(report.counts[o] for o in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
