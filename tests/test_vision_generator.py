"""Images in the local generator: EXAONE 4.5's mmproj found beside the model, images read where the prompt
marks them (or given as OpenAI-style content parts), greedy tokens as transformers generates them."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from exaone_convert.cli import main as convert_main
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.vision import IMAGE_MARKER, load_image
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.engine.types import GenerationError

N_TOKENS = 8


@pytest.fixture(scope="module")
def model_dir(tiny_checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vl")
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(out / "vl-F32.gguf"),
                         "--outtype", "f32", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def generator(model_dir):
    gen = LocalGenerator(model_dir / "vl-F32.gguf", n_ctx=512, n_threads=2)
    yield gen
    gen.close()


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


PIXELS = np.random.default_rng(7).integers(0, 256, size=(84, 112, 3), dtype=np.uint8)
GREEDY = GenerationSettings(do_sample=False, max_new_tokens=N_TOKENS)


def test_image_prompt_generates_as_transformers_does(generator, tiny_checkpoint, tmp_path):
    from mtmd_helpers import image_inputs, reference_run
    from reference import load_reference

    image = tmp_path / "photo.png"
    image.write_bytes(_png(PIXELS))
    result = generator.generate(f"사진: {IMAGE_MARKER} 설명해 줘.", GREEDY, images=[image])
    model, _ = load_reference(tiny_checkpoint("exaone4_5"))
    ids = result.prompt_token_ids
    assert ids.count(model.config.image_token_id) == (84 // 28) * (112 // 28)
    _, want = reference_run(model, ids, image_inputs(tiny_checkpoint("exaone4_5"), PIXELS), N_TOKENS)
    assert result.generated[0].token_ids == want


def test_image_encoder_runs_on_the_generators_threads(generator, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(_png(PIXELS))
    generator.generate(f"{IMAGE_MARKER} 무엇이 보여?", GREEDY, images=[image])
    assert generator._vision.n_threads == 2  # mtmd would otherwise take its default of 4


def test_chat_content_parts_take_data_urls(generator):
    url = "data:image/png;base64," + base64.b64encode(_png(PIXELS)).decode()
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                             {"type": "text", "text": "무엇이 보여?"}]}]
    result = generator.generate(messages, GREEDY)
    assert result.prompt_text.count(IMAGE_MARKER) == 1
    assert len(result.generated[0].token_ids) == N_TOKENS


def _url(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(pixels)).decode()


OTHER = np.random.default_rng(8).integers(0, 256, size=(56, 84, 3), dtype=np.uint8)
IMAGE_CHATS = {
    "one image before the text": ([{"role": "user", "content": [("image", PIXELS), "무엇이 보여?"]}], []),
    "text around two images": ([{"role": "system", "content": "사진을 설명해."},
                                {"role": "user", "content": ["첫째:", ("image", PIXELS), "둘째:\n", ("image", OTHER),
                                                             "차이는?"]}], []),
    "images in two turns": ([{"role": "user", "content": [("image", OTHER), "이건?"]},
                             {"role": "assistant", "content": "고양이입니다."},
                             {"role": "user", "content": ["그럼 이건?", ("image", PIXELS)]}], []),
    "images beside the messages": ([{"role": "user", "content": "두 장을 비교해 줘."}], [PIXELS, OTHER]),
}


def _parts(messages: list[dict], image_part) -> list[dict]:
    out = []
    for m in messages:
        content = m["content"]
        if isinstance(content, list):
            content = [image_part(p[1]) if isinstance(p, tuple) else {"type": "text", "text": p} for p in content]
        out.append({**m, "content": content})
    return out


@pytest.mark.parametrize("case", sorted(IMAGE_CHATS))
def test_chat_image_ids_are_the_ones_transformers_processor_builds(case, generator, tiny_checkpoint, tmp_path):
    """The ids evaluated around each image are those of transformers' EXAONE 4.5 processor (LG's template's
    ``<vision><|image_pad|></vision>\\n`` with the pad repeated per image position), where mtmd evaluated the
    image; and greedy decoding after them is transformers'."""
    from mtmd_helpers import processor_inputs, reference_run
    from reference import load_reference

    messages, beside = IMAGE_CHATS[case]
    files = []
    for i, pixels in enumerate(beside):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(_png(pixels))
    result = generator.generate(_parts(messages, lambda px: {"type": "image_url", "image_url": {"url": _url(px)}}),
                                GREEDY, images=files)
    hf_messages = _parts(messages, lambda px: {"type": "image"})
    pictures = [p[1] for m in messages if isinstance(m["content"], list) for p in m["content"] if isinstance(p, tuple)]
    if beside:  # images given beside the messages go first in the last user turn
        hf_messages[-1] = {**hf_messages[-1], "content": [{"type": "image"} for _ in beside]
                           + [{"type": "text", "text": hf_messages[-1]["content"]}]}
        pictures = [*pictures, *beside]
    ckpt = tiny_checkpoint("exaone4_5")
    want_ids, inputs = processor_inputs(ckpt, hf_messages, pictures)
    assert result.prompt_token_ids == want_ids
    model, tokenizer = load_reference(ckpt)
    close = tokenizer.convert_tokens_to_ids("</vision>")
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
    ends = [i for i, t in enumerate(want_ids) if t == close]
    assert len(ends) == len(pictures) and all(want_ids[i + 1: i + 1 + len(newline)] == newline for i in ends)
    _, want = reference_run(model, want_ids, inputs, N_TOKENS)
    assert result.generated[0].token_ids == want


def test_a_template_that_places_no_images_is_one_line(generator):
    from exaone_desktop.engine.llama.vision import IMAGE_MARKER, place_image_markers

    with pytest.raises(GenerationError, match="placed 0 images for the 1 given") as err:
        place_image_markers("<|user|>\nhi<|endofturn|>\n", ["<vision><|image_pad|></vision>"], 1)
    assert "\n" not in str(err.value)
    text = place_image_markers("a<vision><|image_pad|></vision>\nb", ["<vision><|image_pad|></vision>"], 1)
    assert text == f"a{IMAGE_MARKER}\nb"


@pytest.mark.parametrize(("data", "match"), [(b"not an image at all", "not a PNG, JPEG or WebP"),
                                             (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "could not be decoded")])
def test_bad_images_are_one_line(data, match, generator, tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with pytest.raises(GenerationError, match=match) as err:
        generator.generate("hi " + IMAGE_MARKER, GREEDY, images=[path])
    assert "\n" not in str(err.value)
    with pytest.raises(GenerationError, match="image not found"):
        load_image(tmp_path / "missing.png")


def test_model_without_projector_says_so(tiny_checkpoint, tmp_path):
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(tmp_path / "t-F32.gguf"),
                         "--outtype", "f32", "--no-mmproj", "--quiet"]) == 0
    with LocalGenerator(tmp_path / "t-F32.gguf", n_ctx=256, n_threads=2) as gen:
        with pytest.raises(GenerationError, match="no vision projector") as err:
            gen.generate("hi", GREEDY, images=[b"\x89PNG\r\n\x1a\n"])
        assert "\n" not in str(err.value)
        assert gen.generate("hi", GREEDY).generated[0].token_ids  # text still works


# -- exaone-generate --image (through the worker process) ------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from exaone_desktop.cli import generate as cli

    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_image_flag(model_dir, tiny_checkpoint, tmp_path, capsys):
    import json

    from mtmd_helpers import image_inputs, reference_run
    from reference import load_reference

    image = tmp_path / "photo.png"
    image.write_bytes(_png(PIXELS))
    rc, out, err = _cli(capsys, "--model", str(model_dir / "vl-F32.gguf"), "--prompt", "사진을 설명해 줘.",
                        "--image", str(image), "--max-new-tokens", str(N_TOKENS), "--no-do-sample", "--json",
                        "--threads", "1")
    assert rc == 0, err
    result = json.loads(out)
    model, _ = load_reference(tiny_checkpoint("exaone4_5"))
    ids = result["prompt_token_ids"]
    assert ids.count(model.config.image_token_id) == 12  # the image goes first when the prompt has no marker
    _, want = reference_run(model, ids, image_inputs(tiny_checkpoint("exaone4_5"), PIXELS), N_TOKENS)
    assert result["generated"][0]["token_ids"] == want


def test_cli_messages_file_takes_image_parts(model_dir, tmp_path, capsys):
    import json

    image = tmp_path / "photo.png"
    image.write_bytes(_png(PIXELS))
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": str(image)}}, {"type": "text", "text": "무엇이 보여?"}]}]))
    rc, out, err = _cli(capsys, "--model", str(model_dir / "vl-F32.gguf"), "--messages", str(messages),
                        "--max-new-tokens", "4", "--no-do-sample", "--threads", "1")
    assert rc == 0, err and out


@pytest.mark.parametrize(("extra", "match"), [(["--image", "missing.png"], "image not found"),
                                              (["--image", "gone.png", "--engine", "cloud"], "image not found")])
def test_cli_image_errors_are_one_line(extra, match, model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.png").write_bytes(_png(PIXELS))
    rc, _, err = _cli(capsys, "--model", str(model_dir / "vl-F32.gguf"), "--prompt", "hi", *extra)
    assert rc == 2 and match in err and err.count("\n") == 1


def test_cli_not_an_image_is_one_line_from_the_worker(model_dir, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"GIF89a not what we take")
    rc, _, err = _cli(capsys, "--model", str(model_dir / "vl-F32.gguf"), "--prompt", "hi", "--image", str(bad),
                      "--threads", "1")
    assert rc == 1 and "not a PNG, JPEG or WebP" in err and err.count("\n") == 1
