"""What our generator adds on top of llama.cpp, measured in one process with the two interleaved.

Process-level runs on a shared 2-core machine swing by several percent between processes; here our
``LocalGenerator`` and a raw ``llama_cpp.Llama`` on the same GGUF alternate request by request in one
process, so both see the same machine state. Greedy, a 64-token prompt, N new tokens.

    python bench/bench_overhead.py [--model PATH.gguf] [--pairs 8] [--new-tokens 64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR, machine_line, markdown_table, write_section  # noqa: E402

PROMPT = "The history of the Korean alphabet begins in 1443, when King Sejong " * 5


def measure(model: Path, args: argparse.Namespace) -> list[str]:
    import llama_cpp
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.engine.settings import GenerationSettings

    ours = LocalGenerator(model, n_ctx=2048, n_threads=args.threads)
    raw = llama_cpp.Llama(str(model), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads,
                          n_gpu_layers=0, verbose=False)
    settings = GenerationSettings(max_new_tokens=args.new_tokens)

    def run_ours(n: int) -> tuple[float, int]:
        t = time.perf_counter()
        result = ours.generate(PROMPT, settings.replace(max_new_tokens=n))
        return time.perf_counter() - t, len(result.generated[0].token_ids)

    def run_raw(n: int) -> tuple[float, int]:
        raw.reset()
        t = time.perf_counter()
        out = raw.create_completion(PROMPT, max_tokens=n, temperature=0.0)
        return time.perf_counter() - t, int(out["usage"]["completion_tokens"])

    run_ours(2), run_raw(2)  # warm-up
    first: dict[str, list[float]] = {"ours": [], "raw": []}
    per_token: dict[str, list[float]] = {"ours": [], "raw": []}
    for i in range(args.pairs):
        order = (("ours", run_ours), ("raw", run_raw)) if i % 2 == 0 else (("raw", run_raw), ("ours", run_ours))
        for name, fn in order:
            t_one, _ = fn(1)
            t_all, n = fn(args.new_tokens + 1)
            first[name].append(t_one)
            if n > 1:  # a random model may stop early at an end-of-turn token
                per_token[name].append((t_all - t_one) / (n - 1))
    ttft = {name: statistics.median(first[name]) for name in first}
    decode = {name: 1.0 / statistics.median(per_token[name]) for name in per_token}
    return [model.name, f"{ttft['ours'] * 1000:.0f} ms", f"{ttft['raw'] * 1000:.0f} ms",
            f"{ttft['raw'] / ttft['ours']:.3f}", f"{decode['ours']:.2f}", f"{decode['raw']:.2f}",
            f"{decode['ours'] / decode['raw']:.3f}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, action="append",
                   help="GGUF(s) to measure (default: the Q4_K_M files bench_generate.py made)")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    models = args.model or sorted(OUT_DIR.glob("exaone-*-Q4_K_M.gguf"))
    models = [m for m in models if "-L4-" not in m.name]
    if not models:
        raise SystemExit("no model: run bench/bench_generate.py first or pass --model")
    rows = [measure(model, args) for model in models]
    table = markdown_table(["model", "ours: first token", "raw: first token", "prefill ratio (ours ÷ raw speed)",
                            "ours: decode tok/s", "raw: decode tok/s", "decode ratio"], rows)
    body = (f"{machine_line()}\n\nOur `LocalGenerator` and raw llama-cpp-python on the same file, interleaved "
            f"request by request in one process ({args.pairs} pairs, medians; greedy, {args.threads} threads, "
            f"a {len(PROMPT.split())}-word prompt, {args.new_tokens} new tokens). First token = a one-token request "
            "(tokenize, prefill, sample); decode = 1 ÷ the per-token time, (time of N+1 tokens − time of 1) ÷ the "
            "tokens after the first.\n\n" + table)
    print(body)
    write_section("bench_overhead", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
