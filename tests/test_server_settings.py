"""exaone-serve's settings are the settings table's rows: the request model, its ranges, the parameter list,
the field a settings error names and the server's flags are all made from the rows' ``served`` column.

The tests walk the rows (so a row added later is checked the same way) and add a row to a copy of the table
to show that it becomes a request field and a flag with nothing else written.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pydantic
import pytest
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.settings import (
    FROM_TABLE,
    GenerationSettings,
    LoadSettings,
    SettingsError,
    field_type,
    from_rows,
)
from exaone_desktop.engine.settings_table import (
    GENERATION_ROWS,
    LOAD_ROWS,
    ROWS,
    SERVED_ROWS,
    OpenAIParam,
    Served,
    Setting,
)
from exaone_desktop.server import PARAMETERS, start_background
from exaone_desktop.server.cli import build_parser, server_rows
from exaone_desktop.server.mapping import parameters, setting_param
from exaone_desktop.server.schemas import ChatCompletionRequest, CompletionRequest, sampling_request
from generation_models import MESSAGES, tiny_gguf
from server_helpers import request

FIELD_ROWS = [row for row in SERVED_ROWS if row.served is not None and not row.served.template]
NUMERIC = [row for row in FIELD_ROWS if row.value_type in (int, float)]
TYPICAL_P = Setting("typical_p", float, 1.0, "Locally typical sampling (1 turns it off).",
                    "국소 전형 샘플링입니다(1이면 끔).", label="Typical words", label_ko="전형적인 단어",
                    minimum=0, maximum=1, min_exclusive=True, step=0.05, decimals=2, cli="--typical-p",
                    served=Served("typical sampling's mass"))


def ids(rows: list[Setting]) -> list[str]:
    return [row.name for row in rows]


def narrowed(row: Setting) -> Setting:
    """The row with the range a request may send (the OpenAI API's own where tighter)."""
    bounds = row.request_bounds()
    return dataclasses.replace(row, minimum=bounds.get("ge", bounds.get("gt")), maximum=bounds.get("le"))


def outside(row: Setting) -> list[Any]:
    """Just outside each bound of the request's range, in the row's type."""
    r = narrowed(row)
    step = 1 if row.value_type is int else None
    out: list[Any] = []
    if r.minimum is not None:
        out.append(r.minimum if r.min_exclusive else (r.minimum - 1 if step else math.nextafter(r.minimum, -math.inf)))
    if r.maximum is not None:
        out.append(r.maximum + 1 if step else math.nextafter(r.maximum, math.inf))
    return [row.value_type(v) for v in out]


# --- the request model --------------------------------------------------------------------------------------

def test_the_request_fields_are_the_served_rows() -> None:
    table_fields = {name for row in FIELD_ROWS for name in (row.request_name, *row.served.older)}  # type: ignore[union-attr]
    for model in (ChatCompletionRequest, CompletionRequest):
        assert table_fields <= set(model.model_fields)
    assert {p.field for p in PARAMETERS} == table_fields
    assert {p.setting for p in PARAMETERS} == {row.name for row in FIELD_ROWS}
    # where the request's name differs from the setting's, it is the OpenAI parameter's
    assert ROWS["max_new_tokens"].request_name == "max_completion_tokens"
    assert ROWS["num_return_sequences"].request_name == "n"
    for row in FIELD_ROWS:
        assert row.request_name == (row.openai.param if isinstance(row.openai, OpenAIParam) else row.name)
    assert ChatCompletionRequest.model_fields["n"].default == ROWS["num_return_sequences"].default


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_the_request_model_enforces_each_rows_range(row: Setting) -> None:
    r = narrowed(row)
    assert row.request_name is not None
    for value in [v for v in (r.minimum, r.maximum) if v is not None and not (v == r.minimum and r.min_exclusive)]:
        req = ChatCompletionRequest.model_validate({"model": "m", "messages": MESSAGES, row.request_name: value})
        assert getattr(req, row.request_name) == value
    for value in outside(row):
        with pytest.raises(pydantic.ValidationError):
            ChatCompletionRequest.model_validate({"model": "m", "messages": MESSAGES, row.request_name: value})


def test_temperature_takes_the_openai_range_not_the_rows() -> None:
    row = ROWS["temperature"]
    assert row.maximum == 100 and row.request_bounds() == {"ge": 0, "le": 2}
    with pytest.raises(pydantic.ValidationError):
        ChatCompletionRequest.model_validate({"model": "m", "messages": MESSAGES, "temperature": 2.5})


def test_a_row_added_to_a_copy_of_the_table_is_a_request_field_a_parameter_and_a_flag(capsys: Any) -> None:
    rows = (*GENERATION_ROWS, TYPICAL_P)
    model = sampling_request(tuple(row for row in rows if row.served))
    assert "typical_p" in model.model_fields and "typical_p" not in CompletionRequest.model_fields
    assert model.model_validate({"model": "m", "typical_p": 0.5}).typical_p == 0.5  # type: ignore[attr-defined]
    for bad in (0, 1.5):
        with pytest.raises(pydantic.ValidationError, match="typical_p"):
            model.model_validate({"model": "m", "typical_p": bad})
    [param] = [p for p in parameters(rows) if p.setting == "typical_p"]
    assert param.field == "typical_p" and param.note == "extra body; typical sampling's mass"
    assert TYPICAL_P in server_rows(rows) and TYPICAL_P not in server_rows()
    parser = build_parser(rows)
    args = parser.parse_args(["--model", "m.gguf", "--typical-p", "0.5"])
    assert args.typical_p == 0.5
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert "--typical-p" in capsys.readouterr().out
    # the OpenAI name and an older one come from the row as well
    renamed = dataclasses.replace(TYPICAL_P, openai=OpenAIParam("typical", lambda s: None),
                                  served=Served("mass", older=("typ",)))
    fields = sampling_request((renamed,)).model_fields
    assert {"typical", "typ"} <= set(fields) and "typical_p" not in fields


# --- the server's flags and its error fields -------------------------------------------------------------------

def test_the_servers_flags_are_the_served_rows_with_a_flag() -> None:
    parser = build_parser()
    for row in GENERATION_ROWS:
        assert row.cli is not None
        given = any(row.cli in action.option_strings for action in parser._actions)
        assert given == (row in server_rows()), row.name
        assert given == bool(row.served and row.served.flag), row.name
    assert parser.parse_args(["--model", "m.gguf", "--min-p", "0.1"]).min_p == 0.1


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_a_settings_error_names_the_rows_request_field(row: Setting) -> None:
    assert row.minimum is not None or row.maximum is not None
    value = row.maximum * 2 + 1 if row.maximum is not None else row.minimum - 1  # type: ignore[operator]
    with pytest.raises(SettingsError) as err:
        GenerationSettings(**{row.name: row.value_type(value)})
    assert setting_param(str(err.value)) == row.request_name


def test_the_rules_between_settings_name_their_first_setting() -> None:
    for kwargs, field in (({"do_sample": True, "temperature": 0.0}, "temperature"),
                          ({"num_return_sequences": 2}, "n")):
        with pytest.raises(SettingsError) as err:
            GenerationSettings(**kwargs)
        assert setting_param(str(err.value)) == field
    assert setting_param("truncate must be one of 'error', 'oldest'") is None  # not a request field


@pytest.fixture(scope="module")
def served(tiny_checkpoint: Any) -> Any:
    gen = LocalGenerator(tiny_gguf("exaone4", tiny_checkpoint), n_threads=1)
    handle = start_background(gen)
    yield handle
    handle.stop()
    gen.close()


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_over_http_each_rows_range_is_a_400_naming_the_field_and_the_range(row: Setting, served: Any) -> None:
    model_id = served.app.state.service.config.model_id
    r = narrowed(row)
    for value in outside(row):
        reply = request(served.url, "POST", "/v1/chat/completions",
                        {"model": model_id, "messages": MESSAGES, row.request_name: value})
        assert reply.status == 400, reply.body
        error = reply.json()["error"]
        assert error["param"] == row.request_name and error["code"] == "invalid_value"
        assert f"{row.request_name} must be in {r.range_text()}" in error["message"], error["message"]


# --- the dataclasses and the panels ---------------------------------------------------------------------------

def test_the_dataclasses_fields_are_checked_against_the_rows() -> None:
    rows = (ROWS["top_k"], ROWS["seed"])

    @dataclasses.dataclass(frozen=True)
    @from_rows(rows)
    class Two:
        top_k: int = FROM_TABLE
        seed: int | None = FROM_TABLE

    assert (Two().top_k, Two().seed) == (50, None)
    assert [field_type(row) for row in rows] == ["int", "int | None"]
    with pytest.raises(TypeError, match=r"rows without a field \['seed'\]"):
        @from_rows(rows)
        class Missing:
            top_k: int = FROM_TABLE
    with pytest.raises(TypeError, match="seed is declared 'int'; its row says 'int \\| None'"):
        @from_rows(rows)
        class WrongType:
            top_k: int = FROM_TABLE
            seed: int = FROM_TABLE
    with pytest.raises(TypeError, match="the default is the row's"):
        @from_rows(rows)
        class SecondDefault:
            top_k: int = 40
            seed: int | None = FROM_TABLE
    for cls, scope in ((GenerationSettings, GENERATION_ROWS), (LoadSettings, LOAD_ROWS)):
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        assert set(fields) == {row.name for row in scope}
        assert all(fields[row.name].type == field_type(row) for row in scope)


def test_the_load_panel_shows_the_load_rows_the_table_marks(qtbot: Any) -> None:
    from exaone_desktop.ui.load_panel import LoadPanel

    panel = LoadPanel()
    qtbot.addWidget(panel)
    shown = [row.name for row in LOAD_ROWS if row.panel]
    assert "n_ctx" in shown and "assistant_model" not in shown
    assert list(panel.labels) == shown
