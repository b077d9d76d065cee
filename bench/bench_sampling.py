"""What sampling costs: ``TokenSampler.sample`` alone, and decode tokens/s on the sampling path.

    python bench/bench_sampling.py micro [--rounds 7] [--tokens 32] [--old-rev REV] [--before-rev REV] [--no-readme]
    python bench/bench_sampling.py against [--rev REV] [--blocks 30] [--tokens 32] [--only TEXT ...] [--no-readme]
    python bench/bench_sampling.py model [--model PATH.gguf ...] [--pairs 4] [--new-tokens 64] [--threads 2]
                                          [--no-readme]

``micro`` times ``sample()`` + ``accept()`` per token on random logits at 102,400 (EXAONE 3.5/4.0) and
153,600 (K-EXAONE) vocabulary entries, after a 600-token prompt, for the sampler of this checkout ("new"),
the one at ``--old-rev`` ("old": llama.cpp's sampler chain with our top-k) and the one at ``--before-rev``
("before": our numpy chain before the full-vocabulary draw by rejection), loaded from git, interleaved round
by round; medians. Then ``sample_run`` (speculative verification) over k = 1, 2, 4, 8 positions whose drafts
are all drawn, against k ``sample()`` + ``accept()`` calls on the same rows. Logits are N(0, sigma^2):
sigma 1 is what a random-weight model gives (a flat distribution, the nucleus holds most of the vocabulary),
sigma 4 a peaked one.

``against`` compares this checkout with the whole ``sampling/`` package at ``--rev`` (loaded beside it, as
``micro``'s old and before are) in one process, block by block, by per-token thread CPU time (another job on
the same cores slows a token but does not add its own time): medians and means per setting, vocabulary and
sigma, then ``sample_run`` against k single calls in the same way.

``model`` measures, in one process and interleaved request by request, our ``LocalGenerator`` with each
setting, our greedy decode, and raw llama-cpp-python (``Llama.generate``) with the closest settings it has,
on the same GGUF(s): by default the 1.2B-shape Q4_K_M files in bench/out with 102,400 and 153,600 vocabulary
entries (``make_random_checkpoint.py exaone-4.0-1.2b DIR --vocab 153600`` then
``exaone-convert DIR --outtype q4_k_m``). Decode = seconds per token after the first: the generator's own
``generated_tokens_per_s`` for ours, first to last token ``Llama.generate`` yields for raw.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR, ROOT, machine_line, markdown_table, write_section  # noqa: E402

OLD_REV = "397d20c"  # the last commit whose TokenSampler ran llama.cpp's sampler chain
BEFORE_REV = "230a118"  # the numpy chain before the full-vocabulary draw by rejection and sample_run
RUN_LENGTHS = (1, 2, 4, 8)
RUN_SETTINGS = ("greedy, repetition_penalty 1.1", "temperature 0.8, top_k 50, top_p 0.9, repetition_penalty 1.1",
                "top_k 0, top_p 0.9", "top_k 0, top_p 0.95, presence_penalty 1.5")
VOCABS = (102_400, 153_600)
SIGMAS = (1.0, 4.0)
PROMPT_IDS = 600
PROMPT = "The history of the Korean alphabet begins in 1443, when King Sejong " * 2

# (label, GenerationSettings fields); the first is the greedy baseline the others are compared with.
SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("greedy", {}),
    ("greedy, repetition_penalty 1.1", {"repetition_penalty": 1.1}),
    ("temperature 0.8, top_k 50, top_p 0.9, repetition_penalty 1.1",
     {"do_sample": True, "temperature": 0.8, "top_k": 50, "top_p": 0.9, "repetition_penalty": 1.1}),
    ("top_k 0, top_p 0.9", {"do_sample": True, "top_k": 0, "top_p": 0.9}),
    ("top_k 0, repetition_penalty 1.1 only", {"do_sample": True, "top_k": 0, "repetition_penalty": 1.1}),
    ("top_k 0, min_p 0.05", {"do_sample": True, "top_k": 0, "min_p": 0.05}),
    ("top_k 0, top_p 0.95, presence_penalty 1.5", {"do_sample": True, "top_k": 0, "top_p": 0.95,
                                                   "presence_penalty": 1.5}),
)


def old_sampling_module(rev: str) -> ModuleType:
    """The sampler module as it was at ``rev``, imported beside the current one: since the split into the
    ``sampling/`` package, that revision's whole package (its sampler imports its own envelope, kernels, ...)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "desktop/engine/sampling/"],
                            capture_output=True, text=True)
    names = [Path(line).name for line in listed.stdout.split() if line.endswith(".py")]
    if listed.returncode == 0 and "sampler.py" in names:
        return _old_package(rev, names)
    done = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:desktop/engine/sampling.py"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_sampling: no sampler at revision {rev}")
    # a flat revision's ``from .grammar import`` finds today's grammar
    sys.modules.setdefault("exaone_desktop.engine.grammar", importlib.import_module(
        "exaone_desktop.engine.sampling.grammar"))
    path = OUT_DIR / f"sampling_{rev}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(done.stdout, encoding="utf-8")
    name = f"exaone_desktop.engine._sampling_{rev}"  # inside the package, so its relative imports work
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _old_package(rev: str, names: list[str]) -> ModuleType:
    """``desktop/engine/sampling/`` at ``rev`` as the package ``exaone_desktop.engine._sampling_REV``."""
    tag = "".join(c if c.isalnum() else "_" for c in rev)
    folder = OUT_DIR / f"sampling_{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:desktop/engine/sampling/{name}"],
                                capture_output=True, text=True, check=True).stdout
        (folder / name).write_text(source, encoding="utf-8")
    package = f"exaone_desktop.engine._sampling_{tag}"
    spec = importlib.util.spec_from_file_location(package, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{package}.sampler")


def per_token_us(factory: Callable[..., Any], settings: Any, logits: np.ndarray, prompt: list[int],
                 tokens: int) -> float:
    """Median time of one sample() + accept(): a median of single tokens shrugs off a busy machine's
    preemptions, which would dominate the mean of such short calls."""
    times = []
    with factory(settings, logits.shape[1], history_size=4096) as sampler:
        sampler.start(prompt)
        sampler.accept(sampler.sample(logits[0]))  # warm-up
        for i in range(tokens):
            t = time.perf_counter()
            sampler.accept(sampler.sample(logits[i % len(logits)]))
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def micro(args: argparse.Namespace) -> str:
    from exaone_desktop.engine.sampling.sampler import TokenSampler
    from exaone_desktop.engine.settings import GenerationSettings

    competitors = {"old": old_sampling_module(args.old_rev).TokenSampler,
                   "before": old_sampling_module(args.before_rev).TokenSampler, "new": TokenSampler}
    sections = []
    for sigma in SIGMAS:
        rows = []
        for label, fields in SETTINGS:
            settings = GenerationSettings(seed=1, **fields)
            cells = [label]
            for vocab in VOCABS:
                rng = np.random.default_rng(vocab)
                logits = (rng.normal(size=(8, vocab)) * sigma).astype(np.float32)
                prompt = rng.integers(0, vocab, PROMPT_IDS).tolist()
                times: dict[str, list[float]] = {name: [] for name in competitors}
                for r in range(args.rounds):
                    order = list(competitors.items())
                    for name, factory in order[r % 3:] + order[: r % 3]:
                        times[name].append(per_token_us(factory, settings, logits, prompt, args.tokens))
                o, b, n = (statistics.median(times[name]) for name in ("old", "before", "new"))
                cells += [f"{o:,.0f}", f"{b:,.0f}", f"{n:,.0f}", f"{b / n:.1f}×"]
                print(f"sigma {sigma} {vocab} {label}: old {o:.0f} us, before {b:.0f} us, new {n:.0f} us", flush=True)
            rows.append(cells)
        header = ["setting"]
        for vocab in VOCABS:
            header += [f"{vocab:,}: old µs", "before µs", "new µs", "new ÷ before"]
        sections.append(f"Logits N(0, {sigma:g}²):\n\n" + markdown_table(header, rows))
    return (f"{machine_line()}\n\n`python bench/bench_sampling.py micro --rounds {args.rounds} --tokens "
            f"{args.tokens}`: microseconds per token of `sample()` + `accept()` after a {PROMPT_IDS}-token "
            f"prompt: the median over {args.rounds} interleaved rounds of each round's median token ({args.tokens} "
            f"tokens a round). Old = the sampler at `{args.old_rev}` (llama.cpp's penalties/top-p/min-p/dist "
            f"samplers around our top-k); before = the sampler at `{args.before_rev}` (our numpy chain before the "
            "full-vocabulary draw by rejection); new = this checkout.\n\n" + "\n\n".join(sections)
            + "\n\n" + runs(args))


def run_block(vocab: int, k: int, sigma: float) -> tuple[np.ndarray, list[int], list[int]]:
    """k rows of logits, k drafted tokens (each its row's most likely token, so every draft is drawn), a prompt."""
    rng = np.random.default_rng(vocab + k)
    rows = (rng.normal(size=(k, vocab)) * sigma).astype(np.float32)
    drafted = rng.integers(0, vocab, k).tolist()
    rows[np.arange(k), drafted] = rows.max(axis=1) + 16.0
    return rows, drafted, rng.integers(0, vocab, PROMPT_IDS).tolist()


def runs(args: argparse.Namespace) -> str:
    """``sample_run`` over k positions against k ``sample()`` + ``accept()`` calls, interleaved; medians."""
    from exaone_desktop.engine.sampling.sampler import TokenSampler
    from exaone_desktop.engine.settings import GenerationSettings

    vocab, sigma = VOCABS[-1], SIGMAS[0]
    table = []
    for label, fields in SETTINGS:
        if label not in RUN_SETTINGS:
            continue
        cells = [label]
        for k in RUN_LENGTHS:
            rows, drafted, prompt = run_block(vocab, k, sigma)
            times: dict[str, list[float]] = {"single": [], "run": []}
            with TokenSampler(GenerationSettings(seed=1, **fields), vocab, history_size=4096) as sampler:
                sampler.start(prompt)
                for r in range(args.rounds * args.tokens // 4):
                    for name in (("single", "run") if r % 2 else ("run", "single")):
                        t = time.perf_counter()
                        if name == "run":
                            drawn = sampler.sample_run(rows, drafted)
                        else:
                            drawn = []
                            for row in rows:  # as Reply.take: the finiteness check, sample(), accept()
                                assert math.isfinite(float(np.dot(row, row)))
                                drawn.append(sampler.sample(row))
                                sampler.accept(drawn[-1])
                        times[name].append(time.perf_counter() - t)
                        assert drawn == drafted, (label, k, drawn, drafted)
            single, run = (statistics.median(times[name]) * 1e6 for name in ("single", "run"))
            cells.append(f"{single:,.0f} / {run:,.0f} ({run / single:.2f}×)")
            print(f"run {label} k={k}: {k} single {single:.0f} us, sample_run {run:.0f} us", flush=True)
        table.append(cells)
    header = ["setting"] + [f"k = {k}: k × sample() / sample_run µs" for k in RUN_LENGTHS]
    return (f"Speculative verification, {vocab:,} entries, N(0, {sigma:g}²) logits whose drafted tokens are "
            "their rows' most likely (every position is drawn): k `sample()` + `accept()` calls, each after the "
            "finiteness check `Reply.take` makes, against one `sample_run()` (which makes that check once) "
            f"over the same k rows, interleaved, medians of {args.rounds * args.tokens // 4} calls; in brackets "
            "sample_run ÷ k calls.\n\n" + markdown_table(header, table))


def thread_block_us(sampler: Any, logits: np.ndarray, tokens: int) -> list[float]:
    """Per-token thread CPU time (µs) of ``tokens`` sample() + accept() calls: CPU time, not wall time, so that
    another job on the same cores slows the token (cache, memory bandwidth) but does not add its own time."""
    out = []
    for i in range(tokens):
        t = time.thread_time_ns()
        sampler.accept(sampler.sample(logits[i % len(logits)]))
        out.append((time.thread_time_ns() - t) / 1e3)
    return out


def thread_run_us(sampler: Any, rows: np.ndarray, drafted: list[int], calls: int) -> tuple[list[float], list[float]]:
    """Thread CPU time (µs) of ``calls`` sample_run() calls and of as many k x (check, sample(), accept()), the
    two alternating which goes first (the second finds the rows in cache)."""
    run: list[float] = []
    single: list[float] = []
    for c in range(calls):
        for name in (("run", "single") if c % 2 else ("single", "run")):
            t = time.thread_time_ns()
            if name == "run":
                drawn = sampler.sample_run(rows, drafted)
                run.append((time.thread_time_ns() - t) / 1e3)
                assert drawn == drafted
                continue
            for row in rows:  # as Reply.take: the finiteness check, sample(), accept()
                assert math.isfinite(float(np.dot(row, row)))
                sampler.accept(sampler.sample(row))
            single.append((time.thread_time_ns() - t) / 1e3)
            for token in drafted[::-1]:  # forget the accepted drafts: every call sees the same history
                for history in (sampler._history, sampler._generated):
                    if history is not None:
                        history.undo(token, None)
    return run, single


def against(args: argparse.Namespace) -> str:
    """This checkout against the whole ``sampling/`` package of ``--rev``, interleaved block by block in one
    process; medians (means in brackets) of per-token thread CPU time."""
    from exaone_desktop.engine.sampling.sampler import TokenSampler
    from exaone_desktop.engine.settings import GenerationSettings

    competitors = {args.rev: old_sampling_module(args.rev).TokenSampler, "new": TokenSampler}
    load_before = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    rows = []
    labels = [label for label, _ in SETTINGS if not args.only or any(o in label for o in args.only)]
    for label, fields in SETTINGS:
        if label not in labels:
            continue
        cells = [label]
        for sigma in SIGMAS:
            for vocab in VOCABS:
                rng = np.random.default_rng(vocab)
                logits = (rng.normal(size=(8, vocab)) * sigma).astype(np.float32)
                prompt = rng.integers(0, vocab, PROMPT_IDS).tolist()
                samplers = {name: factory(GenerationSettings(seed=1, **fields), vocab, history_size=4096)
                            for name, factory in competitors.items()}
                for sampler in samplers.values():
                    sampler.start(prompt)
                    thread_block_us(sampler, logits, 4)  # warm-up
                times: dict[str, list[float]] = {name: [] for name in samplers}
                for b in range(args.blocks):
                    for name in (list(samplers) if b % 2 else list(samplers)[::-1]):
                        times[name] += thread_block_us(samplers[name], logits, args.tokens)
                old, new = times[args.rev], times["new"]
                mo, mn = statistics.median(old), statistics.median(new)
                cells.append(f"{mo:,.0f} ({statistics.mean(old):,.0f}) / {mn:,.0f} ({statistics.mean(new):,.0f}): "
                             f"{mn / mo:.2f}×")
                print(f"{label} sigma {sigma} {vocab}: {cells[-1]}", flush=True)
        rows.append(cells)
    header = ["setting"] + [f"N(0, {sigma:g}²) {vocab:,}: {args.rev} / new" for sigma in SIGMAS for vocab in VOCABS]
    run_rows = []
    vocab = VOCABS[-1]
    for label, fields in SETTINGS:
        if label not in RUN_SETTINGS or label not in labels:
            continue
        cells = [label]
        for k in RUN_LENGTHS:
            block, drafted, prompt = run_block(vocab, k, SIGMAS[0])
            with TokenSampler(GenerationSettings(seed=1, **fields), vocab, history_size=4096) as sampler:
                sampler.start(prompt)
                run, single = thread_run_us(sampler, block, drafted, args.blocks * args.tokens // 8)
            mr, ms = statistics.median(run), statistics.median(single)
            cells.append(f"{ms:,.0f} / {mr:,.0f} ({mr / ms:.2f}×)")
            print(f"run {label} k={k}: {cells[-1]}", flush=True)
        run_rows.append(cells)
    load_after = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    return (f"{machine_line()}\n\n`python bench/bench_sampling.py against --rev {args.rev} --blocks {args.blocks} "
            f"--tokens {args.tokens}`: this checkout against the whole `sampling/` package at `{args.rev}`, in one "
            f"process, interleaved block by block ({args.blocks} blocks of {args.tokens} tokens each after a "
            f"{PROMPT_IDS}-token prompt); medians (means in brackets) of per-token thread CPU time of `sample()` + "
            f"`accept()`, µs; load average {load_before} before, {load_after} after.\n\n"
            + markdown_table(header, rows)
            + f"\n\nSpeculative verification, {vocab:,} entries, N(0, 1²) logits whose drafts are their rows' most "
            "likely: thread CPU time of k `sample()` + `accept()` calls (each after `Reply.take`'s finiteness "
            "check) / one `sample_run()` over the same k rows, interleaved call by call, medians of "
            f"{args.blocks * args.tokens // 8} calls; in brackets sample_run ÷ k calls.\n\n"
            + markdown_table(["setting"] + [f"k = {k}: k × sample() / sample_run µs" for k in RUN_LENGTHS], run_rows))


def raw_kwargs(fields: dict[str, Any]) -> dict[str, Any]:
    """The closest llama-cpp-python ``Llama.generate`` settings (its chain order differs from ours)."""
    if not fields.get("do_sample"):
        return {"temp": 0.0, "repeat_penalty": fields.get("repetition_penalty", 1.0)}
    return {"temp": fields.get("temperature", 1.0), "top_k": fields.get("top_k", 50),
            "top_p": fields.get("top_p", 1.0), "min_p": fields.get("min_p") or 0.0,
            "repeat_penalty": fields.get("repetition_penalty", 1.0),
            "presence_penalty": fields.get("presence_penalty", 0.0)}


def model_rows(model: Path, args: argparse.Namespace) -> list[list[str]]:
    import llama_cpp
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.engine.settings import GenerationSettings

    ours = LocalGenerator(model, n_ctx=2048, n_threads=args.threads)
    raw = llama_cpp.Llama(str(model), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads,
                          n_gpu_layers=0, verbose=False)

    def run_ours(fields: dict[str, Any], n: int) -> float | None:
        """Seconds per token after the first (the generator's own decode timing)."""
        result = ours.generate(PROMPT, GenerationSettings(max_new_tokens=n, seed=1, **fields))
        speed = result.timings["generated_tokens_per_s"]
        return 1.0 / speed if len(result.generated[0].token_ids) > 1 and speed > 0 else None

    prompt_ids = raw.tokenize(PROMPT.encode("utf-8"))

    def run_raw(fields: dict[str, Any], n: int) -> float | None:
        """Seconds per token between the first and the last token ``Llama.generate`` yields."""
        raw.reset()
        raw.set_seed(1)
        stamps = []
        for _ in raw.generate(prompt_ids, **raw_kwargs(fields)):
            stamps.append(time.perf_counter())
            if len(stamps) == n:
                break
        return (stamps[-1] - stamps[0]) / (len(stamps) - 1) if len(stamps) > 1 else None

    runs = [(who, label, fn, fields) for label, fields in SETTINGS for who, fn in
            (("ours", run_ours), ("raw", run_raw))]
    for _, _, fn, fields in runs[:2]:
        fn(fields, 4)  # warm-up
    per_token: dict[tuple[str, str], list[float]] = {(who, label): [] for who, label, _, _ in runs}
    for p in range(args.pairs):
        for who, label, fn, fields in (runs if p % 2 == 0 else runs[::-1]):
            seconds = fn(fields, args.new_tokens)
            if seconds is not None:  # a random model may stop at an end-of-turn token at once
                per_token[(who, label)].append(seconds)
            print(f"{model.name} round {p}: {who} {label}: {seconds}", flush=True)
    speed = {key: 1.0 / statistics.median(v) for key, v in per_token.items() if v}
    greedy = speed[("ours", "greedy")]
    rows = []
    for label, _ in SETTINGS:
        o, r = speed.get(("ours", label), float("nan")), speed.get(("raw", label), float("nan"))
        rows.append([model.name, label, f"{o:.2f}", f"{o / greedy:.3f}", f"{r:.2f}", f"{o / r:.3f}"])
        print(" | ".join(rows[-1]), flush=True)
    ours.close()
    raw.close()
    return rows


def model(args: argparse.Namespace) -> str:
    models = args.model or sorted(p for p in OUT_DIR.glob("exaone-4.0-1.2b*-Q4_K_M.gguf"))
    if not models:
        raise SystemExit("no model: make the 1.2B-shape GGUFs (see this script's docstring) or pass --model")
    rows = [row for m in models for row in model_rows(m, args)]
    table = markdown_table(["model", "setting", "ours: decode tok/s", "ours ÷ our greedy", "raw: decode tok/s",
                            "ours ÷ raw"], rows)
    return (f"{machine_line()}\n\n`python bench/bench_sampling.py model --pairs {args.pairs} --new-tokens "
            f"{args.new_tokens} --threads {args.threads}`: our `LocalGenerator` with each setting and raw "
            "llama-cpp-python's `Llama.generate` with the closest settings it has (its own chain order, "
            "64-token penalty window), interleaved request by request in one process; medians over "
            f"{args.pairs} rounds. Decode = seconds per token after the first (our generator's own timing; "
            "first to last token `Llama.generate` yields for raw).\n\n" + table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("micro", help="TokenSampler.sample alone on random logits, old vs new")
    m.add_argument("--rounds", type=int, default=7)
    m.add_argument("--tokens", type=int, default=32)
    m.add_argument("--old-rev", default=OLD_REV)
    m.add_argument("--before-rev", default=BEFORE_REV)
    a = sub.add_parser("against", help="this checkout against a revision's sampling/ package, thread CPU time")
    a.add_argument("--rev", default="HEAD")
    a.add_argument("--blocks", type=int, default=30)
    a.add_argument("--tokens", type=int, default=32)
    a.add_argument("--only", action="append", help="settings whose label contains this (repeatable)")
    d = sub.add_parser("model", help="decode tokens/s on the sampling path against greedy and raw llama-cpp-python")
    d.add_argument("--model", type=Path, action="append")
    d.add_argument("--pairs", type=int, default=4)
    d.add_argument("--new-tokens", type=int, default=64)
    d.add_argument("--threads", type=int, default=2)
    for sub_parser in (m, a, d):
        sub_parser.add_argument("--no-readme", action="store_true", help="print only (the README section is "
                                "replaced whole, prose included, when this is left out)")
    args = p.parse_args(argv)
    body = {"micro": micro, "against": against, "model": model}[args.what](args)
    print(body)
    if not args.no_readme:
        write_section(f"bench_sampling_{args.what}", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
