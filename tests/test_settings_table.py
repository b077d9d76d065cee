"""One settings table: every setting has the same range in validate(), the CLI and the settings panel.

The tests walk ``settings_table.SETTINGS`` row by row, so a row added later is checked the same way.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exaone_desktop.cli import generate as cli
from exaone_desktop.cli.setting_flags import flag_help
from exaone_desktop.engine.cloud.generator import map_settings
from exaone_desktop.engine.sampling.sampler import TokenSampler
from exaone_desktop.engine.settings import (
    FIELD_NAMES,
    GenerationSettings,
    LoadSettings,
    SettingsError,
    check_value,
    model_defaults,
    resolve_settings,
    shortest_float32,
)
from exaone_desktop.engine.settings_table import (
    GENERATION_ROWS,
    LOAD_ROWS,
    SETTINGS,
    NotApplied,
    OpenAIParam,
    Setting,
    markdown_table,
)

README = Path(__file__).resolve().parents[1] / "README.md"
NUMERIC = [row for row in SETTINGS if row.value_type in (int, float)]
WITH_FLAG = [row for row in SETTINGS if row.cli]


def ids(rows: list[Setting]) -> list[str]:
    return [row.name for row in rows]


def below(row: Setting) -> float:
    """The largest value just under the valid range."""
    assert row.minimum is not None
    if row.min_exclusive:
        return row.minimum
    return row.minimum - 1 if row.value_type is int else math.nextafter(row.minimum, -math.inf)


def above(row: Setting) -> float:
    assert row.maximum is not None
    return row.maximum + 1 if row.value_type is int else math.nextafter(row.maximum, math.inf)


def lowest(row: Setting) -> float:
    """The smallest valid value (an exclusive minimum's next representable number)."""
    assert row.minimum is not None
    if not row.min_exclusive:
        return row.minimum
    return row.minimum + 1 if row.value_type is int else math.nextafter(row.minimum, math.inf)


def inside(row: Setting) -> list[Any]:
    """The valid bounds, in the row's type."""
    values = ([lowest(row)] if row.minimum is not None else []) + ([row.maximum] if row.maximum is not None else [])
    return [row.value_type(v) for v in values]


def outside(row: Setting) -> list[Any]:
    """Just outside each bound, in the row's type."""
    values = ([below(row)] if row.minimum is not None else []) + ([above(row)] if row.maximum is not None else [])
    return [row.value_type(v) for v in values]


def build(row: Setting, value: Any) -> object:
    """The settings object of the row's scope holding ``value`` (other settings chosen so the rules hold)."""
    if row.scope == "load":
        return LoadSettings(**{row.name: value})
    context = {"do_sample": True} if row.name == "num_return_sequences" else {}
    return GenerationSettings(**context, **{row.name: value})


def flag_value(value: Any) -> str:
    return str(int(value)) if isinstance(value, int) else repr(float(value))


# --- the table and the dataclasses ---------------------------------------------------------------------

def test_dataclasses_are_the_tables_rows_with_its_defaults() -> None:
    assert FIELD_NAMES == set(ids(GENERATION_ROWS))
    assert {f.name for f in dataclasses.fields(LoadSettings)} == set(ids(LOAD_ROWS))
    for row in GENERATION_ROWS:
        assert getattr(GenerationSettings(), row.name) == row.default, row.name
    for row in LOAD_ROWS:
        assert getattr(LoadSettings(), row.name) == row.default, row.name
    for row in SETTINGS:
        assert row.accepts(row.default), f"{row.name}'s default is outside its own range"
        assert row.help and row.help_ko and row.help != row.help_ko, row.name
        assert re.search("[가-힣]", row.help_ko), f"{row.name}: help_ko is not Korean"
        assert row.label and "_" not in row.label, f"{row.name}: the plain-language label is the API name"
        assert re.search("[가-힣]", row.label_ko), f"{row.name}: label_ko is not Korean"


# --- validate() ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_validate_accepts_the_bounds_and_rejects_just_outside_naming_the_range(row: Setting) -> None:
    assert inside(row) and outside(row), f"{row.name} needs at least one bound"
    for value in inside(row):
        assert getattr(build(row, value), row.name) == value
    for value in outside(row):
        with pytest.raises(SettingsError) as err:
            build(row, value)
        assert row.name in str(err.value) and row.range_text() in str(err.value), str(err.value)
    if row.optional:
        assert getattr(build(row, None), row.name) is None
    else:
        with pytest.raises(SettingsError, match=row.name):
            build(row, None)


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_request_models_can_take_the_range(row: Setting) -> None:
    """``Field(**row.bounds())`` in a pydantic request model accepts and refuses what validate() does."""
    from typing import Annotated

    import pydantic

    adapter = pydantic.TypeAdapter(Annotated[row.value_type, pydantic.Field(**row.bounds())])
    for value in inside(row):
        assert adapter.validate_python(value) == value
    for value in outside(row):
        with pytest.raises(pydantic.ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize("row", [r for r in SETTINGS if r.choices], ids=ids([r for r in SETTINGS if r.choices]))
def test_validate_choices(row: Setting) -> None:
    for choice in row.choices:
        assert getattr(build(row, choice), row.name) == choice
    with pytest.raises(SettingsError) as err:
        build(row, "bogus")
    assert "one of " + ", ".join(repr(c) for c in row.choices) in str(err.value)


def test_types_are_checked() -> None:
    with pytest.raises(SettingsError, match="an integer"):
        GenerationSettings(top_k=2.5)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="true or false"):
        GenerationSettings(do_sample=1)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="a number"):
        GenerationSettings(temperature=math.nan)
    with pytest.raises(SettingsError, match="non-empty strings"):
        GenerationSettings(stop=("",))
    with pytest.raises(SettingsError, match="unknown setting"):
        check_value("temprature", 1.0)


def test_rules_between_settings() -> None:
    with pytest.raises(SettingsError, match="temperature must be > 0 when do_sample"):
        GenerationSettings(do_sample=True, temperature=0.0)
    with pytest.raises(SettingsError, match="needs do_sample"):
        GenerationSettings(num_return_sequences=2)
    # A model that samples by default makes several sequences valid without the user saying do_sample.
    assert resolve_settings({"do_sample": True}, num_return_sequences=3).num_return_sequences == 3


def test_top_p_zero_is_valid_and_keeps_the_most_likely_token() -> None:
    """transformers and OpenAI accept top_p = 0: only the most likely token survives."""
    settings = GenerationSettings(do_sample=True, top_p=0.0, temperature=1.5, seed=3)
    logits = np.linspace(-2.0, 2.0, 64, dtype=np.float32)[::-1].copy()
    with TokenSampler(settings, len(logits), history_size=16) as sampler:
        sampler.start([])
        draws = {sampler.sample(logits) for _ in range(50)}
    assert draws == {int(np.argmax(logits))}


# --- the CLI -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", WITH_FLAG, ids=ids(WITH_FLAG))
def test_cli_flag_exists_and_maps_to_the_setting(row: Setting) -> None:
    parser = cli.build_parser()
    base = ["--prompt", "x"]
    assert row.cli is not None
    if row.cli_const is not None:
        assert getattr(parser.parse_args([*base, row.cli]), row.name) == row.cli_const
    elif row.value_type is bool:
        assert getattr(parser.parse_args([*base, row.cli]), row.name) is True
        assert getattr(parser.parse_args([*base, "--no-" + row.cli[2:]]), row.name) is False
    elif row.value_type is tuple:
        assert getattr(parser.parse_args([*base, row.cli, "a", "b"]), row.name) == ["a", "b"]
    elif row.choices:
        for choice in row.choices:
            assert getattr(parser.parse_args([*base, row.cli, choice]), row.name) == choice
    else:
        for value in inside(row):
            assert getattr(parser.parse_args([*base, row.cli, flag_value(value)]), row.name) == value
    assert getattr(parser.parse_args(base), row.name) is None  # not given: the defaults decide
    assert row.summary() in flag_help(row) or row.cli_const is not None


@pytest.mark.parametrize("row", [r for r in WITH_FLAG if r.value_type in (int, float)],
                         ids=ids([r for r in WITH_FLAG if r.value_type in (int, float)]))
def test_cli_out_of_range_is_exit_2_and_one_line(row: Setting, capsys: Any, tmp_path: Path) -> None:
    assert row.cli is not None
    model = tmp_path / "never-loaded.gguf"  # the range is checked before the model is looked at
    for value in outside(row):
        code = cli.main(["--model", str(model), "--prompt", "x", f"{row.cli}={flag_value(value)}"])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("exaone-generate: error: "), err
        assert row.name in err and row.range_text() in err, err


def test_cli_bad_choice_is_exit_2_naming_the_choices(capsys: Any) -> None:
    assert cli.main(["--prompt", "x", "--model", "m.gguf", "--kv-cache-type", "q2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(c in err for c in ("f16", "q8_0", "q4_0")), err


def test_cli_help_shows_ranges(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "[0, 4294967295] or unset" in out and "(0, 100]" in out and "--min-p" in out


def test_python_api_checks_load_settings_before_loading(tmp_path: Path) -> None:
    from exaone_desktop.pipeline import pipeline

    for kwargs, words in (({"n_ctx": -1}, "n_ctx must be an integer in [0, 1048576] or unset"),
                          ({"kv_cache_type": "q2"}, "kv_cache_type must be one of 'f16', 'q8_0', 'q4_0', got 'q2'"),
                          ({"state_cache_mb": -5}, "state_cache_mb must be an integer in [0, 1048576]")):
        with pytest.raises(SettingsError) as err:
            pipeline(tmp_path / "never-loaded.gguf", **kwargs)
        assert words in str(err.value)


# --- the settings panel -------------------------------------------------------------------------------------

def test_panel_widgets_have_the_tables_ranges(qtbot: Any) -> None:
    from exaone_desktop.session.settings_state import FIELDS
    from exaone_desktop.ui.settings_panel import SettingsPanel

    panel = SettingsPanel()
    qtbot.addWidget(panel)
    assert [row.name for row in FIELDS] == [row.name for row in GENERATION_ROWS if row.panel]
    assert set(panel.rows) == {row.name for row in FIELDS}
    for row in GENERATION_ROWS:
        if not row.panel:
            assert row.name not in panel.rows
            continue
        field = panel.rows[row.name]
        editor: Any = field.editor
        if row.value_type not in (int, float):
            continue
        assert editor.maximum() == row.maximum, row.name
        editor.setValue(editor.maximum())
        assert field.value() == row.maximum and isinstance(field.value(), row.value_type), row.name
        editor.setValue(row.smallest())
        assert field.value() == pytest.approx(row.smallest()), row.name
        check_value(row.name, field.value())  # the smallest value the widget offers is valid
        if row.optional:
            editor.setValue(editor.minimum())
            assert field.value() is None, row.name  # one step below the range means "unset"
        else:
            assert editor.minimum() == pytest.approx(row.smallest()), row.name
        if row.min_exclusive:
            assert row.problem(row.minimum) is not None


def test_panel_help_is_the_tables_in_the_ui_language(qtbot: Any) -> None:
    from exaone_desktop.ui import language
    from exaone_desktop.ui.settings_panel import SettingsPanel

    try:
        for lang in ("ko", "en"):
            assert language.install(lang) == lang
            panel = SettingsPanel()
            qtbot.addWidget(panel)
            for name, field in panel.rows.items():
                row = field.spec
                assert field.help_label.text() == (row.help_ko if lang == "ko" else row.help), name
                assert field.editor.toolTip() == field.help_label.text()
                assert field.label.text() == (row.label_ko if lang == "ko" else row.label), name
                assert field.name_label.text() == name  # the transformers name stays beside it
    finally:
        language.install("en")


def test_load_panel_widgets_have_the_tables_ranges(qtbot: Any) -> None:
    """Settings > Model: the load rows' ranges, choices and help (n_ctx 0 is the table's "automatic")."""
    from exaone_desktop.engine.settings_table import ROWS
    from exaone_desktop.session import load_settings
    from exaone_desktop.ui.load_panel import LoadPanel

    panel = LoadPanel()
    qtbot.addWidget(panel)
    for name in ("n_ctx", "state_cache_mb"):
        row, box = ROWS[name], getattr(panel, name)
        assert (box.minimum(), box.maximum()) == (row.minimum, row.maximum), name
        assert box.toolTip() == row.help, name
    kv = ROWS["kv_cache_type"]
    assert [panel.kv_cache_type.itemData(i) for i in range(panel.kv_cache_type.count())] == list(kv.choices)
    assert panel.kv_cache_type.toolTip() == kv.help
    loaded = LoadSettings()
    assert load_settings.change(loaded, "n_ctx", 0).n_ctx is None  # the table's 0: automatic
    for name, value in (("n_ctx", int(above(ROWS["n_ctx"]))), ("state_cache_mb", -1), ("kv_cache_type", "q2")):
        with pytest.raises(SettingsError) as err:
            load_settings.change(loaded, name, value)
        assert str(err.value) == ROWS[name].problem(value)


def test_panel_seed_holds_the_whole_uint32_range(qtbot: Any) -> None:
    from exaone_desktop.ui.settings_panel import SettingsPanel

    panel = SettingsPanel()
    qtbot.addWidget(panel)
    field = panel.rows["seed"]
    changed: list[tuple[str, Any]] = []
    panel.setting_changed.connect(lambda name, value: changed.append((name, value)))
    field.editor.setValue(2**32 - 1)  # type: ignore[attr-defined]
    assert changed[-1] == ("seed", 2**32 - 1)
    assert GenerationSettings(seed=changed[-1][1]).seed == 2**32 - 1


# --- the cloud mapping -----------------------------------------------------------------------------------------

def test_cloud_reports_exactly_the_tables_not_applied_settings() -> None:
    not_applied = [row.name for row in GENERATION_ROWS if isinstance(row.openai, NotApplied)]
    everything_on = GenerationSettings(do_sample=True, top_k=5, min_p=0.1, repetition_penalty=1.2,
                                       enable_thinking=True, truncate="oldest", return_full_text=False)
    assert map_settings(everything_on)[1] == not_applied
    assert map_settings(GenerationSettings())[1] == []  # neutral values: nothing to report
    params = {row.openai.param for row in GENERATION_ROWS if isinstance(row.openai, OpenAIParam)}
    sent = GenerationSettings(do_sample=True, num_return_sequences=2, seed=1, stop=("x",), presence_penalty=0.5,
                              frequency_penalty=0.5, top_p=0.5)
    assert set(map_settings(sent)[0]) == params


# --- the model's defaults ----------------------------------------------------------------------------------------

def test_model_defaults_are_rounded_back_from_float32_in_one_place() -> None:
    stored = float(np.float32(0.7))  # what a GGUF holds for generation_config's 0.7
    assert stored != 0.7 and shortest_float32(stored) == 0.7
    assert shortest_float32(0.7) == 0.7 and shortest_float32(1 / 3) == 1 / 3  # not a float32: unchanged

    class Info:
        sampling_defaults = {"temperature": stored, "top_k": 20, "do_sample": True}

    by_info = model_defaults(Info())
    assert by_info == {"temperature": 0.7, "top_k": 20, "do_sample": True}
    assert model_defaults({"general.sampling.temp": stored, "unknown": 1}) == {"temperature": 0.7}
    assert model_defaults(None) == {}
    from exaone_desktop.session.settings_state import SettingsState, model_defaults_from

    assert model_defaults_from is model_defaults  # the app takes them from the same function
    assert SettingsState(model_defaults=by_info).effective().temperature == 0.7


# --- the README -------------------------------------------------------------------------------------------------

def test_readme_settings_table_is_the_code_table() -> None:
    text = README.read_text(encoding="utf-8")
    assert markdown_table() in text, "README's settings table is out of date: paste markdown_table()'s output"
