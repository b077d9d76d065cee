"""Benchmark: generation speed of our LocalGenerator vs raw llama-cpp-python vs transformers (CPU).

    python bench/bench_generate.py [--quick] [--threads N] [--rounds N] [--no-readme]

For each real shape (EXAONE-3.5-2.4B, EXAONE-4.0-1.2B) a random-weight checkpoint is converted
to bf16 GGUF and quantized to Q4_K_M with ``exaone-convert``. Competitors, each in its own process
(so peak RSS is per competitor), alternating, same file, same threads, same context size:

- ``ours``: ``exaone_desktop.engine.llama.local.LocalGenerator.generate`` (greedy, a plain-text prompt);
- ``raw``: ``llama_cpp.Llama.create_completion`` with ``temperature=0`` (``reset()`` before each call,
  so its prompt cache never skips the prompt);
- ``transformers``: the bf16 HF checkpoint on CPU with ``generate`` (greedy).

Every competitor is timed the same way from outside: ``T(1)`` is the wall time of a request for
one new token (tokenize + prefill + first token = time to first token) and ``T(N+1)`` the time of a
request for N+1; decode speed is ``N / (T(N+1) - min T(1))``, prefill speed ``prompt tokens / T(1)``.
The roofline is the Q4_K_M tensor bytes (all read once per token) over the machine's copy bandwidth.
``--quick`` uses 4-layer models, one round, and leaves the README alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

SHAPES = ("exaone-3.5-2.4b", "exaone-4.0-1.2b")
N_CTX = 2048
PROMPT_TOKENS = 64
NEW_TOKENS = 32
PROMPT_WORDS = ("Please write a short story about a small robot who learns to paint the sea at night, "
                "and explain why the colours change when the moon rises over the quiet harbour town. ").split()


# ---------------------------------------------------------------------------------------------
# Workers (run in child processes; each writes one JSON result)


def time_requests(request: Callable[[int], int], new_tokens: int, reps: int) -> dict[str, list[float]]:
    """T(1) and T(N+1) per repetition; ``request(k)`` generates up to k tokens and returns how many.
    ``decode_tps`` here pairs each rep's two requests; the report uses ``decode_rates`` (robust)."""
    request(1)  # warm-up: first-call allocations, page faults of the weights
    request(new_tokens + 1)
    out: dict[str, list[float]] = {"ttft_s": [], "decode_tps": [], "generated": []}
    for _ in range(reps):
        t0 = time.perf_counter()
        request(1)
        t1 = time.perf_counter()
        n = request(new_tokens + 1)
        t2 = time.perf_counter()
        out["ttft_s"].append(t1 - t0)
        out["decode_tps"].append((n - 1) / ((t2 - t1) - (t1 - t0)))
        out["generated"].append(float(n))
        out.setdefault("t_long_s", []).append(t2 - t1)
    return out


def decode_rates(run: dict[str, Any]) -> list[float]:
    """Decode tok/s per rep: (n - 1) / (T(N+1) - the process's fastest T(1)); one slow T(1) (a load
    spike on a shared machine) cannot make a rate negative this way."""
    t1 = min(run["ttft_s"])
    longs = run.get("t_long_s") or [ttft + (n - 1) / tps for ttft, n, tps in
                                     zip(run["ttft_s"], run["generated"], run["decode_tps"], strict=True)]
    return [(n - 1) / (t - t1) for t, n in zip(longs, run["generated"], strict=True)]


def worker_ours(args: argparse.Namespace) -> dict[str, Any]:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(args.model, n_ctx=N_CTX, n_threads=args.threads, n_gpu_layers=0)
    base = gen.default_settings(do_sample=False, max_new_tokens=1)
    n_prompt = len(gen.tokenize_prompt(args.prompt, base)[1])

    def request(k: int) -> int:
        res = gen.generate(args.prompt, base.replace(max_new_tokens=k))
        return len(res.generated[0].token_ids)

    return {"n_prompt": n_prompt, **time_requests(request, args.new_tokens, args.reps)}


def worker_raw(args: argparse.Namespace) -> dict[str, Any]:
    import llama_cpp

    llm = llama_cpp.Llama(args.model, n_ctx=N_CTX, n_threads=args.threads, n_threads_batch=args.threads,
                          n_gpu_layers=0, verbose=False)
    n_prompt = len(llm.tokenize(args.prompt.encode(), add_bos=True, special=True))

    def request(k: int) -> int:
        llm.reset()
        out = llm.create_completion(args.prompt, max_tokens=k, temperature=0.0)
        assert isinstance(out, dict)  # not streamed
        return int(out["usage"]["completion_tokens"])

    return {"n_prompt": n_prompt, **time_requests(request, args.new_tokens, args.reps)}


def load_transformers(ckpt: Path) -> tuple[Any, Any]:
    """bf16 model (transformers' own implementation of every EXAONE family) + tokenizer.json as is."""
    import torch
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast.from_pretrained(str(ckpt))
    model = AutoModelForCausalLM.from_pretrained(str(ckpt), dtype=torch.bfloat16)
    return model.eval(), tok


def worker_transformers(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    model, tok = load_transformers(Path(args.ckpt))
    ids = tok(args.prompt, return_tensors="pt").input_ids

    @torch.inference_mode()
    def request(k: int) -> int:
        out = model.generate(ids, max_new_tokens=k, do_sample=False, pad_token_id=0)
        return int(out.shape[1] - ids.shape[1])

    return {"n_prompt": int(ids.shape[1]), **time_requests(request, args.new_tokens, args.reps)}


def worker_bandwidth(args: argparse.Namespace) -> dict[str, Any]:
    """Best of 7 over a 1 GiB array split across ``threads`` threads: a copy (bytes read + written per
    second) and read-only passes, a float32 sum and a uint64 max (bytes read per second; decoding only
    reads the weights)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    n = (1 << 30) // 4
    src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
    step = -(-n // args.threads)
    bounds = [(i, min(i + step, n)) for i in range(0, n, step)]

    def best_of(fn: Callable[[tuple[int, int]], object]) -> float:
        best = float("inf")
        with ThreadPoolExecutor(args.threads) as pool:
            for _ in range(7):
                t0 = time.perf_counter()
                list(pool.map(fn, bounds))
                best = min(best, time.perf_counter() - t0)
        return best

    copy_s = best_of(lambda b: np.copyto(dst[b[0]:b[1]], src[b[0]:b[1]]))
    read_s = min(best_of(lambda b: src[b[0]:b[1]].sum()),
                 best_of(lambda b: src[b[0]:b[1]].view(np.uint64).max()))
    return {"copy_gbps": 2 * src.nbytes / copy_s / 1e9, "read_gbps": src.nbytes / read_s / 1e9}


WORKERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "ours": worker_ours, "raw": worker_raw, "transformers": worker_transformers, "bandwidth": worker_bandwidth,
}
LABELS = {"ours": "LocalGenerator (ours)", "raw": "raw llama-cpp-python", "transformers": "transformers bf16"}


# ---------------------------------------------------------------------------------------------
# Driver


def run_worker(kind: str, result: Path, *, model: Path | None = None, ckpt: Path | None = None, prompt: str = "",
               threads: int, reps: int, new_tokens: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--worker", kind, "--result", str(result), "--threads", str(threads),
            "--reps", str(reps), "--new-tokens", str(new_tokens), "--prompt", prompt]
    if model is not None:
        argv += ["--model", str(model)]
    if ckpt is not None:
        argv += ["--ckpt", str(ckpt)]
    log = result.with_suffix(".log")
    run = bl.check_ok(bl.run_child(argv, log=log), f"worker {kind}", log)
    data: dict[str, Any] = json.loads(result.read_text())
    data["max_rss_mb"] = run.max_rss_mb
    result.write_text(json.dumps(data))  # kept for --from-results
    return data


def ensure_models(shape: str, layers: int | None, threads: int) -> tuple[Path, Path]:
    """(HF checkpoint, Q4_K_M GGUF), made when missing."""
    suffix = f"-L{layers}" if layers else ""
    ckpt = bl.OUT_DIR / "ckpt" / f"{shape}{suffix}"
    if not (ckpt / "model.safetensors.index.json").is_file():
        cmd = [sys.executable, str(bl.BENCH_DIR / "make_random_checkpoint.py"), shape, str(ckpt)]
        subprocess.run(cmd + (["--layers", str(layers)] if layers else []), check=True)
    gguf = bl.OUT_DIR / f"{shape}{suffix}-Q4_K_M.gguf"
    if not gguf.is_file():
        subprocess.run([sys.executable, "-m", "exaone_convert.cli", str(ckpt), "--outtype", "q4_k_m",
                        "--outfile", str(gguf), "--threads", str(threads), "--quiet"], check=True)
    return ckpt, gguf


def make_prompt(ckpt: Path, n_tokens: int) -> str:
    """English text of about ``n_tokens`` tokens under the checkpoint's tokenizer."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    words: list[str] = []
    while len(tok.encode(" ".join(words), add_special_tokens=False).ids) < n_tokens:
        words.append(PROMPT_WORDS[len(words) % len(PROMPT_WORDS)])
    return " ".join(words)


def gguf_tensor_bytes(path: Path) -> int:
    """Tensor data bytes of a GGUF, measured in a child so this process stays small (see run_child)."""
    code = ("import sys, gguf; r = gguf.GGUFReader(sys.argv[1]); "
            "print(sum(int(t.n_bytes) for t in r.tensors))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def saved_results(shape: str, args: argparse.Namespace) -> dict[str, Any]:
    """The worker results a previous full run left in bench/out (``--from-results``)."""
    res: dict[str, list[dict[str, Any]]] = {k: [] for k in LABELS}
    for kind in ("ours", "raw"):
        for r in range(args.rounds):
            res[kind].append(json.loads((bl.OUT_DIR / f"gen-{shape}-{kind}-{r}.json").read_text()))
    hf = bl.OUT_DIR / f"gen-{shape}-transformers.json"
    if hf.is_file() and not args.skip_transformers:
        res["transformers"].append(json.loads(hf.read_text()))
    gguf = bl.OUT_DIR / f"{shape}-Q4_K_M.gguf"
    return {"results": res, "gguf_bytes": gguf_tensor_bytes(gguf), "gguf": gguf}


def bench_shape(shape: str, args: argparse.Namespace, layers: int | None) -> dict[str, Any]:
    if args.from_results:
        return saved_results(shape, args)
    ckpt, gguf = ensure_models(shape, layers, args.threads)
    prompt = make_prompt(ckpt, PROMPT_TOKENS)
    res: dict[str, list[dict[str, Any]]] = {k: [] for k in LABELS}
    common = {"prompt": prompt, "threads": args.threads, "new_tokens": NEW_TOKENS}
    for r in range(args.rounds):
        order = ["ours", "raw"] if r % 2 == 0 else ["raw", "ours"]
        for kind in order:
            out = run_worker(kind, bl.OUT_DIR / f"gen-{shape}-{kind}-{r}.json", model=gguf, reps=args.reps, **common)
            res[kind].append(out)
            print(f"  {shape} round {r + 1} {kind}: decode {out['decode_tps']} tok/s, ttft {out['ttft_s']} s, "
                  f"{out['max_rss_mb']:.0f} MB", flush=True)
    if not args.skip_transformers:
        out = run_worker("transformers", bl.OUT_DIR / f"gen-{shape}-transformers.json", ckpt=ckpt, reps=1, **common)
        res["transformers"].append(out)
        print(f"  {shape} transformers: decode {out['decode_tps']} tok/s, ttft {out['ttft_s']} s, "
              f"{out['max_rss_mb']:.0f} MB", flush=True)
    return {"results": res, "gguf_bytes": gguf_tensor_bytes(gguf), "gguf": gguf}


def summarize(runs: list[dict[str, Any]]) -> dict[str, float]:
    def flat(key: str) -> list[float]:
        return [v for r in runs for v in r[key]]

    ttft = bl.median(flat("ttft_s"))
    return {"decode": bl.median([v for r in runs for v in decode_rates(r)]), "ttft": ttft,
            "prefill": runs[0]["n_prompt"] / ttft,
            "rss": max(r["max_rss_mb"] for r in runs), "n_prompt": runs[0]["n_prompt"],
            "generated": min(flat("generated"))}


def report(per_shape: dict[str, dict[str, Any]], bandwidth: float, threads: int) -> str:
    rows = []
    for shape, data in per_shape.items():
        roof = bandwidth * 1e9 / data["gguf_bytes"]
        s = {k: summarize(v) for k, v in data["results"].items() if v}
        ours = s["ours"]
        for kind, v in s.items():
            rel = "1.00×" if kind == "ours" else f"ours {ours['decode'] / v['decode']:.2f}×"
            rows.append([shape if kind == "ours" else "", LABELS[kind], f"{v['decode']:.2f}", f"{v['prefill']:.1f}",
                         f"{v['ttft'] * 1000:.0f} ms", f"{v['rss']:.0f} MB", rel,
                         f"{v['decode'] / roof:.0%}" if kind != "transformers" else "—"])
        rows.append(["", f"roofline (Q4_K_M, {data['gguf_bytes'] / 1e9:.2f} GB/token)", f"{roof:.2f}", "", "", "",
                     "", "100%"])
    header = ["shape", "generator", "decode tok/s", "prefill tok/s", "time to first token", "peak RSS",
              "ours ÷ this (decode)", "of roofline"]
    return bl.markdown_table(header, rows)


def ratio_lines(per_shape: dict[str, dict[str, Any]]) -> str:
    lines = []
    for shape, data in per_shape.items():
        s = {k: summarize(v) for k, v in data["results"].items() if v}
        o, r = s["ours"], s["raw"]
        line = (f"- {shape}: ours ÷ raw llama-cpp-python = {o['decode'] / r['decode']:.3f} (decode), "
                f"{o['prefill'] / r['prefill']:.3f} (prefill)")
        if "transformers" in s:
            t = s["transformers"]
            line += (f"; ours ÷ transformers = {o['decode'] / t['decode']:.1f}× (decode), "
                     f"{o['prefill'] / t['prefill']:.1f}× (prefill), peak RSS {o['rss'] / t['rss']:.2f}×")
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4-layer models, one round, README untouched")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="alternating ours/raw process pairs per shape")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions inside each process")
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    p.add_argument("--skip-transformers", action="store_true")
    p.add_argument("--no-readme", action="store_true", help="print only")
    p.add_argument("--from-results", action="store_true",
                   help="re-measure bandwidth only and rebuild the table from the last run's saved results")
    # worker mode (internal)
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--ckpt", help=argparse.SUPPRESS)
    p.add_argument("--prompt", default="", help=argparse.SUPPRESS)
    p.add_argument("--new-tokens", type=int, default=NEW_TOKENS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        args.result.write_text(json.dumps(WORKERS[args.worker](args)))
        return 0

    layers = 4 if args.quick else None
    if args.quick:
        args.rounds = 1
    bl.OUT_DIR.mkdir(parents=True, exist_ok=True)
    bw = run_worker("bandwidth", bl.OUT_DIR / "gen-bandwidth.json", threads=args.threads, reps=1, new_tokens=0)
    bandwidth = max(bw["copy_gbps"], bw["read_gbps"])
    print(f"bandwidth ({args.threads} threads): copy {bw['copy_gbps']:.1f} GB/s (read + write), "
          f"read {bw['read_gbps']:.1f} GB/s", flush=True)
    per_shape = {shape: bench_shape(shape, args, layers) for shape in args.shapes}
    tab = report(per_shape, bandwidth, args.threads)
    ratios = ratio_lines(per_shape)
    print(tab)
    print(ratios)
    if args.quick or args.no_readme:
        return 0
    n_prompt = summarize(next(iter(per_shape.values()))["results"]["ours"])["n_prompt"]
    body = "\n\n".join([
        bl.machine_line(),
        f"Random-weight checkpoints of the real shapes (`make_random_checkpoint.py`), converted and quantized "
        f"to Q4_K_M with `exaone-convert`; {args.threads} threads, context {N_CTX}, a {n_prompt:.0f}-token "
        f"plain-text prompt, greedy decoding, {NEW_TOKENS} new tokens. Each generator runs in its own process "
        f"(ours and raw alternate, {args.rounds} process pairs × {args.reps} repetitions; transformers once). "
        "Time to first token = wall time of a one-token request (tokenize + prefill + sample); prefill tok/s = "
        f"prompt tokens ÷ that; decode tok/s = {NEW_TOKENS} ÷ (T({NEW_TOKENS + 1} tokens) − the process's "
        "fastest T(1 token)). "
        "Peak RSS is the process's `ru_maxrss` (model load included; llama.cpp maps the GGUF, so its "
        "pages count once touched). transformers runs the bf16 checkpoint (EXAONE 3 through "
        "`tests/reference.py`'s Llama mapping, EXAONE 4 through AutoModelForCausalLM).",
        f"Roofline: every Q4_K_M tensor byte is read once per generated token, at the higher of two numpy "
        f"bandwidths measured with {args.threads} threads on 1 GiB: a copy ({bw['copy_gbps']:.1f} GB/s, bytes "
        f"read + written) and read-only passes ({bw['read_gbps']:.1f} GB/s) -> {bandwidth:.1f} GB/s"
        + (" (re-measured after the timed runs; under load it has read as low as half that)."
           if args.from_results else "."),
        tab,
        ratios,
    ])
    bl.write_section("bench_generate", body)
    print(f"updated {bl.README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
