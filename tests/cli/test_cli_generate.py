"""exaone-generate: its flags and --json contract, against transformers; one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.cli import generate as cli

from tests.support.cli_runs import generate_json, write_messages
from tests.support.generation_models import MESSAGES, PLAIN_PROMPT, hf_generate, reference, tiny_gguf

KIND = "exaone3_untied"
N_NEW = 16


@pytest.fixture
def model_path(tiny_checkpoint: Any) -> Path:
    return tiny_gguf(KIND, tiny_checkpoint)


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    return write_messages(tmp_path, MESSAGES)


def one_line_error(capsys: Any, argv: list[str], code: int) -> str:
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("exaone-generate: error: ")
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("full", [True, False])
def test_prompt_json_matches_transformers(full: bool, capsys: Any, model_path: Path, tiny_checkpoint: Any) -> None:
    model, tok = reference(KIND, tiny_checkpoint)
    hf_ids, hf_new, hf_text = hf_generate(model, tok, PLAIN_PROMPT, N_NEW)
    flag = "--return-full-text" if full else "--no-return-full-text"
    out = generate_json(capsys, "--model", str(model_path), "--prompt", PLAIN_PROMPT, "--max-new-tokens", str(N_NEW),
                        flag)
    assert set(out) == {"prompt_token_ids", "generated", "timings", "backend"}
    assert out["prompt_token_ids"] == hf_ids
    [entry] = out["generated"]
    assert set(entry) == {"text", "token_ids", "finish_reason"}
    assert entry["token_ids"] == hf_new
    assert entry["text"] == (PLAIN_PROMPT + hf_text if full else hf_text)
    assert entry["finish_reason"] == "length"
    assert set(out["timings"]) == {"prompt_tokens_per_s", "generated_tokens_per_s"}
    assert out["backend"] in ("cpu", "metal", "cuda")


def test_messages_json_matches_transformers(capsys: Any, model_path: Path, messages_file: Path,
                                            tiny_checkpoint: Any) -> None:
    model, tok = reference(KIND, tiny_checkpoint)
    hf_ids, hf_new, hf_text = hf_generate(model, tok, MESSAGES, N_NEW)
    out = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file),
                        "--max-new-tokens", str(N_NEW))
    assert out["prompt_token_ids"] == hf_ids
    assert out["generated"][0]["token_ids"] == hf_new
    assert out["generated"][0]["text"] == hf_text  # a chat reply is never prefixed by the prompt


def test_sampling_flags_seed_and_num_return_sequences(capsys: Any, model_path: Path) -> None:
    argv = ["--model", str(model_path), "--prompt", PLAIN_PROMPT, "--max-new-tokens", "12", "--do-sample",
            "--temperature", "1.3", "--top-k", "0", "--top-p", "0.95", "--repetition-penalty", "1.1",
            "--presence-penalty", "0.5", "--frequency-penalty", "0.2", "--seed", "42",
            "--num-return-sequences", "3", "--no-return-full-text"]
    first = generate_json(capsys, *argv)
    again = generate_json(capsys, *argv)
    assert len(first["generated"]) == 3
    assert first["generated"] == again["generated"]
    other = generate_json(capsys, *argv[:-5], "--seed", "43", *argv[-3:])
    assert other["generated"] != first["generated"]


def test_sampling_rules_are_checked_after_the_models_defaults(capsys: Any, tiny_checkpoint: Any,
                                                              tmp_path: Path) -> None:
    """A model whose generation config samples by default accepts several sequences without --do-sample."""
    import shutil

    from exaone_convert.convert import convert_checkpoint

    ckpt = shutil.copytree(tiny_checkpoint(KIND), tmp_path / "sampling-model")
    config = ckpt / "generation_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "do_sample": True, "temperature": 0.7}))
    gguf = convert_checkpoint(ckpt, tmp_path / "sampling-model.gguf", outtype="f32")
    out = generate_json(capsys, "--model", str(gguf), "--prompt", PLAIN_PROMPT, "--max-new-tokens", "4",
                        "--num-return-sequences", "3", "--seed", "5")
    assert len(out["generated"]) == 3
    # The user's own --no-do-sample still wins over the model's default, and then the rule applies.
    err = one_line_error(capsys, ["--model", str(gguf), "--prompt", "x", "--num-return-sequences", "3",
                                  "--no-do-sample"], 2)
    assert "do_sample" in err


def test_stop_and_stream(capsys: Any, model_path: Path) -> None:
    base = ["--model", str(model_path), "--prompt", PLAIN_PROMPT, "--max-new-tokens", str(N_NEW),
            "--no-return-full-text"]
    text = generate_json(capsys, *base)["generated"][0]["text"]
    stop = text[3:6]
    cut = generate_json(capsys, *base, "--stop", stop)["generated"][0]
    assert cut["finish_reason"] == "stop" and cut["text"] == text[: text.find(stop)]
    assert cli.main([*base, "--stream", "--threads", "1"]) == 0
    assert capsys.readouterr().out == text + "\n"
    assert cli.main([*base[:-1], "--stream", "--threads", "1"]) == 0  # full text: prompt first
    assert capsys.readouterr().out == PLAIN_PROMPT + text + "\n"


def test_real_subprocess(model_path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "exaone_desktop.cli.generate", "--model", str(model_path), "--prompt", PLAIN_PROMPT,
         "--max-new-tokens", "8", "--json", "--threads", "1"],
        capture_output=True, env=env, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    out = json.loads(proc.stdout.decode("utf-8"))
    assert len(out["generated"][0]["token_ids"]) == 8
    assert out["generated"][0]["text"].startswith(PLAIN_PROMPT)


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["--prompt", "x"], 2, "--model"),
        (["--model", "m.gguf"], 2, "one of the arguments"),
        (["--prompt", "x", "--model", "missing.gguf"], 2, "not found"),
        (["--prompt", "x", "--bogus"], 2, "unrecognized"),
        (["--prompt", "x", "--top-k", "many"], 2, "invalid int"),
        (["--prompt", "x", "--engine", "gpu"], 2, "invalid choice"),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], code: int, words: str, capsys: Any, tmp_path: Path,
                                   monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert words in one_line_error(capsys, argv, code)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--top-p", "1.5"], "top_p"),
        (["--temperature", "-1"], "temperature"),
        (["--num-return-sequences", "2"], "do_sample"),
        (["--presence-penalty", "3"], "presence_penalty"),
        (["--max-new-tokens", "0"], "max_new_tokens"),
    ],
)
def test_out_of_range_settings(flags: list[str], words: str, capsys: Any, model_path: Path) -> None:
    err = one_line_error(capsys, ["--model", str(model_path), "--prompt", "x", *flags], 2)
    assert words in err


def test_invalid_utf8_prompt_and_messages(capsys: Any, model_path: Path, tmp_path: Path) -> None:
    bad_prompt = b"caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of Latin-1 argv bytes
    assert "UTF-8" in one_line_error(capsys, ["--model", str(model_path), "--prompt", bad_prompt], 2)
    cases = {
        "latin1.json": "안녕".encode()[:2] + b'"]',
        "broken.json": b'[{"role": "user", "content": ',
        "shape.json": b'{"role": "user", "content": "hi"}',
        "types.json": b'[{"role": "user", "content": 5}]',
        "empty.json": b"[]",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        err = one_line_error(capsys, ["--model", str(model_path), "--messages", str(path)], 2)
        assert name in err
    err = one_line_error(capsys, ["--model", str(model_path), "--messages", str(tmp_path / "nope.json")], 2)
    assert "cannot read" in err


def test_runtime_errors_are_one_line(capsys: Any, model_path: Path, tmp_path: Path) -> None:
    err = one_line_error(capsys, ["--model", str(model_path), "--prompt", PLAIN_PROMPT * 4, "--n-ctx", "32",
                                  "--max-new-tokens", "20"], 1)
    assert "max_new_tokens" in err
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all")
    assert "junk.gguf" in one_line_error(capsys, ["--model", str(junk), "--prompt", "x"], 1)


def test_cloud_without_key_is_one_line(capsys: Any, monkeypatch: Any) -> None:
    from exaone_desktop.engine.cloud import keys

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(keys, "get_api_key", lambda: None)
    assert "OPENAI_API_KEY" in one_line_error(capsys, ["--engine", "cloud", "--prompt", "hi"], 1)
    # auto without --model goes to the cloud too
    assert "OPENAI_API_KEY" in one_line_error(capsys, ["--engine", "auto", "--prompt", "hi"], 1)
