"""Generation and load settings, validated against the rows of ``settings_table``.

The dataclasses declare each field's name and type once, for type checkers; ``from_rows`` gives each its
row's default and checks that the fields are exactly the table's rows of that scope, with the rows' types.

Generation settings have the names, defaults and validation of transformers' text-generation pipeline.
Precedence, as in transformers: the pipeline's defaults < the model's own generation config (written into
the GGUF as ``general.sampling.*``, read through ``model_defaults``) < values the user set explicitly.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from exaone_convert import SAMPLING_KEYS

from .settings_table import GENERATION_ROWS, LOAD_ROWS, ROWS, Setting


class SettingsError(ValueError):
    """An out-of-range setting; the message names the valid range."""


T = TypeVar("T")
FROM_TABLE: Any = object()  # a field's default in the class body: ``from_rows`` puts its row's default there
_TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str", tuple: "tuple[str, ...]"}


def field_type(row: Setting) -> str:
    """The annotation a dataclass field for ``row`` has ("int | None" for an optional integer)."""
    return _TYPE_NAMES[row.value_type] + (" | None" if row.optional else "")


def from_rows(rows: tuple[Setting, ...]) -> Callable[[type[T]], type[T]]:
    """A class decorator, applied before ``@dataclass``: each field's default becomes its row's default.

    The class's fields must be exactly ``rows``, each annotated as ``field_type(row)`` and set to
    ``FROM_TABLE``; TypeError names the first difference (a row without a field, a field without a row, a
    type the row does not have, a default written in the class).
    """

    def apply(cls: type[T]) -> type[T]:
        declared: dict[str, Any] = dict(cls.__annotations__)
        names = {row.name for row in rows}
        if set(declared) != names:
            raise TypeError(f"{cls.__name__} and the settings table disagree: rows without a field "
                            f"{sorted(names - set(declared))}, fields without a row {sorted(set(declared) - names)}")
        for row in rows:
            if declared[row.name] != field_type(row):
                raise TypeError(f"{cls.__name__}.{row.name} is declared {declared[row.name]!r}; its row says "
                                f"{field_type(row)!r}")
            if cls.__dict__.get(row.name) is not FROM_TABLE:
                raise TypeError(f"{cls.__name__}.{row.name}: write '= FROM_TABLE'; the default is the row's")
            setattr(cls, row.name, row.default)
        return cls

    return apply


@dataclass(frozen=True)
@from_rows(GENERATION_ROWS)
class GenerationSettings:
    """What transformers' ``pipeline("text-generation")`` accepts, plus OpenAI's two penalties.

    Defaults and valid ranges are the rows of ``settings_table.SETTINGS`` (scope "generation").
    """

    max_new_tokens: int = FROM_TABLE
    return_full_text: bool = FROM_TABLE
    do_sample: bool = FROM_TABLE
    temperature: float = FROM_TABLE
    top_k: int = FROM_TABLE
    top_p: float = FROM_TABLE
    min_p: float | None = FROM_TABLE
    repetition_penalty: float = FROM_TABLE
    num_return_sequences: int = FROM_TABLE
    seed: int | None = FROM_TABLE
    stop: tuple[str, ...] = FROM_TABLE
    presence_penalty: float = FROM_TABLE
    frequency_penalty: float = FROM_TABLE
    enable_thinking: bool | None = FROM_TABLE
    truncate: str = FROM_TABLE
    speculative: str | None = FROM_TABLE
    prompt_lookup_num_tokens: int | None = FROM_TABLE
    num_assistant_tokens: int = FROM_TABLE

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            try:
                object.__setattr__(self, "stop", tuple(self.stop))
            except TypeError:
                pass  # not iterable: validate() names the expected type
        validate(self)

    def replace(self, **changes: Any) -> GenerationSettings:
        """A copy with ``changes`` applied (validated); unknown names raise SettingsError."""
        unknown = set(changes) - FIELD_NAMES
        if unknown:
            raise SettingsError(
                f"unknown generation setting(s) {sorted(unknown)}; valid names are {sorted(FIELD_NAMES)}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        return data


FIELD_NAMES: frozenset[str] = frozenset(f.name for f in dataclasses.fields(GenerationSettings))

# Rules between settings, checked after each setting is in its own range (transformers' GenerationConfig).
RULES: tuple[tuple[Callable[[GenerationSettings], bool], Callable[[GenerationSettings], str]], ...] = (
    (lambda s: not s.do_sample or s.temperature > 0,
     lambda s: f"temperature must be > 0 when do_sample is true (got {s.temperature!r}); "
               "use do_sample=False for greedy decoding"),
    (lambda s: s.do_sample or s.num_return_sequences == 1,
     lambda s: "num_return_sequences > 1 needs do_sample=True: greedy decoding gives the same sequence "
               "every time"),
)


def check_value(name: str, value: Any) -> None:
    """Raise SettingsError when ``value`` is outside the range of the setting ``name`` (any scope)."""
    row = ROWS.get(name)
    if row is None:
        raise SettingsError(f"unknown setting {name!r}; valid names are {sorted(ROWS)}")
    problem = row.problem(value)
    if problem is not None:
        raise SettingsError(problem)


def _check_rows(obj: object, rows: tuple[Setting, ...]) -> None:
    for row in rows:
        problem = row.problem(getattr(obj, row.name))
        if problem is not None:
            raise SettingsError(problem)


def validate(s: GenerationSettings) -> None:
    """Raise SettingsError for the first out-of-range value, then for the first broken rule."""
    _check_rows(s, GENERATION_ROWS)
    for holds, message in RULES:
        if not holds(s):
            raise SettingsError(message(s))


def resolve_settings(
    model_defaults: Mapping[str, Any] | None = None, **user_values: Any
) -> GenerationSettings:
    """Pipeline defaults, then the model's generation config, then the user's explicit values.

    ``model_defaults`` maps GenerationSettings field names to values (see ``model_defaults()``);
    ``None`` values among ``user_values`` mean "not set" and do not override.
    """
    merged: dict[str, Any] = {}
    for name, value in (model_defaults or {}).items():
        if name in FIELD_NAMES and value is not None:
            merged[name] = value
    merged.update({k: v for k, v in user_values.items() if v is not None})
    return GenerationSettings().replace(**merged)


# -- the model's own defaults --------------------------------------------------------------------------

# GGUF sampling keys (written by exaone-convert from generation_config.json) -> GenerationSettings fields.
MODEL_DEFAULT_KEYS: Mapping[str, str] = {key: name for name, (key, _) in SAMPLING_KEYS.items()}


class HasSamplingDefaults(Protocol):
    @property
    def sampling_defaults(self) -> Mapping[str, Any]: ...


def shortest_float32(value: float) -> float:
    """The shortest decimal that reads back as the same float32: GGUF's 0.699999988 -> 0.7.

    A value that is not exactly a float32 (a Python float the user typed) is returned unchanged.
    """
    try:
        if struct.unpack("<f", struct.pack("<f", value))[0] != value:
            return value
        for digits in range(1, 10):
            short = float(f"{value:.{digits}g}")
            if struct.unpack("<f", struct.pack("<f", short))[0] == value:
                return short
    except OverflowError:
        pass
    return value


def model_defaults(source: HasSamplingDefaults | Mapping[str, Any] | None) -> dict[str, Any]:
    """A model's sampling defaults as GenerationSettings field names, float32 values rounded back.

    ``source`` is a ``ModelInfo`` (its ``sampling_defaults``) or a mapping by field name or GGUF key. Every
    caller (CLI, app, Python API, server) takes the model's defaults from here.
    """
    sampling: Mapping[str, Any] = (source or {}) if isinstance(source, Mapping) or source is None \
        else source.sampling_defaults
    out: dict[str, Any] = {}
    for key, value in sampling.items():
        name = MODEL_DEFAULT_KEYS.get(key, key)
        if name in FIELD_NAMES and value is not None:
            out[name] = shortest_float32(value) if isinstance(value, float) else value
    return out


# -- load settings -------------------------------------------------------------------------------------

@dataclass(frozen=True)
@from_rows(LOAD_ROWS)
class LoadSettings:
    """How a local model is loaded: the ``LocalGenerator`` keyword arguments of the same names.

    Defaults and valid ranges are the rows of ``settings_table.SETTINGS`` (scope "load"). ``n_ctx`` 0 or
    None means automatic; its upper bound for one model (the trained length) is checked when it loads.
    """

    n_ctx: int | None = FROM_TABLE
    n_threads: int | None = FROM_TABLE
    n_gpu_layers: int = FROM_TABLE
    kv_cache_type: str = FROM_TABLE
    state_cache_mb: int = FROM_TABLE
    assistant_model: str | None = FROM_TABLE

    def __post_init__(self) -> None:
        _check_rows(self, LOAD_ROWS)

    def changed(self) -> dict[str, Any]:
        """The values that differ from the defaults, as keyword arguments (``n_ctx`` 0 is left out)."""
        out = {}
        for row in LOAD_ROWS:
            value = getattr(self, row.name)
            if value != row.default and not (row.name == "n_ctx" and value == 0):
                out[row.name] = value
        return out


LOAD_NAMES: frozenset[str] = frozenset(f.name for f in dataclasses.fields(LoadSettings))
