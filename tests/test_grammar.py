"""Structured output: JSON schemas become llama.cpp grammars that constrain our sampler on a real tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import pytest
from exaone_desktop.engine.sampling.grammar import (
    JSON_OBJECT_GRAMMAR,
    GrammarError,
    grammar_for_response_format,
    grammar_for_schema,
    grammar_for_schema_file,
)
from exaone_desktop.engine.sampling.sampler import GrammarRejected, TokenSampler
from exaone_desktop.engine.settings import GenerationSettings
from generation_models import tiny_gguf

SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"enum": ["yes", "no"]},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2},
        "note": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
    },
    "required": ["answer", "count", "tags", "note"],
    "additionalProperties": False,
}


def validate(value: Any, schema: dict[str, Any]) -> None:
    """A small JSON Schema check for the keywords the tests use; raises AssertionError on a mismatch."""
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return validate(value, option)
            except AssertionError as err:
                errors.append(str(err))
        raise AssertionError(f"{value!r} matches no anyOf option: {errors}")
    if "enum" in schema:
        assert value in schema["enum"], f"{value!r} not in {schema['enum']}"
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    kind = schema.get("type")
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{value!r} is not an integer"
    elif kind is not None:
        assert isinstance(value, kinds[kind]), f"{value!r} is not {kind}"
    if kind == "string" and "maxLength" in schema:
        assert len(value) <= schema["maxLength"], f"{value!r} is longer than {schema['maxLength']}"
    if kind == "array":
        assert len(value) <= schema.get("maxItems", len(value))
        for item in value:
            validate(item, schema["items"])
    if kind == "object":
        assert set(schema.get("required", ())) <= set(value), f"missing keys in {value!r}"
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(schema["properties"]), f"extra keys in {value!r}"
        for key, item in value.items():
            validate(item, schema["properties"][key])


def test_validator_rejects_what_it_should() -> None:
    """Guard for the helper above: a checker that accepts everything would prove nothing."""
    good = {"answer": "no", "count": 3, "tags": ["ab"], "note": None}
    validate(good, SCHEMA)
    for bad in ({**good, "answer": "maybe"}, {**good, "count": 1.5}, {**good, "tags": ["abcde"]},
                {**good, "extra": 1}, {k: v for k, v in good.items() if k != "note"}, {**good, "note": "x"}):
        with pytest.raises(AssertionError):
            validate(bad, SCHEMA)


@pytest.fixture(scope="module")
def llm(tiny_checkpoint: Any) -> llama_cpp.Llama:
    model = llama_cpp.Llama(str(tiny_gguf("exaone4", tiny_checkpoint)), n_ctx=512, n_threads=2, verbose=False)
    yield model
    model.close()


def generate(llm: llama_cpp.Llama, grammar: str, settings: GenerationSettings, n: int = 120) -> tuple[str, bool]:
    """(text, ended): tokens drawn by our sampler under ``grammar`` until an end-of-generation token."""
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    prompt = llm.tokenize(b"Reply in JSON:", add_bos=False)
    llm.reset()
    llm.eval(prompt)
    out: list[int] = []
    with TokenSampler(settings, llm.n_vocab(), history_size=512, grammar=grammar, vocab=vocab) as sampler:
        sampler.start(prompt)
        for _ in range(n):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            token = sampler.sample(logits)
            sampler.accept(token)
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                return llm.detokenize(out).decode("utf-8"), True
            out.append(token)
            llm.eval([token])
    return llm.detokenize(out).decode("utf-8", errors="replace"), False


SETTINGS = {
    "greedy": GenerationSettings(),
    "greedy_penalty": GenerationSettings(repetition_penalty=1.3),
    "top_k": GenerationSettings(do_sample=True, seed=3, temperature=1.2),
    "full_vocab_nucleus": GenerationSettings(do_sample=True, seed=4, top_k=0, top_p=0.9, temperature=1.5),
    "min_p_penalties": GenerationSettings(do_sample=True, seed=5, top_k=0, min_p=0.01, presence_penalty=0.5),
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_schema_output_validates(llm: llama_cpp.Llama, name: str) -> None:
    text, ended = generate(llm, grammar_for_schema(SCHEMA), SETTINGS[name])
    assert ended, f"no end of generation after {text!r}"
    validate(json.loads(text), SCHEMA)


def test_unconstrained_tiny_model_does_not_write_json(llm: llama_cpp.Llama) -> None:
    """Guard: without the grammar the same model and prompt do not produce the schema's JSON."""
    text, _ = generate(llm, 'root ::= [^\\x00]*', GenerationSettings(), n=30)
    with pytest.raises(ValueError):
        json.loads(text)


def test_json_object_format_starts_an_object(llm: llama_cpp.Llama) -> None:
    grammar = grammar_for_response_format({"type": "json_object"})
    assert grammar == JSON_OBJECT_GRAMMAR
    text, _ = generate(llm, grammar, GenerationSettings(do_sample=True, seed=1), n=6)
    assert text.startswith("{")


def test_accepting_a_forbidden_token_raises_instead_of_aborting(llm: llama_cpp.Llama) -> None:
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    brace = llm.tokenize(b"{", add_bos=False)[0]
    quote = llm.tokenize(b'"', add_bos=False)[0]
    with TokenSampler(GenerationSettings(), llm.n_vocab(), history_size=8, grammar=grammar_for_schema(SCHEMA),
                      vocab=vocab) as sampler:
        sampler.start([])
        with pytest.raises(GrammarRejected, match="does not follow the grammar"):
            sampler.accept(quote)
        sampler.accept(brace)  # still usable afterwards


def test_bad_grammar_text_is_one_line(llm: llama_cpp.Llama) -> None:
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    with pytest.raises(GrammarError) as err:
        TokenSampler(GenerationSettings(), llm.n_vocab(), history_size=8, grammar="root ::= (", vocab=vocab)
    assert "\n" not in str(err.value) and "GBNF" in str(err.value)
    with pytest.raises(ValueError, match="vocab"):
        TokenSampler(GenerationSettings(), llm.n_vocab(), history_size=8, grammar=JSON_OBJECT_GRAMMAR)


def test_response_format_parsing() -> None:
    assert grammar_for_response_format(None) is None
    assert grammar_for_response_format({"type": "text"}) is None
    assert grammar_for_response_format({"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA,
                                                                               "strict": True}}) == \
        grammar_for_schema(SCHEMA)


@pytest.mark.parametrize(("value", "words"), [
    ({"type": "xml"}, "type must be one of"),
    ({"type": "json_schema"}, "schema is missing"),
    ({"type": "json_schema", "json_schema": {"name": "x"}}, "schema is missing"),
    ("json", "must be an object"),
])
def test_bad_response_format_is_one_line(value: Any, words: str) -> None:
    with pytest.raises(GrammarError, match=words) as err:
        grammar_for_response_format(value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("schema", "words"), [
    ("{not json", "not valid JSON"),
    ([1, 2], "must be an object or a boolean"),
    (False, "no value can match"),
    ({"type": "frob"}, "unsupported JSON schema"),
    ({"$ref": "#/$defs/missing"}, "unsupported JSON schema"),
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}, "'minimum' (at properties.n)"),
    ({"anyOf": [{"type": "string"}, {"not": {}}]}, "'not' (at anyOf[1])"),
])
def test_bad_schema_is_one_line(schema: Any, words: str) -> None:
    with pytest.raises(GrammarError) as err:
        grammar_for_schema(schema)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    assert grammar_for_schema_file(path) == grammar_for_schema(SCHEMA)
    with pytest.raises(GrammarError, match="cannot read the JSON schema file"):
        grammar_for_schema_file(tmp_path / "missing.json")


def test_property_order() -> None:
    schema = {"type": "object", "properties": {"arguments": {"type": "object"}, "name": {"const": "f"}},
              "required": ["arguments", "name"]}
    root = next(line for line in grammar_for_schema(schema, prop_order=["name"]).splitlines()
                if line.startswith("root ::="))
    assert root.index("name-kv") < root.index("arguments-kv")
    root = next(line for line in grammar_for_schema(schema).splitlines() if line.startswith("root ::="))
    assert root.index("arguments-kv") < root.index("name-kv")


def test_strings_exclude_control_characters() -> None:
    """JSON forbids raw control characters in strings; the converter's own rule lets them through."""
    grammar = grammar_for_schema({"type": "string"})
    assert r'[^"\\\x7F\x00-\x1F]' in grammar
