"""Documents: reading and indexing time, retrieval quality per tokenizer, and the follow-up question's time to
first token with a long document in the conversation.

    python bench/bench_documents.py [--model bench/out/exaone-4.0-1.2b-Q4_K_M.gguf | --layers N]
        [--doc-tokens 20000] [--rounds 3] [--threads 2] [--no-ttft | --ttft-only] [--no-write]

Parts:
1. A 200-page PDF (fpdf2, Korean and English, one fact per page) and a 100-section HWPX of the same kind of
   text (both from ``report_corpus.py``): the time to read each in the bounded child process
   (``extract_document``), the same read in this process, and the time to chunk and index it with BM25 per
   tokenizer.
2. recall@5 over the 200 facts' questions, per tokenizer, for questions worded like the page (particles
   changed) and for terse ones (spacing and particles dropped: "재무팀 전자결재 책임자").
3. Time to first token of a follow-up question in a conversation whose first message carried a document of
   ``--doc-tokens`` tokens (whole, in the prompt cache), against the same follow-up in a conversation without
   it, on the EXAONE-4.0-1.2B shape (a random-weight checkpoint from ``make_random_checkpoint.py``,
   Q4_K_M; made when missing). Medians over ``--rounds``, alternating. The time is what a follow-up costs in
   the app: ``documents.prepare`` (the document put in whole again, its size checked against the context)
   and ``generate`` of one token (the template, tokenizing, the cache's common prefix, the prefill of what
   is new, one draw). ``--layers N`` keeps N of the shape's 30 layers at their real widths: every layer
   has the same weights-to-attention balance, so the ratio of the two conversations holds while the cold
   first turn (20,000 tokens through every layer) costs N/30 of the full model's; ``--ttft-only`` reruns
   this part and keeps the section's reading and retrieval tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR, README, machine_line, markdown_table, write_section  # noqa: E402
from exaone_desktop.engine.documents import (  # noqa: E402
    TOKENIZERS,
    DocumentIndex,
    chunk_document,
    extract_document,
    read_document,
)
from report_corpus import report, report_hwpx, report_pdf  # noqa: E402


def timed(fn: Any, rounds: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def part_reading(rounds: int) -> tuple[list[list[str]], list[list[str]]]:
    texts, facts = report(200)
    pdf = report_pdf(texts)
    hwpx = report_hwpx(report(100, seed=1)[0])
    rows, recall_rows = [], []
    warm = chunk_document(read_document(report_hwpx(["워밍업 warm-up"]), "warm.hwpx"))
    kiwi_start, _ = timed(lambda: DocumentIndex(warm, "kiwi"), 1)  # bm25s's import and Kiwi's model, once
    _fresh_extract(report_hwpx(["워밍업"]), "warm.hwpx")
    for name, data in (("200-page PDF", pdf), ("100-section HWPX", hwpx)):
        filename = "bench.pdf" if name.endswith("PDF") else "bench.hwpx"
        child, document = timed(lambda d=data, f=filename: _fresh_extract(d, f), rounds)
        inproc, _ = timed(lambda d=data, f=filename: read_document(d, f), rounds)
        chunks = chunk_document(document)
        index_times = []
        for tok in sorted(TOKENIZERS):
            seconds, _ = timed(lambda c=chunks, t=tok: DocumentIndex(c, t), rounds)
            index_times.append(f"{tok} {seconds * 1000:.0f} ms")
        rows.append([name, f"{len(data) / 1e6:.1f} MB", f"{child:.2f} s", f"{inproc:.2f} s", str(len(chunks)),
                     ", ".join(index_times)])
    document = read_document(pdf, "bench.pdf")
    for tok in sorted(TOKENIZERS):
        index = DocumentIndex.of(document, tok)
        worded = sum(any(c.unit == f.page for c in index.search(f.question, 5)) for f in facts) / len(facts)
        short = sum(any(c.unit == f.page for c in index.search(f.terse, 5)) for f in facts) / len(facts)
        t0 = time.perf_counter()
        for f in facts:
            index.search(f.question, 5)
        per_query = (time.perf_counter() - t0) / len(facts)
        recall_rows.append([tok, f"{worded:.3f}", f"{short:.3f}", f"{per_query * 1000:.2f} ms"])
    rows.append(["(Kiwi's model and bm25s loading, once per process)", "", "", "", "", f"{kiwi_start:.1f} s"])
    return rows, recall_rows


def _fresh_extract(data: bytes, filename: str) -> Any:
    from exaone_desktop.engine.documents import extract as extract_module

    extract_module._cache.clear()  # time the child's read, not the content-hash cache
    return extract_document(data, filename)


def part_ttft(model: Path, doc_tokens: int, rounds: int, threads: int) -> list[list[str]]:
    """Each conversation has its own generator (the same GGUF loaded twice), so that neither side pays for
    swapping a 20,000-token state in and out of one KV cache between rounds."""
    from exaone_desktop.engine.documents import Document, Unit, document_part
    from exaone_desktop.engine.llama.local import LocalGenerator

    gens = {name: LocalGenerator(model, n_ctx=doc_tokens + 4096, n_threads=threads)
            for name in ("with the document", "without")}
    probe = gens["without"]
    settings = probe.default_settings(max_new_tokens=1, do_sample=False)
    texts, _ = report(600)
    text, pages = "", []
    for i, page in enumerate(texts, start=1):  # pages until the document holds doc_tokens tokens
        pages.append(Unit("page", i, page))
        text += page + "\n\n"
        if len(probe.tokenize_prompt(text, settings)[1]) >= doc_tokens:
            break
    document = Document("long.pdf", "PDF", tuple(pages))
    q1, q2 = "이 보고서를 요약해 주세요.", "부산 지사의 보안 점검은 누가 맡고 있나요?"
    answer = {"role": "assistant", "content": "보고서는 지사별 업무 담당자와 예산을 정리합니다."}
    chats = {
        "with the document": [{"role": "user", "content": [document_part(document), {"type": "text", "text": q1}]},
                              answer, {"role": "user", "content": q2}],
        "without": [{"role": "user", "content": q1}, answer, {"role": "user", "content": q2}],
    }
    prompts = {name: _prepared(chat, gens[name], settings) for name, chat in chats.items()}
    assert "<document" in prompts["with the document"][0]["content"], "the document did not fit whole"
    first: dict[str, float] = {}
    for name in chats:  # the first turn, so that the follow-up finds it cached
        t0 = time.perf_counter()
        gens[name].generate(_prepared(chats[name][:1], gens[name], settings), settings)
        first[name] = time.perf_counter() - t0
    raw = {name: RawFollowUp(model, gens[name], chats[name], settings, threads) for name in chats}
    ttft: dict[str, list[float]] = {k: [] for k in chats}
    raw_ttft: dict[str, list[float]] = {k: [] for k in chats}
    evaluated: dict[str, int] = {}
    reused: dict[str, int] = {}
    for _ in range(rounds):
        for name in chats:
            gen = gens[name]
            gen.generate(prompts[name][:1], settings)  # back to the end of the first turn (its checkpoint)
            t0 = time.perf_counter()
            gen.generate(_prepared(chats[name], gen, settings), settings)
            ttft[name].append(time.perf_counter() - t0)
            evaluated[name] = gen.stats.prompt_tokens_evaluated
            reused[name] = gen.stats.prompt_tokens_reused
            raw_ttft[name].append(raw[name].follow_up())
    n_doc = len(probe.tokenize_prompt(prompts["with the document"][:1], settings)[1])
    for gen in gens.values():
        gen.close()
    base = statistics.median(ttft["without"])
    raw_base = statistics.median(raw_ttft["without"])
    rows = []
    for name in chats:
        value = statistics.median(ttft[name])
        raw_value = statistics.median(raw_ttft[name])
        rows.append([name, f"{first[name]:.1f} s", f"{value * 1000:.0f} ms", str(reused[name]),
                     str(evaluated[name]), f"{value / base:.2f}×", f"{raw_value * 1000:.0f} ms",
                     f"{raw_value / raw_base:.2f}×", f"{value / raw_value:.2f}×"])
    rows.append([f"(first turn's prompt with the document: {n_doc} tokens)", "", "", "", "", "", "", "", ""])
    return rows


class RawFollowUp:
    """The competitor for the same follow-up: raw llama-cpp-python given the very token ids our generator
    evaluates (tokenized by it), its own KV cache holding the first turn; a follow-up is ``eval`` of the new
    tokens after that prefix plus the argmax of the last row: what llama.cpp alone cannot avoid paying."""

    def __init__(self, model: Path, gen: Any, chat: list[dict[str, Any]], settings: Any, threads: int) -> None:
        from llama_cpp import Llama

        first = gen.tokenize_prompt(_prepared(chat[:1], gen, settings), settings)[1]
        self.ids = gen.tokenize_prompt(_prepared(chat, gen, settings), settings)[1]
        pairs = zip(first, self.ids, strict=False)
        self.kept = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(first), len(self.ids)))
        self.llm = Llama(str(model), n_ctx=gen.n_ctx, n_batch=gen.n_batch, n_ubatch=gen.n_batch, n_threads=threads,
                         verbose=False)
        self.llm.eval(self.ids[: self.kept])

    def follow_up(self) -> float:
        import numpy as np

        self.llm.n_tokens = self.kept  # the next eval drops the positions after the kept prefix
        t0 = time.perf_counter()
        self.llm.eval(self.ids[self.kept:])
        int(np.argmax(np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))))
        return time.perf_counter() - t0


def _prepared(chat: list[dict[str, Any]], gen: Any, settings: Any) -> Any:
    from exaone_desktop.engine.documents import prepare

    return prepare(chat, gen, settings)


SHAPE = "exaone-4.0-1.2b"
TTFT_HEADING = "Follow-up question's time to first token"


def _load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _kept_reading() -> str:
    """The section's reading and retrieval part, as the last full run wrote it."""
    text = README.read_text(encoding="utf-8")
    start = "<!-- bench_documents:start -->"
    if start not in text:
        raise SystemExit("bench/README.md has no bench_documents section yet; run without --ttft-only first")
    section = text.split(start, 1)[1].split("<!-- bench_documents:end -->", 1)[0]
    return section.split(TTFT_HEADING, 1)[0].strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=OUT_DIR / "exaone-4.0-1.2b-Q4_K_M.gguf")
    p.add_argument("--doc-tokens", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layers", type=int, default=None,
                   help="make and use the 1.2B shape with this many of its 30 layers (see the docstring)")
    p.add_argument("--no-ttft", action="store_true")
    p.add_argument("--ttft-only", action="store_true", help="keep the section's reading and retrieval tables")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    if args.ttft_only:
        body = [_kept_reading()]
    else:
        reading, recall = part_reading(args.rounds)
        body = [machine_line() + " The machine was shared with other jobs and noisy while these ran: read the "
                "figures as rough.", "",
                markdown_table(["document", "size", "read (child process)", "read (in process)", "chunks",
                                "index (BM25)"], reading), "",
                "recall@5 over the 200-page PDF's 200 questions (one fact per page):", "",
                markdown_table(["tokenizer", "worded like the page", "terse (no particles or spaces)", "search"],
                               recall)]
    if not args.no_ttft:
        model = args.model
        if args.layers:
            from bench_generate import ensure_models

            _, model = ensure_models(SHAPE, args.layers, args.threads)
        if not model.is_file():
            raise SystemExit(f"{model} is missing; pass --layers 30 to make it, or --no-ttft")
        load = _load_average()
        ttft = part_ttft(model, args.doc_tokens, args.rounds, args.threads)
        depth = f" ({args.layers} of the shape's 30 layers)" if args.layers else ""
        body += ["", f"{TTFT_HEADING}, {model.name}{depth}, a {args.doc_tokens}-token "
                 f"document in the conversation's first message, {args.threads} threads (medians of {args.rounds}; "
                 f"load average {load} before, {_load_average()} after, on {os.cpu_count()} cores):",
                 "", markdown_table(["conversation", "first turn (cold)", "follow-up TTFT", "prompt tokens reused",
                                     "prompt tokens evaluated", "vs without", "raw llama-cpp-python TTFT",
                                     "raw vs without", "ours ÷ raw"], ttft)]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("bench_documents", text)


if __name__ == "__main__":
    main()
