"""Write a random-weight EXAONE checkpoint of a real release's shape, in the real HF layout.

    python bench/make_random_checkpoint.py SHAPE OUTDIR [--seed N] [--layers N] [--vocab N] [--experts N] [--tiny]

SHAPE is a row of ``exaone_convert.synthetic.RELEASES``: ``exaone-3.5-2.4b``, ``exaone-4.0-1.2b``, ``k-exaone``
(K-EXAONE-236B-A23B's widths and expert shapes at reduced depth and expert count) or ``exaone-4.5-vision``
(EXAONE-4.5-33B's vision encoder at its real size under a shallow text backbone of the real width).

The folder looks like the official release (config keys, original weight names, bf16 safetensors
sharded with ``model.safetensors.index.json``, tokenizer files, generation_config.json, the image
processor's preprocessor_config.json for EXAONE 4.5), but the weights are N(0, 0.02) noise and the
tokenizer is a synthetic byte-level BPE with exactly the release's vocabulary size (or ``--vocab``)
and EXAONE's special tokens at their real low ids where those are known. It is for speed and memory
measurements only. ``--layers`` shrinks the depth, ``--experts`` the routed experts kept per MoE layer,
and ``--tiny`` keeps the layout (layer kinds, expert and vision-block counts, vocabulary) at toy widths,
for smoke tests. Output is deterministic for a given seed. The checkpoint itself is written by the converter's
factory, ``exaone_convert.synthetic``; EXAONE 4.5 and K-EXAONE shapes carry LG's own chat template, read from
the release folder beside the checkout (``shared/releases``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from exaone_convert import synthetic as sy

ROOT = Path(__file__).resolve().parents[1]
RELEASE_45_TEMPLATE = "EXAONE-4.5-33B/chat_template.jinja"  # EXAONE 4.5 and K-EXAONE share it


def release_template(relative: str = RELEASE_45_TEMPLATE) -> str:
    """One of LG's release files from ``shared/releases`` in the repository root or a folder above it."""
    for folder in (ROOT, *ROOT.parents):
        path = folder / "shared" / "releases" / relative
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"LG's release file {relative} is not here (no shared/releases/ beside the checkout); "
                            "the EXAONE 4.5 and K-EXAONE shapes need LG's chat template")


def write_checkpoint(shape: str, out: Path, *, seed: int = 0, layers: int | None = None,
                     vocab: int | None = None, experts: int | None = None, tiny_widths: bool = False) -> Path:
    rel = sy.with_overrides(sy.RELEASES[shape], layers=layers, experts=experts)
    rel = sy.tiny(rel) if tiny_widths else rel
    template = None if rel.family in sy.TEMPLATES else release_template()
    tokenizer = sy.release_tokenizer(rel.family, vocab or rel.vocab, rel.specials)
    return sy.write_checkpoint(out, sy.release_shape(rel, template), tokenizer, seed=seed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shape", choices=sorted(sy.RELEASES))
    p.add_argument("outdir", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=None, help="text layers (default: the row's)")
    p.add_argument("--vocab", type=int, default=None,
                   help=f"tokenizer size (default: the release's, {sy.VOCAB:,} or {sy.VOCAB_2026:,})")
    p.add_argument("--experts", type=int, default=None, help="routed experts kept per MoE layer (default: the row's)")
    p.add_argument("--tiny", action="store_true", help="toy widths, the same layout: for smoke tests")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        write_checkpoint(args.shape, args.outdir, seed=args.seed, layers=args.layers, vocab=args.vocab,
                         experts=args.experts, tiny_widths=args.tiny)
    except (FileNotFoundError, ValueError) as err:
        print(f"make_random_checkpoint: {err}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in args.outdir.glob("*.safetensors"))
    print(f"wrote {args.outdir} ({size / 1e9:.2f} GB of weights) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
