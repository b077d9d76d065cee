"""Long chats: time to first token per turn, switching back to a kept conversation, KV-cache memory.

Our ``LocalGenerator`` and llama-cpp-python's ``Llama.create_chat_completion`` (which keeps the
common token prefix between calls) run the same multi-turn chat on the same GGUF in one process,
alternating turn by turn, greedy. Time to first token (TTFT) is the wall time of a one-token request
for the turn's prompt (tokenize, template, prefill, first sample); the full reply follows as a
second request. Both histories then take the same assistant text (``reply_text``): a random-weight
model's replies are byte garbage that each side would decode differently (we replace invalid UTF-8 as
transformers does, llama-cpp-python drops it), and the two prompts must stay token for token the same.

    python bench/bench_chat.py --model bench/out/exaone-4.0-1.2b-Q4_K_M.gguf [--turns 12] [--user-tokens 580]
        [--reply-tokens 24] [--rounds 3] [--switch-tokens 6000] [--switch-rounds 3] [--question-tokens 145,40]
        [--threads 2] [--no-switch | --switch-only] [--section NAME] [--no-write]

On a VM the same prefill varies by ±15 % from one request to the next, so ``--rounds`` measures each
turn several times on both sides, alternating, and takes the medians.

Parts: (1) the chat, (2) switching back to a long conversation kept in ``state_cache`` against a
one-message conversation (raw llama-cpp-python re-reads the long one), (3) peak RSS of a process that
loads the model with an 8,192-token context at f16 and at q8_0 (each in its own child process).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR, machine_line, markdown_table, write_section  # noqa: E402

SENTENCES = (
    "서울의 겨울은 춥고 건조하지만 하늘은 맑은 날이 많습니다.",
    "The Han river freezes at its edges in January, and people walk along the parks beside it.",
    "부산은 바다를 끼고 있어서 겨울에도 서울보다 따뜻한 편입니다.",
    "Trains between the two cities take about two and a half hours on the fastest line.",
    "한국어 문장과 English sentences alternate here so that both scripts reach the tokenizer.",
    "Markets open early, and the smell of roasted chestnuts fills the streets near the stations.",
)
SYSTEM = "You are EXAONE, a helpful assistant. 한국어와 영어로 짧게 대답하세요."
N_CTX = 8192


def reply_text(turn: int, n_tokens: int, count: Any) -> str:
    """The assistant's turn as both histories record it: about ``n_tokens`` tokens, different every turn."""
    words = [f"답변 {turn}:"]
    i = turn
    while count(" ".join(words)) < n_tokens:
        words.append(SENTENCES[i % len(SENTENCES)].split()[i % 3])
        i += 1
    return " ".join(words)


def user_text(turn: int, n_tokens: int, count: Any) -> str:
    """A deterministic user message of about ``n_tokens`` tokens (different for every turn)."""
    parts = [f"Question {turn}: 다음 글을 읽고 요약해 주세요."]
    i = turn
    while count(" ".join(parts)) < n_tokens:
        parts.append(SENTENCES[i % len(SENTENCES)] + f" ({turn}.{i})")
        i += 1
    return " ".join(parts)


class Ours:
    name = "LocalGenerator (ours)"

    def __init__(self, model: Path, threads: int) -> None:
        from exaone_desktop.engine.llama.local import LocalGenerator

        self.gen = LocalGenerator(model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
        self.settings = self.gen.default_settings(do_sample=False, repetition_penalty=1.0)

    def count(self, text: str) -> int:
        return len(self.gen.tokenize_prompt(text, self.settings)[1])

    def ask(self, messages: list[dict[str, str]], max_tokens: int, conversation: str) -> tuple[float, str]:
        t = time.perf_counter()
        result = self.gen.generate(messages, self.settings.replace(max_new_tokens=max_tokens),
                                   conversation=conversation)
        return time.perf_counter() - t, result.generated[0].text

    def prime(self, messages: list[dict[str, str]], conversation: str, _ours: Ours) -> None:
        """Put ``messages``, ending with an assistant reply, in the cache as if the model had written the reply
        (a prefill: the cache then holds the reply's tokens, as after a real answer). A random model's own
        reply is byte garbage that would not re-tokenize to the same tokens, so a later turn would evaluate
        it again, which a real chat does not."""
        self.gen.generate(messages, self.settings.replace(max_new_tokens=1), conversation=conversation)


class Raw:
    name = "raw llama-cpp-python create_chat_completion"

    def __init__(self, model: Path, threads: int) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(str(model), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads,
                                   n_gpu_layers=0, verbose=False)
        self.evaluated = 0  # tokens its eval() was given: what the prompt cache did not cover
        evaluate = self.llm.eval

        def counted(tokens: Any) -> None:
            self.evaluated += len(tokens)
            evaluate(tokens)

        self.llm.eval = counted  # type: ignore[method-assign]

    def ask(self, messages: list[dict[str, str]], max_tokens: int, conversation: str) -> tuple[float, str]:
        t = time.perf_counter()
        out: Any = self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0)
        return time.perf_counter() - t, str(out["choices"][0]["message"]["content"] or "")

    def prime(self, messages: list[dict[str, str]], conversation: str, ours: Ours) -> None:
        """As ``Ours.prime``: create_chat_completion has no prefill, so the same rendered text goes through
        create_completion, which keeps the same prompt cache."""
        self.llm.create_completion(ours.gen.render(messages, ours.settings), max_tokens=1, temperature=0.0)


def median(values: list[float]) -> float:
    return statistics.median(values)


def listed(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def chat(args: argparse.Namespace, ours: Ours, raw: Raw) -> tuple[list[list[str]], dict[str, float]]:
    """The chat, turn by turn. With ``--rounds K`` each turn's TTFT is measured K times on each side,
    alternating, and the median counts: round r asks a variant of the previous answer and of the question
    (they differ from their first tokens), so every round evaluates the same new part on both sides. The
    chat then goes on from the last round's messages."""
    base: dict[str, list[dict[str, str]]] = {"ours": [{"role": "system", "content": SYSTEM}],
                                             "raw": [{"role": "system", "content": SYSTEM}]}
    competitors: dict[str, Any] = {"ours": ours, "raw": raw}
    rows = []
    totals = {"ours_ttft": 0.0, "raw_ttft": 0.0, "ours_turn": 0.0, "raw_turn": 0.0}
    for turn in range(args.turns):
        samples: dict[str, list[float]] = {"ours": [], "raw": []}
        reused = evaluated = raw_evaluated = 0
        messages: dict[str, list[dict[str, str]]] = {}
        for r in range(args.rounds):
            variant = turn + 1000 * r
            before_question = [] if turn == 0 else \
                [{"role": "assistant", "content": reply_text(variant - 1, args.reply_tokens, ours.count)}]
            question = {"role": "user", "content": user_text(variant, args.user_tokens, ours.count)}
            for name in (("ours", "raw") if (turn + r) % 2 == 0 else ("raw", "ours")):
                messages[name] = [*base[name], *before_question, question]
                before = raw.evaluated
                first, _ = competitors[name].ask(messages[name], 1, "chat")
                samples[name].append(first)
                if r == 0 and name == "ours":
                    reused, evaluated = ours.gen.stats.prompt_tokens_reused, ours.gen.stats.prompt_tokens_evaluated
                elif r == 0:
                    raw_evaluated = raw.evaluated - before
        ttft = {name: median(values) for name, values in samples.items()}
        for name in ("ours", "raw"):
            rest, _reply = competitors[name].ask(messages[name], args.reply_tokens, "chat")
            base[name] = messages[name]
            totals[f"{name}_ttft"] += ttft[name]
            totals[f"{name}_turn"] += ttft[name] + rest
        n_prompt = len(ours.gen.tokenize_prompt(base["ours"], ours.settings)[1])
        rows.append([str(turn + 1), str(n_prompt), f"{ttft['ours']:.2f} s", f"{ttft['raw']:.2f} s",
                     f"{ttft['ours'] / ttft['raw']:.2f}×", f"{reused} / {evaluated}", str(raw_evaluated)])
        spread = "" if args.rounds == 1 else f" (ours {listed(samples['ours'])}; raw {listed(samples['raw'])})"
        print(f"turn {turn + 1}: prompt {n_prompt} tokens, TTFT ours {ttft['ours']:.2f} s ({reused} reused, "
              f"{evaluated} evaluated), raw {ttft['raw']:.2f} s ({raw_evaluated} evaluated){spread}", flush=True)
    return rows, totals


def switch(args: argparse.Namespace, ours: Ours, raw: Raw) -> list[list[str]]:
    """Long conversation A (its last reply in the cache as the model's own, see ``prime``), then B, then a
    fresh one-message conversation C, then back to A with C's question; ``--switch-rounds`` times for ours
    (medians), once for raw, whose every return re-reads A. Then one more turn in A without a switch: what
    attention at that depth costs anyway. Each question length in ``--question-tokens`` (raw: the first).
    Ours also reports the time its generator spent saving and restoring states."""
    long_a = [{"role": "system", "content": SYSTEM},
              {"role": "user", "content": user_text(100, args.switch_tokens, ours.count)}]
    b = [{"role": "system", "content": "다른 대화입니다."},
         {"role": "user", "content": user_text(200, args.user_tokens, ours.count)}]
    reply = {"role": "assistant", "content": reply_text(100, args.reply_tokens, ours.count)}
    answer = {"role": "assistant", "content": reply_text(101, args.reply_tokens, ours.count)}

    def question(r: int, n_tokens: int) -> dict[str, str]:
        return {"role": "user", "content": user_text(300 + r, n_tokens, ours.count)}

    rows = []
    for name, comp in (("ours", ours), ("raw", raw)):
        comp.prime([*long_a, reply], "A", ours)
        for size in args.question_tokens if comp is ours else args.question_tokens[:1]:
            leave, fresh, back, restore = [], [], [], []
            back_evaluated = fresh_evaluated = 0
            for r in range(args.switch_rounds if comp is ours else 1):
                comp.ask(b, 1, "B")
                leave.append(ours.gen.stats.state_switch_seconds if comp is ours else math.nan)  # A's state saved
                one = [{"role": "system", "content": f"세 번째 대화입니다 ({r})."}, question(r, size)]
                before = raw.evaluated
                fresh.append(comp.ask(one, 1, f"C{size}.{r}")[0])  # a new conversation (ours saves B's first)
                fresh_evaluated = ours.gen.stats.prompt_tokens_evaluated if comp is ours else raw.evaluated - before
                before = raw.evaluated
                back.append(comp.ask([*long_a, reply, question(r, size)], 1, "A")[0])
                back_evaluated = ours.gen.stats.prompt_tokens_evaluated if comp is ours else raw.evaluated - before
                restore.append(ours.gen.stats.state_switch_seconds if comp is ours else math.nan)  # A restored
            last = [*long_a, reply, question(len(back) - 1, size), answer]
            comp.prime(last, "A", ours)
            stay, _ = comp.ask([*last, question(99, size)], 1, "A")
            m_back, m_fresh = median(back), median(fresh)
            rows.append([comp.name, str(size), str(len(back)), seconds(median(leave)), f"{m_back:.2f} s",
                         seconds(median(restore)), f"{back_evaluated} / {fresh_evaluated}", f"{stay:.2f} s",
                         f"{m_fresh:.2f} s", f"{m_back / m_fresh:.2f}×", f"{m_back / stay:.2f}×"])
            print(f"switch {name}, question of {size} tokens: back to A {listed(back)} s ({back_evaluated} "
                  f"evaluated; restore {listed(restore)}), one-message {listed(fresh)} s ({fresh_evaluated} "
                  f"evaluated), next turn in A {stay:.2f} s, leave A {listed(leave)}", flush=True)
    return rows


def seconds(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f} s"


SWITCH_HEADER = ["generator", "question tokens", "rounds", "leaving the long one (save)", "back to the long one",
                 "of which restore", "evaluated: back / one-message", "its next turn, no switch", "one-message",
                 "back ÷ one-message", "back ÷ next turn"]


def memory_child(model: Path, kv: str, threads: int) -> None:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(model, n_ctx=N_CTX, kv_cache_type=kv, n_threads=threads, n_gpu_layers=0)
    gen.generate("서울은 한국의 수도입니다. " * 40, gen.default_settings(max_new_tokens=8))
    print(json.dumps({"rss": peak_rss(), "kv_bytes": gen.kv_cache_bytes}))


def peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM (ru_maxrss keeps the parent's figure across fork and exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def memory(args: argparse.Namespace) -> list[list[str]]:
    rows = []
    for kv in ("f16", "q8_0"):
        out = subprocess.run([sys.executable, __file__, "--model", str(args.model), "--memory-child", kv,
                              "--threads", str(args.threads)], capture_output=True, text=True)
        if out.returncode != 0:  # e.g. a quantized V cache on heads llama.cpp cannot quantize
            why = next((line for line in reversed(out.stderr.splitlines()) if "Error" in line), "failed")
            rows.append([kv, "—", why.split(": ", 1)[-1]])
            print(f"memory {kv}: {rows[-1][-1]}", flush=True)
            continue
        data = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([kv, f"{data['kv_bytes'] / 2**20:.0f} MiB", f"{data['rss'] / 2**20:.0f} MiB"])
        print(f"memory {kv}: KV {data['kv_bytes'] / 2**20:.0f} MiB, peak RSS {data['rss'] / 2**20:.0f} MiB", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=OUT_DIR / "exaone-4.0-1.2b-Q4_K_M.gguf")
    p.add_argument("--turns", type=int, default=12)
    p.add_argument("--user-tokens", type=int, default=580)
    p.add_argument("--reply-tokens", type=int, default=24)
    p.add_argument("--switch-tokens", type=int, default=6000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="TTFT samples per turn and side (the median counts)")
    p.add_argument("--switch-rounds", type=int, default=3, help="returns to the long conversation (ours; medians)")
    p.add_argument("--question-tokens", default="145,40", type=lambda v: [int(x) for x in v.split(",")],
                   help="lengths of the question asked on returning (comma-separated; raw: the first)")
    p.add_argument("--no-write", action="store_true", help="print the tables, leave bench/README.md alone")
    p.add_argument("--no-switch", action="store_true", help="skip part 2 (switching back to a long conversation)")
    p.add_argument("--switch-only", action="store_true", help="run part 2 alone (write it with --section)")
    p.add_argument("--section", default="bench_chat", help="the bench/README.md section to write (one per model)")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        memory_child(args.model, args.memory_child, args.threads)
        return
    memory_rows = [] if args.switch_only else memory(args)  # first, while this process is small
    ours, raw = Ours(args.model, args.threads), Raw(args.model, args.threads)
    ours.ask([{"role": "user", "content": "hi"}], 2, "warm-up")
    raw.ask([{"role": "user", "content": "hi"}], 2, "warm-up")
    if args.switch_only:
        body = "\n".join([
            machine_line(), "",
            f"`python bench/bench_chat.py --model {args.model.name} --switch-only --switch-tokens "
            f"{args.switch_tokens} --threads {args.threads} --switch-rounds {args.switch_rounds} "
            f"--question-tokens {','.join(map(str, args.question_tokens))}`: a conversation of about "
            f"{args.switch_tokens} tokens whose last reply is in the cache as the model's own (see `prime`), "
            "another one, a one-message conversation, then back to the long one with the one-message "
            f"conversation's question, {args.switch_rounds} times for ours (medians; raw re-reads the long one on "
            "every return, once); then the long one's next turn without a switch. Once per question length.",
            "", markdown_table(SWITCH_HEADER, switch(args, ours, raw)),
        ])
        print(body)
        if not args.no_write:
            write_section(args.section, body)
        return
    rows, totals = chat(args, ours, raw)
    switch_rows = [] if args.no_switch else switch(args, ours, raw)
    body = "\n".join([
        machine_line(),
        "",
        f"`python bench/bench_chat.py --model {args.model.name} --turns {args.turns} --user-tokens "
        f"{args.user_tokens} --reply-tokens {args.reply_tokens} --threads {args.threads} --rounds {args.rounds}"
        + (" --no-switch" if args.no_switch else f" --switch-tokens {args.switch_tokens}")
        + f"`: a {args.turns}-turn chat (user turns of about "
        f"{args.user_tokens} tokens, greedy replies of {args.reply_tokens}), ours and `create_chat_completion` "
        f"alternating in one process, context {N_CTX}. TTFT = a one-token request for the turn's prompt"
        + ("." if args.rounds == 1 else
           f", the median of {args.rounds} (each round a variant of the previous answer and the question, so "
           "every round evaluates the same new part on both sides)."),
        "",
        markdown_table(["turn", "prompt tokens", "TTFT ours", "TTFT raw", "ours ÷ raw", "ours: reused / evaluated",
                        "raw: evaluated"], rows),
        "",
        f"Totals: TTFT ours {totals['ours_ttft']:.1f} s, raw {totals['raw_ttft']:.1f} s "
        f"({totals['ours_ttft'] / totals['raw_ttft']:.2f}×); whole turns ours {totals['ours_turn']:.1f} s, "
        f"raw {totals['raw_turn']:.1f} s ({totals['ours_turn'] / totals['raw_turn']:.2f}×).",
        "",
        *([f"Switching back to a conversation of about {args.switch_tokens} tokens after another one, against a "
           "fresh one-message conversation (TTFT):",
           "",
           markdown_table(SWITCH_HEADER, switch_rows),
           ""] if switch_rows else []),
        f"Memory: one process each, {N_CTX}-token context, KV cache type (q8_0 runs with flash attention):",
        "",
        markdown_table(["KV cache", "KV bytes (kv_cache_bytes)", "peak RSS"], memory_rows),
    ])
    print(body)
    if not args.no_write:
        write_section(args.section, body)


if __name__ == "__main__":
    main()
