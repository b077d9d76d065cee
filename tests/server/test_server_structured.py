"""Structured output and tools outside the server: ``exaone-generate --json-schema FILE`` and the Python API's
``response_format=`` / ``tools=``, on a tiny real EXAONE 4 GGUF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.cli import generate as cli
from exaone_desktop.pipeline import pipeline

from tests.support.cli_runs import generate_json, write_messages
from tests.support.generation_models import MESSAGES

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["answer", "sure"],
          "properties": {"answer": {"enum": ["yes", "no"]}, "sure": {"type": "boolean"}}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def valid(data: Any) -> bool:
    return (isinstance(data, dict) and set(data) == {"answer", "sure"} and data["answer"] in ("yes", "no")
            and isinstance(data["sure"], bool))


def test_cli_json_schema(model_path: Path, tmp_path: Path, capsys: Any) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    messages = write_messages(tmp_path, MESSAGES)
    for seed in ("1", "2"):
        [entry] = generate_json(capsys, "--model", str(model_path), "--messages", str(messages), "--json-schema",
                                str(schema), "--do-sample", "--seed", seed, "--max-new-tokens", "80")["generated"]
        assert entry["finish_reason"] == "stop" and valid(json.loads(entry["text"]))


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        ("{not json", [], "not valid JSON"),
        (json.dumps({"type": "integer", "minimum": 1}), [], "'minimum'"),
        (json.dumps(SCHEMA), ["--engine", "cloud"], "--engine local"),
    ],
)
def test_cli_json_schema_errors_are_one_line(content: str, extra: list[str], words: str, model_path: Path,
                                             tmp_path: Path, capsys: Any) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(content)
    assert cli.main(["--model", str(model_path), "--prompt", "x", "--json-schema", str(schema), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_python_api_response_format_and_tools(model_path: Path) -> None:
    generator = pipeline(str(model_path), n_threads=1)
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA}}
    [record] = generator(MESSAGES, response_format=fmt, do_sample=True, seed=3, max_new_tokens=80)
    assert valid(json.loads(record["generated_text"][-1]["content"]))
    plain = generator.generator.tokenize_prompt(MESSAGES, generator.generator.default_settings())[1]
    with_tools = generator.generator.tokenize_prompt(MESSAGES, generator.generator.default_settings(), tools=TOOLS)[1]
    assert len(with_tools) > len(plain)  # the tools are in the rendered prompt
    [record] = generator(MESSAGES, tools=TOOLS, max_new_tokens=4)
    assert record["generated_text"][-1]["role"] == "assistant"
    with pytest.raises(ValueError, match="response_format"):
        generator(MESSAGES, response_format={"type": "xml"})
