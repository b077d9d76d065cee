"""Benchmark: speculative decoding's machinery at controlled acceptance, against plain decoding in the same run.

    python bench/bench_speculative.py [--quick] [--threads N] [--rounds N] [--new-tokens N] [--no-readme]
                                      [--n-gpu-layers N]

Random weights cannot show a real model's acceptance, so the drafts come from a scripted source at controlled
acceptance: the model's own greedy continuation (100 %), and the same with a share of the drafted positions
changed to another token (about 80 % and 50 % of the checked positions kept).

The continuation is the one VERIFICATION computes, which is not always the one-token loop's: on this
random-weight Q4_K_M checkpoint a batch of m > 1 tokens gives logits that differ from one-token decodes by about
3 % of the largest logit (llama.cpp's batched Q4_K/Q6_K products and the f16 KV cache round differently), while
the top two logits of a random model are often closer than that, and the batch shapes change with every draft
refused. A source indexed by position proposes nothing but wrong tokens after the first such flip (the first
run of this bench kept 7 % of a "100 %" source; the next, 44 % and 2 % of its "80 %" and "50 %" sources). So the
scripted source (``Scripted``) drafts from ``Truth``: what the model drew after each context (its last 16
tokens) in every earlier reply of this process, learned after each run (never inside the timed decode), so a
reply that went down another branch is drafted along that branch too; a few warm-up runs of each case teach it.
Each case reports the acceptance measured: kept ÷ checked positions (each verification checks the kept drafts
and, when one is refused, that one), and kept ÷ drafted. The same run measures the batched/one-token
difference and the argmax margins (``logit_agreement``).

Each is measured with a fixed draft length ("on") and with the adaptive one ("auto"), against plain decoding
(``speculative off``), interleaved, same process, same prompt (its KV state reused, so only decoding is timed):
decode tokens/s is the reply's tokens over the time after the prompt (``generated_tokens_per_s``). Each scripted
case is its own draft source kind, so "auto" carries its measured acceptance from one reply to the next as it
carries each source's on a loaded model. An open-ended prompt (random words: prompt lookup finds only chance
matches) measures what "auto" prompt lookup costs when it cannot help; the demo model (``desktop/demo``,
converted to Q4_K_M) reciting its passage is a real model's reply (lookup finds only the few repeats inside the
passage: the tiny model recites only after its one greeting, so the passage cannot be put in the prompt).
Then the cost of evaluating a batch of m tokens against one decode (m = 1 + the drafts verified), at a depth of
about 512: ours beside raw llama-cpp-python's on the same file (``RawBatch``), call by call, and the speed-up
each cost curve allows at best (``ceiling``): on a CPU the batch's cost, not our code, bounds what drafting can
give. The load average is printed before and after (the machine is shared).

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


CONTEXT = 16  # tokens of context that key the learned continuation
MARK_SHIFT = 97  # how far the marks of wrong drafts move on from one reply to the next


class Truth:
    """What the model drew after each context (its last ``CONTEXT`` tokens) in the replies seen so far."""

    def __init__(self) -> None:
        self.next: dict[tuple[int, ...], int] = {}

    def learn(self, prompt_ids: Sequence[int], reply: Sequence[int]) -> None:
        ids = [*prompt_ids, *reply]
        for at in range(len(prompt_ids), len(ids)):
            self.next[tuple(ids[max(0, at - CONTEXT): at])] = ids[at]


class Scripted:
    """Drafts the learned greedy continuation of the context; drafted positions (reply indexes) whose mark
    falls under ``wrong`` get another token. The marks move on with each reply (the n-th reply of every case
    has the same ones, so the cases compare), so the positions where "auto" checks a draft see the source's
    overall acceptance, as a real text's would. Counts what verification kept."""

    cheap = True

    def __init__(self, truth: Truth, wrong: float, n_vocab: int, kind: str) -> None:
        import numpy as np

        self.truth, self.n_vocab, self.kind = truth, n_vocab, kind
        self.changed = np.random.default_rng(1234).random(4096) < wrong
        self.kept = self.checked = self.replies = 0
        self._last: tuple[int, Any] | None = None

    def begin(self, prompt_ids: Sequence[int], settings: Any, seed: int, index: int) -> None:
        self._prompt = list(prompt_ids)
        self._last = None
        self.replies += 1

    def propose(self, reply_tokens: Sequence[int], n: int) -> Any:
        from exaone_desktop.engine.llama.draft_sources import Draft

        self.settle(reply_tokens)
        context = [*self._prompt[-CONTEXT:], *reply_tokens[-CONTEXT:]][-CONTEXT:]
        out: list[int] = []
        for j in range(n):
            token = self.truth.next.get(tuple(context))
            if token is None:
                break
            at = len(reply_tokens) + j + MARK_SHIFT * self.replies
            out.append((token + 1) % self.n_vocab if self.changed[at % len(self.changed)] else token)
            context = [*context[1:], token]
        draft = Draft(out)
        self._last = (len(reply_tokens), draft)  # the generator cuts draft.tokens to what it verifies
        return draft

    def settle(self, reply: Sequence[int]) -> None:
        """Count what became of the last draft now that ``reply`` shows what was drawn after it: the kept
        prefix, and the position refused (drawn, and not the draft) if there was one."""
        if self._last is None:
            return
        at, draft = self._last
        self._last = None
        tokens, drawn = draft.tokens, list(reply[at:])
        kept = 0
        while kept < min(len(tokens), len(drawn)) and drawn[kept] == tokens[kept]:
            kept += 1
        self.kept += kept
        self.checked += kept + (1 if kept < len(tokens) and len(drawn) > kept else 0)


def logit_agreement(gen: Any, prompt_ids: list[int], n: int, m: int) -> dict[str, float]:
    """Batched (runs of ``m`` tokens, logits at each) against one-token logits along the one-token greedy
    continuation of ``n`` tokens: the largest difference relative to the largest logit, the median margin
    between the top two one-token logits, and how many positions' argmax the batch changes."""
    import numpy as np

    gen._cache().clear()
    one = [gen._cache().eval(prompt_ids).copy()]
    tokens = [int(np.argmax(one[0]))]
    for _ in range(n - 1):
        one.append(gen._cache().eval([tokens[-1]]).copy())
        tokens.append(int(np.argmax(one[-1])))
    gen._cache().clear()
    gen._cache().eval(prompt_ids)
    batched = [one[0]]
    for at in range(0, n - 1, m):
        batched.extend(gen._cache().eval_run(tokens[at: at + m]).copy())
    gen._cache().clear()
    diff = max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(one[1:n], batched[1:n], strict=True))
    margins = [float(np.diff(np.sort(a)[-2:])[0]) for a in one[1:n]]
    flips = sum(int(np.argmax(a)) != int(np.argmax(b)) for a, b in zip(one[1:n], batched[1:n], strict=True))
    scale = statistics.median(float(np.abs(a).max()) for a in one[1:n])
    return {"diff": diff, "margin": statistics.median(margins) / scale, "flips": flips, "positions": n - 1}


def decode_rate(gen: Any, prompt: Any, settings: Any, source: Any, truth: Truth) -> tuple[float, int, int]:
    result = gen.generate(prompt, settings, draft_source=source)
    t = result.timings
    reply = result.generated[0].token_ids
    truth.learn(result.prompt_token_ids, reply)  # after the timed decode
    if source is not None:
        source.settle(reply)
    return t["generated_tokens_per_s"], int(t["draft_tokens"]), int(t["draft_tokens_accepted"])


def demo_model() -> tuple[Path, list[dict[str, str]]]:
    """The demo model in Q4_K_M, and the greeting it answers by reciting its passage."""
    import json

    demo = Path(__file__).resolve().parents[1] / "desktop" / "demo"
    gguf = bl.OUT_DIR / "demo-Q4_K_M.gguf"
    if not gguf.is_file():
        from exaone_convert.pipeline import ConvertRequest, convert

        convert(ConvertRequest(source=str(demo), outfile=gguf, outtype="q4_k_m", show_progress=False))
    return gguf, json.loads((demo / "demo.json").read_text(encoding="utf-8"))["messages"]


class RawBatch:
    """Raw llama-cpp-python on the same file (its ``Llama`` defaults): one llama_decode of m tokens after the
    cached ones, with logits at every token (what verification needs) or at the last one only."""

    def __init__(self, gguf: Path, threads: int, n_gpu_layers: int) -> None:
        import llama_cpp

        self.lib = llama_cpp
        self.llm = llama_cpp.Llama(str(gguf), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads,
                                   n_gpu_layers=n_gpu_layers, verbose=False)
        self.ctx = self.llm._ctx.ctx
        self.batch = llama_cpp.llama_batch_init(self.llm.n_batch, 0, 1)

    def decode(self, tokens: Sequence[int], base: int, every: bool = True) -> None:
        b = self.batch
        for i, token in enumerate(tokens):
            b.token[i], b.pos[i], b.n_seq_id[i] = token, base + i, 1
            b.seq_id[i][0] = 0
            b.logits[i] = every or i == len(tokens) - 1
        b.n_tokens = len(tokens)
        if self.lib.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("raw llama_decode failed")

    def keep(self, n: int) -> None:
        self.lib.llama_memory_seq_rm(self.lib.llama_get_memory(self.ctx), 0, n, -1)

    def close(self) -> None:
        self.lib.llama_batch_free(self.batch)
        self.llm.close()


def batch_costs(gen: Any, raw: RawBatch, prompt_ids: list[int], reps: int) -> dict[str, dict[int, float]]:
    """Median seconds of one llama_decode of m tokens after ``DEPTH`` cached tokens: ours (logits at each, the
    verification's ``eval_run``) and raw llama-cpp-python's with logits at each and at the last only,
    interleaved call by call."""
    ids = (prompt_ids * (DEPTH // max(1, len(prompt_ids)) + 1))[:DEPTH]
    kv = gen._cache()
    kv.clear()
    raw.keep(0)
    for at in range(0, DEPTH, gen.n_batch):
        kv.eval(ids[at: at + gen.n_batch])
        raw.decode(ids[at: at + gen.n_batch], at, every=False)
    out: dict[str, dict[int, list[float]]] = {who: {m: [] for m in range(1, 10)} for who in COST_COLUMNS}
    for _ in range(reps):
        for m in range(1, 10):
            run = ids[:m]
            for who in COST_COLUMNS:
                t = time.perf_counter()
                if who != "ours":
                    raw.decode(run, DEPTH, every=who == "raw, logits at each")
                elif m == 1:
                    kv.eval(run)
                else:
                    kv.eval_run(run)
                out[who][m].append(time.perf_counter() - t)
                if who == "ours":
                    kv.keep(DEPTH)
                else:
                    raw.keep(DEPTH)
    kv.clear()
    return {who: {m: statistics.median(v) for m, v in times.items()} for who, times in out.items()}


COST_COLUMNS = ("ours", "raw, logits at each", "raw, logits at the last")


def ceiling(ratio: dict[int, float], acceptance: float) -> tuple[int, float]:
    """The draft length k with the most expected tokens per unit of time under the batch costs ``ratio`` (m ->
    seconds of m tokens over one) when each draft is kept with probability ``acceptance``, and that speed-up:
    what drafting could give at best, with no cost but the batch's."""
    from exaone_desktop.engine.llama.draft_length import expected_tokens

    best = max((k for k in ratio if k + 1 in ratio), key=lambda k: expected_tokens(acceptance, k) / ratio[k + 1])
    return best, expected_tokens(acceptance, best) / ratio[best + 1]


def arguments() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--n-gpu-layers", type=int, default=0)
    p.add_argument("--no-readme", action="store_true")
    return p


def command_flags(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The flags of this run that take a value and differ from the parser's defaults, as typed."""
    return "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                   if not isinstance(v, bool) and v != parser.get_default(k))


def main(argv: list[str] | None = None) -> int:
    import os

    p = arguments()
    args = p.parse_args(argv)
    from exaone_desktop.engine.llama.local import LocalGenerator

    load_before = os.getloadavg()
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
    demo_gguf, demo_chat = demo_model()
    demo = LocalGenerator(demo_gguf, n_ctx=1024, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers)
    plain = gen.default_settings(do_sample=False, max_new_tokens=args.new_tokens, speculative="off")
    agreement = logit_agreement(gen, gen.tokenize_prompt(prompt, plain)[1], 33, FIXED_K + 1)
    print(f"  batched vs one-token logits: {agreement}", flush=True)
    fixed = plain.replace(speculative="on", prompt_lookup_num_tokens=FIXED_K)
    auto = plain.replace(speculative="auto", prompt_lookup_num_tokens=AUTO_LIMIT)
    demo_plain = demo.default_settings(do_sample=False, max_new_tokens=120, speculative="off")
    truth = Truth()
    # (name, generator, prompt, settings, draft source or None for the generator's own, baseline case)
    cases: list[tuple[str, Any, Any, Any, Any, str]] = [("plain", gen, prompt, plain, None, "plain")]
    for share, label in ((0.0, "100 %"), (0.2, "~80 %"), (0.5, "~50 %")):
        cases.append((f"{label} on k={FIXED_K}", gen, prompt, fixed,
                      Scripted(truth, share, gen.n_vocab, f"on-{share}"), "plain"))
        cases.append((f"{label} auto ≤{AUTO_LIMIT}", gen, prompt, auto,
                      Scripted(truth, share, gen.n_vocab, f"auto-{share}"), "plain"))
    cases += [("open-ended: plain", gen, open_prompt, plain, None, "open-ended: plain"),
              ("open-ended: prompt lookup auto", gen, open_prompt, auto, None, "open-ended: plain"),
              ("demo recitation: plain", demo, demo_chat, demo_plain, None, "demo recitation: plain"),
              ("demo recitation: prompt lookup auto", demo, demo_chat, demo_plain.replace(speculative="auto"), None,
               "demo recitation: plain"),
              ("demo recitation: prompt lookup on", demo, demo_chat, demo_plain.replace(speculative="on"), None,
               "demo recitation: plain")]
    for warm in range(3):  # prompts' KV states cached, allocations made, the truth learned
        for _, g, text, settings, source, _ in cases:
            decode_rate(g, text, settings if warm else settings.replace(speculative="off"), source, truth)
    for _, _, _, _, source, _ in cases:
        if source is not None:
            source.kept = source.checked = 0
    rates: dict[str, list[float]] = {name: [] for name, *_ in cases}
    drafts: dict[str, list[int]] = {name: [0, 0] for name, *_ in cases}
    for r in range(rounds):
        order = cases if r % 2 == 0 else cases[::-1]
        for name, g, text, settings, source, _ in order:
            rate, n_drafted, n_kept = decode_rate(g, text, settings, source, truth)
            rates[name].append(rate)
            drafts[name][0] += n_drafted
            drafts[name][1] += n_kept
            print(f"  round {r + 1} {name}: {rate:.2f} tok/s, drafted {n_drafted}, kept {n_kept}", flush=True)
    rows = []
    for name, _, _, _, source, base in cases:
        rate = statistics.median(rates[name])
        n_drafted, n_kept = drafts[name]
        per_drafted = f"{n_kept / n_drafted:.0%}" if n_drafted else "—"
        checked = f"{source.kept / source.checked:.0%}" if source is not None and source.checked else "—"
        rows.append([name, f"{rate:.2f}", f"{rate / statistics.median(rates[base]):.2f}×", str(n_drafted // rounds),
                     str(n_kept // rounds), checked, per_drafted])
    table = bl.markdown_table(["drafts", "decode tok/s", "÷ plain", "drafted / reply", "kept / reply",
                               "kept ÷ checked", "kept ÷ drafted"], rows)
    raw = RawBatch(gguf, args.threads, args.n_gpu_layers)
    costs = batch_costs(gen, raw, gen.tokenize_prompt(prompt, plain)[1], 3)
    raw.close()
    ratios = {who: {m: t / costs[who][1] for m, t in costs[who].items()} for who in COST_COLUMNS}
    cost_rows = [[str(m), str(m - 1)] + [f"{costs[who][m] * 1000:.1f} ms ({ratios[who][m]:.2f}×)"
                                         for who in COST_COLUMNS] for m in sorted(costs["ours"])]
    cost_table = bl.markdown_table(["tokens in the batch (m)", "drafts verified (k = m − 1)",
                                    *(f"{who}: llama_decode (÷ one token)" for who in COST_COLUMNS)], cost_rows)
    ceiling_rows = []
    for acceptance in (1.0, 0.8, 0.5):
        cells = [f"k={k}: {gain:.2f}×" for k, gain in (ceiling(ratios[who], acceptance) for who in COST_COLUMNS)]
        ceiling_rows.append([f"{acceptance:.0%}", *cells])
    ceiling_table = bl.markdown_table(["acceptance", *(f"at most, {who}" for who in COST_COLUMNS)],
                                      ceiling_rows)
    gen.close()
    demo.close()
    load_after = os.getloadavg()
    where = "GPU" if args.n_gpu_layers else f"CPU, {args.threads} threads"
    body = "\n\n".join([
        bl.machine_line(),
        f"EXAONE-4.0-1.2B shape{' (4 layers)' if layers else ''}, random weights, Q4_K_M, {where}, greedy, "
        f"{args.new_tokens} new tokens after a {PROMPT_TOKENS}-token prompt (the demo: up to 120 after its "
        f"chat), median of {rounds} interleaved rounds in one process; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after. `python bench/bench_speculative.py{command_flags(args, p)}`. Kept ÷ checked: "
        "the acceptance "
        "measured (a refused position counts as checked); drafted and kept: per reply.",
        table,
        f"Batched against one-token logits along the greedy continuation ({agreement['positions']} positions, runs "
        f"of {FIXED_K + 1}): largest difference {agreement['diff']:.1%} of the largest logit; median margin between "
        f"the top two logits {agreement['margin']:.1%} of it; the batch changes the argmax at {agreement['flips']} "
        "positions. The scripted drafts are therefore verification's own (see the script's doc).",
        f"Cost of one batch of m tokens at depth {DEPTH}, ours and raw llama-cpp-python's (its `Llama` defaults, "
        "same file), interleaved call by call; verification needs the logits at each token:", cost_table,
        "What drafting could give at best under each of these cost curves (expected tokens per verification, "
        "kept prefix + 1, over the batch's cost; no other cost counted), for the best draft length k:",
        ceiling_table])
    print(body)
    if not (args.no_readme or args.quick):
        bl.write_section("bench_speculative", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
