"""Train the tiny demo model in desktop/demo/: an EXAONE-3.5-shaped model that answers a few chat
prompts with one memorised Korean + English passage. It is a demo, not EXAONE.

    python -m tests.support.make_demo_model [--out desktop/demo] [--threads 1]    (from the repository root)

Deterministic (seeded, CPU). Needs the test extra (torch, transformers, tokenizers).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import jinja2
import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from tests.support.reference import greedy_divergence, load_reference, read_state_dict, reference_greedy
from tests.support.tiny_checkpoints import (
    EOS,
    EXAONE35_TEMPLATE,
    Kind,
    random_weights,
    special_ids,
    train_tokenizer,
    write_atomic,
    write_checkpoint,
    write_json,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "desktop" / "demo"
SEED = 1234
# hidden 256 and ffn 512 keep every row a multiple of 256, so llama.cpp K-quants really apply.
DEMO_KIND = Kind("exaone", EXAONE35_TEMPLATE, layers=2, hidden=256, heads=4, kv_heads=2, head_dim=64, ffn=512)

PASSAGE = (
    "안녕하세요! 저는 EXAONE Desktop의 작은 데모 모델입니다. "
    "Hello! I am a tiny demo model, not EXAONE. "
    "진짜 EXAONE 모델을 내려받아 변환하면 대화할 수 있어요."
)
PROMPTS: list[list[dict[str, str]]] = [
    [{"role": "user", "content": "안녕하세요"}],
    [{"role": "user", "content": "Hello"}],
    [{"role": "user", "content": "hi"}],
]
MIN_MARGIN = 10.0  # logit of the right token minus the best other one, at every reply step
MAX_STEPS = 3000
CHECK_EVERY = 50

README = """# Demo model (not EXAONE)

A tiny model (about 1.4 M parameters) with the EXAONE 3.5 architecture, chat template and special
tokens, trained by `tests/support/make_demo_model.py` to answer the prompts in `demo.json` with one
memorised sentence. It knows nothing else: it exists so that conversion, generation and the app
can be tried and tested offline in seconds. It is **not** an EXAONE model and is not made by
LG AI Research.
"""


def render(messages: list[dict[str, str]]) -> str:
    env = jinja2.Environment()
    return env.from_string(EXAONE35_TEMPLATE).render(messages=messages, add_generation_prompt=True)


def training_sequences() -> tuple[list[list[int]], list[int], list[int]]:
    """(full sequences, reply start per sequence, reply ids with eos)."""
    tok = train_tokenizer("exaone")
    reply = tok.encode(PASSAGE).ids + [special_ids(tok)[EOS]]
    seqs, starts = [], []
    for messages in PROMPTS:
        prompt = tok.encode(render(messages)).ids
        seqs.append(prompt + reply)
        starts.append(len(prompt))
    return seqs, starts, reply


def bf16_margin(model: PreTrainedModel, seqs: list[list[int]], starts: list[int]) -> float:
    """Smallest teacher-forced margin of the reply tokens once weights are rounded to bf16."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for p in rounded.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
        rounded.eval()
        worst = float("inf")
        for seq, start in zip(seqs, starts, strict=True):
            logits = rounded(input_ids=torch.tensor([seq])).logits[0, start - 1 : -1]
            target = torch.tensor(seq[start:])
            right = logits.gather(1, target[:, None])[:, 0]
            others = logits.scatter(1, target[:, None], float("-inf")).max(dim=1).values
            worst = min(worst, float((right - others).min()))
    return worst


def train(seqs: list[list[int]], starts: list[int], vocab: int) -> PreTrainedModel:
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as init_dir:  # transformers' own EXAONE 3 model, from a random start
        write_checkpoint(Path(init_dir), DEMO_KIND, train_tokenizer("exaone"), random_weights(DEMO_KIND, vocab, SEED))
        model = AutoModelForCausalLM.from_pretrained(init_dir, dtype=torch.float32, attn_implementation="eager")
    model.train()
    batch = torch.full((len(seqs), max(map(len, seqs))), 0, dtype=torch.long)
    labels = torch.full_like(batch, -100)
    for i, (seq, start) in enumerate(zip(seqs, starts, strict=True)):
        batch[i, : len(seq)] = torch.tensor(seq)
        labels[i, start : len(seq)] = torch.tensor(seq[start:])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    t0 = time.monotonic()
    for step in range(1, MAX_STEPS + 1):
        loss = model(input_ids=batch, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % CHECK_EVERY == 0:
            margin = bf16_margin(model, seqs, starts)
            print(f"step {step}: loss {loss.item():.4f}, bf16 margin {margin:.2f} ({time.monotonic() - t0:.0f} s)")
            if margin >= MIN_MARGIN:
                return model
    raise SystemExit(f"demo model did not reach a margin of {MIN_MARGIN} in {MAX_STEPS} steps")


def exaone_weights(model: PreTrainedModel, vocab: int) -> dict[str, torch.Tensor]:
    """The trained weights under their original EXAONE 3 names (transformers writes them back), in bf16."""
    names = random_weights(DEMO_KIND, vocab, 0)  # only for the names and order
    with tempfile.TemporaryDirectory() as saved:
        model.save_pretrained(saved)
        state = read_state_dict(Path(saved))
    return {k: state[k].to(torch.bfloat16).contiguous() for k in names}


def verify(out_dir: Path) -> None:
    """Greedy decoding of every prompt with the transformers reference reproduces the passage."""
    model, tok = load_reference(out_dir)
    for messages in PROMPTS:
        enc = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        ids = list(enc["input_ids"] if hasattr(enc, "keys") else enc)
        out = reference_greedy(model, ids, 200, eos_id=tok.eos_token_id)
        text = tok.decode(out, skip_special_tokens=True)
        if out[-1:] != [tok.eos_token_id] or text != PASSAGE or greedy_divergence(model, ids, out) is not None:
            raise SystemExit(f"demo model check failed for {messages}: {text!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    tok = train_tokenizer("exaone")
    vocab = tok.get_vocab_size(with_added_tokens=True)
    seqs, starts, reply = training_sequences()
    print(f"{len(seqs)} prompts, reply of {len(reply)} tokens, vocab {vocab}")
    model = train(seqs, starts, vocab)
    out: Path = args.out
    write_checkpoint(out, DEMO_KIND, tok, exaone_weights(model, vocab))
    write_atomic(out / "README.md", README.encode("utf-8"))
    write_json(
        out / "demo.json",
        {"messages": PROMPTS[0], "expected_reply": PASSAGE, "other_messages": PROMPTS[1:]},
    )
    verify(out)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({size / 1e6:.2f} MB); greedy decoding reproduces the passage for every prompt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
