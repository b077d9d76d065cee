"""Benchmark: encoding a 1024×1024 image with EXAONE 4.5's real-size vision encoder through LocalGenerator.

    python bench/bench_image.py [--quick] [--runs N] [--threads N] [--outtype T] [--ckpt DIR] [--no-readme]

The random-weight ``exaone-4.5-vision`` checkpoint (make_random_checkpoint.py: EXAONE-4.5-33B's vision
encoder at its real size under two text layers of the real width; made in bench/out/ckpt/ when missing)
is converted by our converter to a text GGUF (``--outtype``, default Q4_K_M) and its F16 vision projector.
One LocalGenerator (the app's engine: llama.cpp's mtmd runs the projector) then answers, with one greedy
token, the same short prompt with the image and without it, in pairs (image first: an image request
leaves nothing in the KV cache that the text prompt could reuse, which is checked), after one untimed pair
that loads the projector. The image request's time covers decoding the PNG, mtmd's resize and patching,
the vision encoder, and the text model's prefill of the image positions; the difference of the two medians
is what the image costs. ``--quick`` uses the toy-width checkpoint and one pair and leaves the README alone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from exaone_convert import atomic_write_bytes
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.vision import IMAGE_MARKER
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.engine.types import GenerationResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

SHAPE = "exaone-4.5-vision"
IMAGE_SIDE = 1024
QUESTION = "이 사진에 무엇이 보이나요? 한 문장으로 답해 주세요."
N_CTX = 4096  # a 1024x1024 image is 1,225 positions after Qwen2-VL's resize to 980x980


def test_image(side: int) -> bytes:
    """A deterministic ``side`` x ``side`` PNG: smooth gradients with a few shapes (a photo-sized file)."""
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * (x + y))], axis=-1)
    img = Image.fromarray((rgb * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(0)
    for _ in range(12):
        x0, y0 = (int(v) for v in rng.integers(0, side * 3 // 4, 2))
        size = int(rng.integers(side // 16, side // 4))
        draw.ellipse((x0, y0, x0 + size, y0 + size), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def ensure_models(ckpt: Path, outtype: str, threads: int) -> Path:
    """The text GGUF (its mmproj beside it), converted from ``ckpt`` by our converter when missing."""
    out_dir = bl.OUT_DIR / "image" / f"{ckpt.name}-{outtype}"
    text = out_dir / f"{ckpt.name}-{outtype.upper()}.gguf"
    if not (text.is_file() and any(out_dir.glob("mmproj-*.gguf"))):
        out_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "exaone_convert.cli", str(ckpt), "--outtype", outtype, "--outfile",
                        str(text), "--threads", str(threads), "--force", "--quiet"], check=True)
    return text


ONE_TOKEN = GenerationSettings(do_sample=False, max_new_tokens=1)


def timed(gen: LocalGenerator, prompt: str, images: list[Path]) -> tuple[float, GenerationResult]:
    t0 = time.perf_counter()
    result = gen.generate(prompt, ONE_TOKEN, images=images)
    return time.perf_counter() - t0, result


def measure(text_gguf: Path, image: Path, runs: int, threads: int) -> dict[str, object]:
    with_image, without = f"{IMAGE_MARKER}\n{QUESTION}", QUESTION
    t0 = time.perf_counter()
    gen = LocalGenerator(text_gguf, n_ctx=N_CTX, n_threads=threads)
    load_s = time.perf_counter() - t0
    try:
        first_image_s, result = timed(gen, with_image, [image])  # loads the mmproj
        image_id = gen.model_info.image_token_id
        positions = result.prompt_token_ids.count(image_id) if image_id is not None else 0
        text_tokens = len(timed(gen, without, [])[1].prompt_token_ids)
        times: dict[str, list[float]] = {"image": [], "text": []}
        for r in range(runs):
            seconds, _ = timed(gen, with_image, [image])
            times["image"].append(seconds)
            seconds, _ = timed(gen, without, [])
            if gen.stats.prompt_tokens_reused:
                raise SystemExit(f"the text-only request reused {gen.stats.prompt_tokens_reused} cached tokens; "
                                 "the comparison needs a cold prompt")
            times["text"].append(seconds)
            print(f"  pair {r + 1}: with image {times['image'][-1]:.2f} s, without {times['text'][-1]:.2f} s",
                  flush=True)
        vision_threads = gen._vision.n_threads if gen._vision is not None else 0  # noqa: SLF001
    finally:
        gen.close()
    return {"load_s": load_s, "first_image_s": first_image_s, "positions": positions, "text_tokens": text_tokens,
            "image": times["image"], "text": times["text"], "vision_threads": vision_threads,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def report(data: dict[str, object], ckpt: Path, text_gguf: Path, threads: int) -> str:
    image, text = data["image"], data["text"]
    assert isinstance(image, list) and isinstance(text, list)
    t_img, t_txt = bl.median(image), bl.median(text)
    mmproj = next(text_gguf.parent.glob("mmproj-*.gguf"))
    config = json.loads((ckpt / "config.json").read_text())
    vision, text_cfg = config["vision_config"], config["text_config"]
    rows = [
        [f"question + {IMAGE_SIDE}×{IMAGE_SIDE} image ({data['positions']} image positions), one-token reply",
         f"{t_img:.2f} s", ", ".join(f"{v:.2f}" for v in image)],
        [f"the same question without the image ({data['text_tokens']} tokens), one-token reply", f"{t_txt:.2f} s",
         ", ".join(f"{v:.2f}" for v in text)],
        ["**the image's cost** (difference of the medians)", f"**{t_img - t_txt:.2f} s**", ""],
        ["first image request (also loads the mmproj)", f"{data['first_image_s']:.2f} s", ""],
        ["loading the text model", f"{data['load_s']:.2f} s", ""],
    ]
    return "\n\n".join([
        bl.machine_line(),
        f"`python bench/bench_image.py --runs {len(image)}`: the random-weight `{ckpt.name}` checkpoint "
        f"(`make_random_checkpoint.py {SHAPE}`: a vision encoder of {vision['depth']} blocks of width "
        f"{vision['hidden_size']}; {text_cfg['num_hidden_layers']} text layers of width "
        f"{text_cfg['hidden_size']}) converted by `exaone-convert` to `{text_gguf.name}` "
        f"({bl.file_size(text_gguf)}) and `{mmproj.name}` ({bl.file_size(mmproj)}). One `LocalGenerator` "
        f"(n_ctx {N_CTX}, {threads} threads; the vision encoder ran on {data['vision_threads']}), greedy, one new "
        f"token; the pairs alternate image / no image, medians of {len(image)}. Peak RSS of the process: "
        f"{data['max_rss_mb']:.0f} MB.",
        bl.markdown_table(["request", "median", "runs (s)"], rows),
        "The image request's time covers decoding the PNG, mtmd's resize to the processor's pixel budget (Qwen2-VL's "
        "default, 28·28·1280 pixels: 980×980 here), the vision encoder and the text model's prefill of the image "
        "positions; with two of the 64 text layers that prefill is a small part of what the full model would spend.",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="toy widths, one pair, README untouched")
    p.add_argument("--runs", type=int, default=3, help="timed pairs (default 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp threads (default: all cores)")
    p.add_argument("--outtype", default="q4_k_m", help="text GGUF type (default q4_k_m; the mmproj is F16)")
    p.add_argument("--ckpt", type=Path, help="an EXAONE 4.5 checkpoint folder (default: a random one)")
    p.add_argument("--no-readme", action="store_true", help="print only")
    args = p.parse_args(argv)
    runs = 1 if args.quick else args.runs
    default = bl.OUT_DIR / "ckpt" / (f"{SHAPE}-quick" if args.quick else SHAPE)
    ckpt = args.ckpt or bl.random_checkpoint(SHAPE, default, ["--tiny"] if args.quick else [])
    text_gguf = ensure_models(ckpt, args.outtype, args.threads)
    image = bl.OUT_DIR / "image" / f"test-{IMAGE_SIDE}.png"
    if not image.is_file():
        image.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(image, test_image(IMAGE_SIDE))
    print(f"{text_gguf} with {image.name}, {runs} pair(s), {args.threads} threads", flush=True)
    data = measure(text_gguf, image, runs, args.threads)
    body = report(data, ckpt, text_gguf, args.threads)
    print(body)
    if not (args.quick or args.no_readme):
        bl.write_section("bench_image", body)
        print(f"updated {bl.README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
