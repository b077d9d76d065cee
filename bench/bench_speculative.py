"""Benchmark: speculative decoding's machinery at controlled acceptance, against plain decoding in the same run.

    python bench/bench_speculative.py [--quick] [--threads N] [--rounds N] [--new-tokens N] [--no-readme]
                                      [--n-gpu-layers N]

Random weights cannot show a real model's acceptance, so the drafts come from a scripted source: the model's
own greedy continuation (every draft kept, 100 %), and the same with about 20 % or 50 % of the drafted
positions changed to another token (a run ends at the first changed one). Each is measured with a fixed draft
length ("on") and with the adaptive one ("auto"), against plain decoding (``speculative off``), interleaved,
same process, same prompt (its KV state reused, so only decoding is timed): decode tokens/s is the reply's
tokens over the time after the prompt (``generated_tokens_per_s``). An open-ended prompt (random words: prompt
lookup finds little to draft) measures what "auto" prompt lookup costs when it cannot help. Then the cost of
evaluating a batch of m tokens against one decode (m = 1 + the drafts verified), at a depth of about 512.

On the EXAONE-4.0-1.2B shape (a random-weight checkpoint converted to Q4_K_M, as ``bench_generate.py`` does).
``--quick``: 4 layers, one round, README untouched. ``--n-gpu-layers -1`` on a GPU build gives the GPU table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402
from bench_generate import ensure_models, make_prompt  # noqa: E402

SHAPE = "exaone-4.0-1.2b"
N_CTX = 2048
PROMPT_TOKENS = 64
DEPTH = 512
FIXED_K = 4
AUTO_LIMIT = 8


class Scripted:
    """Drafts the model's known greedy continuation; positions whose hash falls under ``wrong`` get a changed
    token (the same positions every run)."""

    kind = "scripted"

    def __init__(self, continuation: Sequence[int], wrong: float, n_vocab: int) -> None:
        import numpy as np

        self.continuation = list(continuation)
        changed = np.random.default_rng(1234).random(len(self.continuation)) < wrong
        self.drafts = [(t + 1) % n_vocab if c else t for t, c in zip(self.continuation, changed, strict=True)]

    def begin(self, prompt_ids: Sequence[int], settings: Any, seed: int, index: int) -> None:
        pass

    def propose(self, reply_tokens: Sequence[int], n: int) -> Any:
        from exaone_desktop.engine.llama.speculative import Draft

        at = len(reply_tokens)
        return Draft(self.drafts[at: at + n])


def decode_rate(gen: Any, prompt: str, settings: Any, source: Any = None) -> tuple[float, int, int]:
    result = gen.generate(prompt, settings, draft_source=source)
    t = result.timings
    return t["generated_tokens_per_s"], int(t["draft_tokens"]), int(t["draft_tokens_accepted"])


def batch_costs(gen: Any, prompt_ids: list[int], reps: int) -> dict[int, float]:
    """Median seconds of one llama_decode of m tokens (logits at each) after ``DEPTH`` cached tokens."""
    ids = (prompt_ids * (DEPTH // max(1, len(prompt_ids)) + 1))[:DEPTH]
    gen._clear()
    for at in range(0, DEPTH, gen.n_batch):
        gen._eval(ids[at: at + gen.n_batch])
    out: dict[int, list[float]] = {m: [] for m in range(1, 10)}
    for _ in range(reps):
        for m in out:
            run = ids[:m]
            t = time.perf_counter()
            if m == 1:
                gen._eval(run)
            else:
                gen._eval_run(run)
            out[m].append(time.perf_counter() - t)
            gen._keep(DEPTH)
    gen._clear()
    return {m: statistics.median(v) for m, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--n-gpu-layers", type=int, default=0)
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args(argv)
    from exaone_desktop.engine.llama.local import LocalGenerator

    layers = 4 if args.quick else None
    rounds = 1 if args.quick else args.rounds
    bl.OUT_DIR.mkdir(parents=True, exist_ok=True)
    ckpt, gguf = ensure_models(SHAPE, layers, args.threads)
    prompt = make_prompt(ckpt, PROMPT_TOKENS)
    words = "harbour violet seventeen quietly ledger orbit maple fiction tundra copper whistle gallon".split()
    import numpy as np
    rng = np.random.default_rng(7)
    open_prompt = " ".join(rng.choice(words, size=PROMPT_TOKENS).tolist())
    gen = LocalGenerator(gguf, n_ctx=N_CTX, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers)
    plain = gen.default_settings(do_sample=False, max_new_tokens=args.new_tokens, speculative="off")
    continuation = gen.generate(prompt, plain).generated[0].token_ids
    cases: list[tuple[str, str, Any, Any]] = [("plain", prompt, plain, None)]
    for share, label in ((0.0, "100 %"), (0.2, "~80 %"), (0.5, "~50 %")):
        source = Scripted(continuation, share, gen.n_vocab)
        cases.append((f"{label} on k={FIXED_K}", prompt,
                      plain.replace(speculative="on", prompt_lookup_num_tokens=FIXED_K), source))
        cases.append((f"{label} auto ≤{AUTO_LIMIT}", prompt,
                      plain.replace(speculative="auto", prompt_lookup_num_tokens=AUTO_LIMIT), source))
    cases.append(("open-ended: plain", open_prompt, plain, None))
    cases.append(("open-ended: prompt lookup auto", open_prompt,
                  plain.replace(speculative="auto", prompt_lookup_num_tokens=AUTO_LIMIT), None))
    for _, text, settings, source in cases:  # warm-up: each prompt's KV state cached, first-call allocations
        gen.generate(text, settings.replace(max_new_tokens=2), draft_source=source)
    rates: dict[str, list[float]] = {name: [] for name, *_ in cases}
    kept: dict[str, tuple[int, int]] = {}
    for r in range(rounds):
        order = cases if r % 2 == 0 else cases[::-1]
        for name, text, settings, source in order:
            rate, n_drafted, n_kept = decode_rate(gen, text, settings, source)
            rates[name].append(rate)
            kept[name] = (n_drafted, n_kept)
            print(f"  round {r + 1} {name}: {rate:.2f} tok/s, drafted {n_drafted}, kept {n_kept}", flush=True)
    base = statistics.median(rates["plain"])
    open_base = statistics.median(rates["open-ended: plain"])
    rows = []
    for name, *_ in cases:
        rate = statistics.median(rates[name])
        ref = open_base if name.startswith("open-ended") else base
        n_drafted, n_kept = kept[name]
        share = f"{n_kept / n_drafted:.0%}" if n_drafted else "—"
        rows.append([name, f"{rate:.2f}", f"{rate / ref:.2f}×", str(n_drafted), str(n_kept), share])
    table = bl.markdown_table(["drafts", "decode tok/s", "÷ plain", "drafted", "kept", "kept share"], rows)
    costs = batch_costs(gen, gen.tokenize_prompt(prompt, plain)[1], 3 if args.quick else 7)
    one = costs[1]
    cost_rows = [[str(m), str(m - 1), f"{costs[m] * 1000:.1f} ms", f"{costs[m] / one:.2f}×"] for m in sorted(costs)]
    cost_table = bl.markdown_table(["tokens in the batch (m)", "drafts verified (k = m − 1)", "llama_decode",
                                    "÷ one token"], cost_rows)
    gen.close()
    where = "GPU" if args.n_gpu_layers else f"CPU, {args.threads} threads"
    body = "\n\n".join([
        bl.machine_line(),
        f"EXAONE-4.0-1.2B shape{' (4 layers)' if layers else ''}, random weights, Q4_K_M, {where}, greedy, "
        f"{args.new_tokens} new tokens after a {PROMPT_TOKENS}-token prompt, median of {rounds} interleaved "
        "rounds in one process. `python bench/bench_speculative.py`.",
        table, f"Cost of one batch of m tokens (logits at each) at depth {DEPTH}:", cost_table])
    print(body)
    if not (args.no_readme or args.quick):
        bl.write_section("bench_speculative", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
