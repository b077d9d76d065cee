"""exaone-serve under load: single-client decode against the generator itself, then 1, 2 and 4 clients at once.

The server is a child process (``exaone-serve``, as users run it); the direct figures come from a
``LocalGenerator`` on the same GGUF in this process (what ``exaone-generate`` runs in its worker process,
without the pipe: the stricter baseline). They alternate
(direct, server, direct, ...) so both see the same machine state. Decode tok/s is measured the same way on
both sides: (time of an N+1-token request - time of a 1-token request) / (tokens - 1), greedy, one plain
prompt. Under load, each client streams its request (``stream: true``) and notes when its first text
arrives (time to first token); aggregate tok/s is all clients' completion tokens / the round's wall time.
The load rounds run twice: against ``exaone-serve --parallel 1`` (one request at a time) and
``--parallel 4`` (up to four sequences decoded in one batch per step).

``--baseline-serve PATH`` compares two servers instead (e.g. another checkout's ``exaone-serve``, before a
change): single-client decode and first token of this checkout's server and that one, alternating with the
direct generator, into the README's ``bench_server_vs`` section.

    python bench/bench_server.py [--model PATH.gguf] [--threads 2] [--pairs 5] [--new-tokens 64] [--rounds 2]
    python bench/bench_server.py --baseline-serve ../main/.venv/bin/exaone-serve [--pairs 7]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR, machine_line, markdown_table, write_section  # noqa: E402

PROMPT = "The history of the Korean alphabet begins in 1443, when King Sejong " * 5
QUESTIONS = ("Tell me about Seoul.", "한국의 수도는 어디인가요?", "Write a short poem about rain.",
             "What is a GGUF file?")
DEFAULT_MODEL = OUT_DIR / "exaone-4.0-1.2b-Q4_K_M.gguf"
SERVE = Path(sys.executable).with_name("exaone-serve")


def start_server(model: Path, threads: int, n_ctx: int, parallel: int, serve: Path = SERVE
                 ) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([str(serve), "--model", str(model), "--port", "0", "--threads", str(threads),
                             "--n-ctx", str(n_ctx), "--parallel", str(parallel)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        match = re.search(r" at (http://\S+)/v1 ", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, match.group(1)
    raise SystemExit(f"exaone-serve did not start (exit {proc.wait()})")


def direct_runner(model: Path, threads: int, n_ctx: int) -> Any:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(model, n_ctx=n_ctx, n_threads=threads)

    def run(n: int) -> tuple[float, int]:
        settings = gen.default_settings(max_new_tokens=n, do_sample=False)
        t = time.perf_counter()
        result = gen.generate(PROMPT, settings)
        return time.perf_counter() - t, len(result.generated[0].token_ids)

    return run


def server_runner(client: Any, model_id: str) -> Any:
    def run(n: int) -> tuple[float, int]:
        t = time.perf_counter()
        r = client.completions.create(model=model_id, prompt=PROMPT, max_tokens=n, temperature=0)
        return time.perf_counter() - t, int(r.usage.completion_tokens)

    return run


def single_client(direct: Any, served: Any, pairs: int, new_tokens: int) -> dict[str, float]:
    direct(2), served(2)  # warm-up
    per_token: dict[str, list[float]] = {"direct": [], "server": []}
    first: dict[str, list[float]] = {"direct": [], "server": []}
    for i in range(pairs):
        order = (("direct", direct), ("server", served)) if i % 2 == 0 else (("server", served), ("direct", direct))
        for name, fn in order:
            t_one, _ = fn(1)
            t_all, n = fn(new_tokens + 1)
            first[name].append(t_one)
            if n > 1:  # a random-weight model may stop early at an end-of-turn token
                per_token[name].append((t_all - t_one) / (n - 1))
    return {f"{name}_decode": 1.0 / statistics.median(v) for name, v in per_token.items()} | \
        {f"{name}_ttft": statistics.median(v) for name, v in first.items()}


def versus(args: argparse.Namespace) -> None:
    """Single client: this checkout's exaone-serve against ``--baseline-serve``, each alternating with direct."""
    import openai

    runs: dict[str, dict[str, list[float]]] = {"this": {}, "baseline": {}}
    servers = [start_server(args.model, args.threads, args.n_ctx, 1),
               start_server(args.model, args.threads, args.n_ctx, 1, args.baseline_serve)]
    try:
        runners = []
        for _, url in servers:
            client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=1800)
            runners.append(server_runner(client, client.models.list().data[0].id))
        direct = direct_runner(args.model, args.threads, args.n_ctx)
        for r in range(args.rounds):  # one pair each per round, the order swapped every round
            order = [("this", runners[0]), ("baseline", runners[1])]
            for name, served in order if r % 2 == 0 else order[::-1]:
                for key, value in single_client(direct, served, 1, args.new_tokens).items():
                    runs[name].setdefault(key, []).append(value)
            print(f"round {r + 1}: " + ", ".join(f"{n} {statistics.median(v['server_decode']):.2f} tok/s"
                                                  for n, v in runs.items()), flush=True)
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(30)
    med = {n: {k: statistics.median(v) for k, v in run.items()} for n, run in runs.items()}
    rows = [[label, f"{med[n]['server_decode']:.2f}", f"{med[n]['server_ttft'] * 1000:.0f} ms",
             f"{med[n]['server_decode'] / med[n]['direct_decode']:.3f}",
             f"{med[n]['server_decode'] / med['baseline']['server_decode']:.3f}"]
            for n, label in (("baseline", f"baseline ({args.baseline_serve})"), ("this", "this checkout"))]
    body = "\n\n".join([
        machine_line(),
        f"`python bench/bench_server.py --model {args.model.name} --threads {args.threads} --new-tokens "
        f"{args.new_tokens} --rounds {args.rounds} --baseline-serve {args.baseline_serve}`. Greedy, one client, "
        "/v1/completions over HTTP; both servers run at once and take turns, each turn also timing the direct "
        "generator (decode and first token as above, medians over the rounds).",
        markdown_table(["exaone-serve", "decode tok/s", "first token", "server ÷ direct", "vs baseline"], rows),
    ])
    print(body)
    if not args.no_write:
        write_section("bench_server_vs", body)


def load_round(client: Any, model_id: str, clients: int, new_tokens: int) -> tuple[float, list[float]]:
    """(aggregate completion tok/s, each client's time to first text) with ``clients`` streaming at once."""
    tokens = [0] * clients
    ttft = [0.0] * clients
    start = time.perf_counter()

    def one(i: int) -> None:
        stream = client.chat.completions.create(
            model=model_id, messages=[{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], temperature=0,
            max_tokens=new_tokens, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if not ttft[i] and any(c.delta.content or getattr(c.delta, "reasoning_content", None)
                                   for c in chunk.choices):
                ttft[i] = time.perf_counter() - start
            if chunk.usage is not None:
                tokens[i] = chunk.usage.completion_tokens

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return sum(tokens) / wall, ttft


def step_costs(model: Path, threads: int, n_ctx: int, repeats: int) -> dict[int, float]:
    """Median seconds of one decode step for a batch of 1, 2 and 4 sequences (interleaved), in one
    BatchGenerator context: what batching costs per step, free of HTTP and of the other clients' timing."""
    from exaone_desktop.engine.llama.batch import BatchGenerator
    from exaone_desktop.engine.llama.local import LocalGenerator

    prompts = LocalGenerator(model, n_ctx=64, n_threads=threads)
    batch = BatchGenerator(prompts, n_seq=4, n_ctx=n_ctx, n_threads=threads)
    times: dict[int, list[float]] = {1: [], 2: [], 4: []}
    try:
        for seq in range(4):  # a short prompt in each sequence
            batch._fill([(1 + i, i, seq, i == 7) for i in range(8)])
            batch._decode()
        pos = 8
        for _ in range(repeats):
            for k in (1, 2, 4):
                batch._fill([(100 + s, pos, s, True) for s in range(k)])
                t = time.perf_counter()
                batch._decode()
                times[k].append(time.perf_counter() - t)
                for s in range(k, 4):  # keep every sequence at the same length
                    batch._fill([(100 + s, pos, s, True)])
                    batch._decode()
                pos += 1
    finally:
        batch.close()
        prompts.close()
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-write", action="store_true", help="print the table, leave bench/README.md alone")
    p.add_argument("--steps-only", action="store_true", help="only the decode-step cost of 1, 2 and 4 sequences")
    p.add_argument("--step-repeats", type=int, default=20)
    p.add_argument("--baseline-serve", type=Path, metavar="PATH",
                   help="another exaone-serve (e.g. before a change): compare single-client figures only")
    args = p.parse_args()
    if not args.model.is_file():
        raise SystemExit(f"{args.model} not found: make it with bench/bench_generate.py (or pass --model)")
    if args.baseline_serve is not None:
        versus(args)
        return
    steps = step_costs(args.model, args.threads, args.n_ctx, args.step_repeats)
    step_rows = [[str(k), f"{steps[k] * 1000:.1f} ms", f"{steps[k] / steps[1]:.2f}×", f"{k * steps[1] / steps[k]:.2f}×"]
                 for k in (1, 2, 4)]
    step_table = markdown_table(["sequences in the batch", "one decode step", "step time vs 1",
                                 "tokens/s vs 1 sequence"], step_rows)
    print(step_table, flush=True)
    if args.steps_only:
        return
    import openai

    load: dict[int, dict[int, tuple[list[float], list[float]]]] = {}
    single: dict[str, float] = {}
    for parallel in (1, 4):
        proc, url = start_server(args.model, args.threads, args.n_ctx, parallel)
        try:
            client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=1800)
            model_id = client.models.list().data[0].id
            if parallel == 1:
                single = single_client(direct_runner(args.model, args.threads, args.n_ctx),
                                       server_runner(client, model_id), args.pairs, args.new_tokens)
            load[parallel] = {}
            for clients in (1, 2, 4):
                rates, firsts = [], []
                for _ in range(args.rounds):
                    rate, ttft = load_round(client, model_id, clients, args.new_tokens)
                    rates.append(rate)
                    firsts += ttft
                load[parallel][clients] = (rates, firsts)
                print(f"--parallel {parallel}, {clients} clients: {statistics.median(rates):.2f} tok/s", flush=True)
        finally:
            proc.terminate()
            proc.wait(30)

    ratio = single["server_decode"] / single["direct_decode"]
    rows1 = [["LocalGenerator in process (exaone-generate runs it in its worker)", f"{single['direct_decode']:.2f}",
              f"{single['direct_ttft'] * 1000:.0f} ms", "1.000"],
             ["exaone-serve, /v1/completions over HTTP", f"{single['server_decode']:.2f}",
              f"{single['server_ttft'] * 1000:.0f} ms", f"{ratio:.3f}"]]
    base = statistics.median(load[1][1][0])
    rows2 = [[f"--parallel {p}", str(c), f"{statistics.median(r):.2f}", f"{statistics.median(r) / base:.2f}×",
              f"{statistics.median(f) * 1000:.0f} ms", f"{max(f) * 1000:.0f} ms"]
             for p, by_clients in load.items() for c, (r, f) in by_clients.items()]
    body = "\n\n".join([
        machine_line(),
        f"`python bench/bench_server.py --model {args.model.name} --threads {args.threads} --pairs {args.pairs} "
        f"--new-tokens {args.new_tokens} --rounds {args.rounds}`. Greedy; the server is an `exaone-serve` child "
        "process, the client the `openai` package. Single client: direct and server requests alternate; decode "
        "= 1 ÷ median per-token time ((T(N+1) − T(1)) ÷ (tokens − 1)); first token = median T(1).",
        markdown_table(["single client", "decode tok/s", "first token", "server ÷ direct"], rows1),
        "Concurrent streaming clients (chat, a different question each; the aggregate counts every client's "
        "completion tokens over the round's wall time; first token is from the round's start):",
        markdown_table(["server", "clients", "aggregate tok/s", "vs 1 client, --parallel 1", "median first token",
                        "worst first token"], rows2),
        f"One decode step of the `--parallel 4` context (`llama_decode` alone, median of {args.step_repeats}, "
        "batch sizes interleaved):",
        step_table,
        "With `--parallel 1` requests queue (round-robin over clients): the aggregate stays at one client's rate "
        "and first tokens grow with the queue ahead. With `--parallel 4` the clients' sequences share each "
        "decode step (one `llama_decode` over a batch of up to four tokens in an `n_seq_max = 4` context).",
    ])
    print(body)
    (OUT_DIR / "bench_server.json").parent.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "bench_server.json").write_text(json.dumps({"single": single, "load": load}, indent=1))
    if not args.no_write:
        write_section("bench_server", body)


if __name__ == "__main__":
    main()
