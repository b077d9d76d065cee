"""Benchmark: generation through the worker process (``WorkerGenerator``) against in-process (``LocalGenerator``).

    python bench/bench_worker.py [--model PATH.gguf ...] [--rounds N] [--threads N] [--no-readme]

Both generators load the same file with the same threads and context in this process (the worker's
llama.cpp runs in its child). Requests alternate between the two, greedy, with every token streamed
to a callback (as the app and ``--stream`` do). Each request is timed from the caller's side, so the
worker's pipe, pickling and event batching are inside the measurement:

- prefill: prompt tokens / T(1), where T(1) is a request for one new token (time to first token);
- decode: N / (T(N+1) - T(1)) per round (the prompt's cost cancels out).

Medians over the rounds are reported, with the worker's difference from in-process. Default models:
the tests' tiny EXAONE 4 model (thousands of tokens per second: the per-token overhead shows most)
and the real-shape EXAONE-4.0-1.2B Q4_K_M that ``bench_generate.py`` builds in bench/out/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

PROMPT = ("Please write a short story about a small robot who learns to paint the sea at night, and explain "
          "why the colours change when the moon rises over the quiet harbour town.")
REAL_SHAPE = bl.OUT_DIR / "exaone-4.0-1.2b-Q4_K_M.gguf"


def tiny_model(folder: Path) -> Path:
    sys.path.insert(0, str(bl.ROOT / "tests"))
    from exaone_convert.convert import convert_checkpoint
    from tiny_checkpoints import build_checkpoint

    return Path(convert_checkpoint(build_checkpoint("exaone4", folder / "ckpt"), folder / "tiny-exaone4-f32.gguf",
                                   "f32"))


_counter = iter(range(1, 1 << 30))


def request(gen: Any, n: int) -> tuple[float, int, int, float]:
    """(seconds, prompt tokens, generated tokens, the generator's own seconds) of one greedy request for ``n``
    tokens, streamed. Every prompt starts differently, so the generator's prompt cache cannot skip the
    prefill. The generator's own time (prompt and decode, from its timings) is what the worker measured
    inside its process: the caller's time minus it is what the pipe cost this very request."""
    settings = gen.default_settings(max_new_tokens=n, do_sample=False, repetition_penalty=1.0)
    pieces: list[str] = []
    prompt = f"{next(_counter)}. {PROMPT}"
    t0 = time.perf_counter()
    result = gen.generate(prompt, settings, on_event=lambda e: pieces.append(e.text))
    seconds = time.perf_counter() - t0
    t = result.timings
    own = (t["prompt_tokens_evaluated"] / t["prompt_tokens_per_s"] if t["prompt_tokens_per_s"] else 0.0) + \
        (t["generated_tokens"] / t["generated_tokens_per_s"] if t["generated_tokens_per_s"] else 0.0)
    return seconds, len(result.prompt_token_ids), len(result.generated[0].token_ids), own


def measure(model: Path, new_tokens: int, rounds: int, threads: int) -> dict[str, dict[str, float]]:
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.engine.llama.worker import WorkerGenerator

    gens = {"in-process": LocalGenerator(model, n_threads=threads, n_ctx=1024),
            "worker": WorkerGenerator(model, n_threads=threads, n_ctx=1024)}
    samples: dict[str, dict[str, list[float]]] = {name: {"prefill": [], "decode": [], "overhead": []}
                                                  for name in gens}
    try:
        for gen in gens.values():  # warm-up: allocations, page faults of the weights
            request(gen, new_tokens + 1)
        for _ in range(rounds):
            for name, gen in gens.items():
                t1, n_prompt, _, _ = request(gen, 1)
                tn, _, n, own = request(gen, new_tokens + 1)
                samples[name]["prefill"].append(n_prompt / t1)
                samples[name]["decode"].append((n - 1) / (tn - t1))
                samples[name]["overhead"].append((tn - own) / tn)  # share of the request outside the engine
    finally:
        for gen in gens.values():
            gen.close()
    return {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, action="append", help="GGUF(s) to measure (default: tiny + real shape)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--new-tokens", type=int, help="tokens per decode request (default: 200 tiny, 32 real shape)")
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = args.model or [tiny_model(Path(tmp)), *([REAL_SHAPE] if REAL_SHAPE.exists() else [])]
        for model in models:
            new_tokens = args.new_tokens or (200 if model.stat().st_size < 100e6 else 32)
            got = measure(model, new_tokens, args.rounds, args.threads)
            base, ours = got["in-process"], got["worker"]
            rows.append([model.name, str(new_tokens),
                         bl.fmt(base["prefill"]), bl.fmt(ours["prefill"]),
                         f"{100 * (ours['prefill'] / base['prefill'] - 1):+.1f}%",
                         bl.fmt(base["decode"]), bl.fmt(ours["decode"]),
                         f"{100 * (ours['decode'] / base['decode'] - 1):+.1f}%",
                         f"{100 * base['overhead']:.2f}%", f"{100 * ours['overhead']:.2f}%"])
            print(rows[-1], flush=True)
    table = bl.markdown_table(["model", "new tokens", "prefill in-process tok/s", "prefill worker tok/s", "Δ",
                               "decode in-process tok/s", "decode worker tok/s", "Δ",
                               "outside the engine, in-process", "outside the engine, worker"], rows)
    text = (f"`python bench/bench_worker.py --rounds {args.rounds} --threads {args.threads}"
            f"{' --new-tokens ' + str(args.new_tokens) if args.new_tokens else ''}`: greedy requests "
            "alternating between `LocalGenerator` (in-process) and `WorkerGenerator` (llama.cpp in a child "
            "process, every token streamed through the pipe), timed by the caller; medians of "
            f"{args.rounds} rounds. \"Outside the engine\": the caller's time for a decode request minus the "
            "time the generator measured for its prompt and tokens in its own process, as a share of the "
            "request (the same requests, so the machine's noise cancels): for the worker, the pipe, pickling "
            f"and event batching.\n\n{table}\n\n{bl.machine_line()}\n")
    print(text)
    if not args.no_readme:
        bl.write_section("bench_worker", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
