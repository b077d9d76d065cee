"""Long chats: time to first token per turn, switching back to a kept conversation, KV-cache memory.

Our ``LocalGenerator`` and llama-cpp-python's ``Llama.create_chat_completion`` (which keeps the
common token prefix between calls) run the same multi-turn chat on the same GGUF in one process,
alternating turn by turn, greedy. Time to first token (TTFT) is the wall time of a one-token request
for the turn's prompt (tokenize, template, prefill, first sample); the full reply follows as a
second request. Both histories then take the same assistant text (``reply_text``): a random-weight
model's replies are byte garbage that each side would decode differently (we replace invalid UTF-8 as
transformers does, llama-cpp-python drops it), and the two prompts must stay token for token the same.

    python bench/bench_chat.py --model bench/out/exaone-4.0-1.2b-Q4_K_M.gguf [--turns 12] [--user-tokens 580]
        [--reply-tokens 24] [--switch-tokens 6000] [--threads 2] [--memory-ctx 8192] [--no-write]

Parts: (1) the chat, (2) switching back to a long conversation kept in ``state_cache`` against a
one-message conversation (raw llama-cpp-python re-reads the long one), (3) peak RSS of a process that
loads the model with an 8,192-token context at f16 and at q8_0 (each in its own child process).
"""

from __future__ import annotations

import argparse
import json
import resource
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
        from exaone_desktop.engine.local import LocalGenerator

        self.gen = LocalGenerator(model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
        self.settings = self.gen.default_settings(do_sample=False, repetition_penalty=1.0)

    def count(self, text: str) -> int:
        return len(self.gen.tokenize_prompt(text, self.settings)[1])

    def ask(self, messages: list[dict[str, str]], max_tokens: int, conversation: str) -> tuple[float, str]:
        t = time.perf_counter()
        result = self.gen.generate(messages, self.settings.replace(max_new_tokens=max_tokens),
                                   conversation=conversation)
        return time.perf_counter() - t, result.generated[0].text


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


def chat(args: argparse.Namespace, ours: Ours, raw: Raw) -> tuple[list[list[str]], dict[str, float]]:
    histories: dict[str, list[dict[str, str]]] = {"ours": [{"role": "system", "content": SYSTEM}],
                                                  "raw": [{"role": "system", "content": SYSTEM}]}
    competitors: dict[str, Any] = {"ours": ours, "raw": raw}
    rows = []
    totals = {"ours_ttft": 0.0, "raw_ttft": 0.0, "ours_turn": 0.0, "raw_turn": 0.0}
    for turn in range(args.turns):
        question = user_text(turn, args.user_tokens, ours.count)
        answer = reply_text(turn, args.reply_tokens, ours.count)
        ttft: dict[str, float] = {}
        reused = evaluated = raw_evaluated = 0
        order = ("ours", "raw") if turn % 2 == 0 else ("raw", "ours")
        for name in order:
            history = histories[name]
            history.append({"role": "user", "content": question})
            before = raw.evaluated
            first, _ = competitors[name].ask(history, 1, "chat")
            if name == "ours":
                reused, evaluated = ours.gen.stats.prompt_tokens_reused, ours.gen.stats.prompt_tokens_evaluated
            else:
                raw_evaluated = raw.evaluated - before
            rest, _reply = competitors[name].ask(history, args.reply_tokens, "chat")
            history.append({"role": "assistant", "content": answer})
            ttft[name] = first
            totals[f"{name}_ttft"] += first
            totals[f"{name}_turn"] += first + rest
        n_prompt = len(ours.gen.tokenize_prompt(histories["ours"][:-1], ours.settings)[1])
        rows.append([str(turn + 1), str(n_prompt), f"{ttft['ours']:.2f} s", f"{ttft['raw']:.2f} s",
                     f"{ttft['ours'] / ttft['raw']:.2f}×", f"{reused} / {evaluated}", str(raw_evaluated)])
        print(f"turn {turn + 1}: prompt {n_prompt} tokens, TTFT ours {ttft['ours']:.2f} s ({reused} reused, "
              f"{evaluated} evaluated), raw {ttft['raw']:.2f} s ({raw_evaluated} evaluated)", flush=True)
    return rows, totals


def switch(args: argparse.Namespace, ours: Ours, raw: Raw) -> list[list[str]]:
    """Long conversation A, then B, then a fresh one-message conversation C, then back to A with a question,
    then one more question in A (a turn at the same depth without a switch: what attention at that depth
    costs anyway). Ours also reports the time its generator spent saving and restoring states."""
    long_a = [{"role": "system", "content": SYSTEM},
              {"role": "user", "content": user_text(100, args.switch_tokens, ours.count)}]
    b = [{"role": "system", "content": "다른 대화입니다."},
         {"role": "user", "content": user_text(200, args.user_tokens, ours.count)}]
    next_question = {"role": "user", "content": user_text(300, args.user_tokens // 4, ours.count)}
    one = [{"role": "system", "content": "세 번째 대화입니다."}, next_question]
    reply = {"role": "assistant", "content": reply_text(100, args.reply_tokens, ours.count)}
    back_a = [*long_a, reply, next_question]
    then_a = [*back_a, reply, {"role": "user", "content": user_text(301, args.user_tokens // 4, ours.count)}]
    rows = []
    for name, comp in (("ours", ours), ("raw", raw)):
        comp.ask(long_a, args.reply_tokens, "A")
        comp.ask(b, args.reply_tokens, "B")
        leave = ours.gen.stats.state_switch_seconds if comp is ours else None  # A's state saved
        fresh, _ = comp.ask(one, 1, "C")  # a new one-message chat (ours keeps B's small state first)
        back, _ = comp.ask(back_a, 1, "A")
        restore = ours.gen.stats.state_switch_seconds if comp is ours else None  # C saved, A restored
        stay, _ = comp.ask(then_a, 1, "A")
        rows.append([comp.name, seconds(leave), f"{back:.2f} s", seconds(restore), f"{stay:.2f} s",
                     f"{fresh:.2f} s", f"{back / fresh:.2f}×", f"{back / stay:.2f}×"])
        print(f"switch {name}: leave A {seconds(leave)}, back to A {back:.2f} s (restore {seconds(restore)}), "
              f"next turn in A {stay:.2f} s, one-message {fresh:.2f} s", flush=True)
    return rows


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


SWITCH_HEADER = ["generator", "leaving the long one (save)", "back to the long one", "of which restore",
                 "its next turn, no switch", "one-message", "back ÷ one-message", "back ÷ next turn"]


def memory_child(model: Path, kv: str, threads: int) -> None:
    from exaone_desktop.engine.local import LocalGenerator

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
            f"{args.switch_tokens} --user-tokens {args.user_tokens} --threads {args.threads}`: a conversation of "
            f"about {args.switch_tokens} tokens, another one, a one-message one, then back to the long one "
            "(TTFT of a question about a quarter of a user turn long), then its next turn without a switch.",
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
        f"{args.user_tokens} --reply-tokens {args.reply_tokens} --switch-tokens {args.switch_tokens} "
        f"--threads {args.threads}`: a {args.turns}-turn chat (user turns of about {args.user_tokens} tokens, "
        f"greedy replies of {args.reply_tokens}), ours and `create_chat_completion` alternating turn by turn "
        f"in one process, context {N_CTX}. TTFT = a one-token request for the turn's prompt.",
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
