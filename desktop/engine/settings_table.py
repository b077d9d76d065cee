"""Every user setting of the engine as one row of data, the way a pydantic ``Field`` describes one value.

A row says what a setting is (name, type, default, valid range or choices), how it is explained (one line in
English and in Korean), how it is reached (the ``exaone-generate`` flag, the app's panels) and what an OpenAI
chat-completions request makes of it, sent to the cloud (``openai``) or to ``exaone-serve`` (``served``).
Everything else is derived from these rows: the defaults and validation of ``GenerationSettings`` and
``LoadSettings`` (whose fields are checked against the rows), the CLI's flags and their ``--help``, the
panels' widgets, the cloud request, ``exaone-serve``'s request model, flags and error fields, and the
README's settings table (a test keeps that one in sync).

Scopes: ``generation`` settings apply to one request (``GenerationSettings``); ``load`` settings apply when a
model is loaded (``LoadSettings``, the ``LocalGenerator`` keyword arguments of the same names).

This module imports nothing heavy: the app reads it before any model library is loaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Scope = Literal["generation", "load"]
WidgetKind = Literal["int", "float", "bool", "optional_int", "optional_float", "stop", "tristate", "choice"]

SEED_MAX = 2**32 - 1  # llama.cpp's seeds are uint32
MAX_TOKENS = 1_048_576  # 2**20: above every EXAONE context length


@dataclass(frozen=True)
class OpenAIParam:
    """Sent as the API parameter ``param``; ``convert`` returns the value, or None to leave it out.

    ``convert`` takes the ``GenerationSettings`` being sent (typed loosely here: the settings are made from
    this table, so the table does not import them). ``minimum``/``maximum`` are the API's own limits where
    they are tighter than the row's range: a value outside them is refused with a message rather than
    clamped (by the cloud request and by ``exaone-serve``'s request model alike).
    """

    param: str
    convert: Callable[[Any], Any]
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        return f"`{self.param}`"


@dataclass(frozen=True)
class NotApplied:
    """The API has no such parameter: listed in ``not_applied`` whenever the local engine would apply it."""

    applies: Callable[[Any], bool]  # takes the GenerationSettings being sent

    def describe(self) -> str:
        return "not applied (reported)"


@dataclass(frozen=True)
class Elsewhere:
    """Not a request parameter of its own; ``how`` says what happens to it (never reported as not applied)."""

    how: str

    def describe(self) -> str:
        return self.how


OpenAIMapping = OpenAIParam | NotApplied | Elsewhere


@dataclass(frozen=True)
class Served:
    """What a request to ``exaone-serve`` (the OpenAI API served locally) makes of the setting.

    The request field is the row's OpenAI parameter where it has one (``max_completion_tokens``, ``n``),
    with the API's own range where tighter (``temperature`` 0-2); otherwise it is an extra-body field of the
    setting's own name (``top_k``), or, with ``template``, a variable in ``chat_template_kwargs``. ``older``
    names are accepted too (the earlier one loses when both are sent). ``flag``: ``exaone-serve`` also takes
    the row's flag, as a server-wide default under each request's own value. ``keep_default``: the field
    defaults to the row's default and refuses null (OpenAI's ``n``), instead of "unset".
    """

    note: str  # what the field means on the server, for ``exaone-serve --help``
    older: tuple[str, ...] = ()
    template: bool = False
    flag: bool = True
    keep_default: bool = False


@dataclass(frozen=True)
class Setting:
    """One setting: what it is, its valid values, its help texts, its CLI flag and its OpenAI mapping."""

    name: str
    value_type: type  # int, float, bool, str or tuple (a tuple of strings)
    default: Any
    help: str
    help_ko: str
    scope: Scope = "generation"
    label: str = ""  # what the app's panel calls it, in plain words (the name stays the API)
    label_ko: str = ""
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False  # minimum itself is not allowed (repetition_penalty > 0)
    optional: bool = False  # None is allowed and means "unset"
    choices: tuple[str, ...] = ()
    cli: str | None = None  # the exaone-generate flag; None: not on the command line
    cli_const: Any = None  # the flag takes no value and sets this one (--truncate-history)
    openai: OpenAIMapping = Elsewhere("not applicable")
    served: Served | None = None  # None: exaone-serve's requests do not set it
    panel: bool = True  # the app shows it: Settings > Generation, or for a load row Settings > Model
    step: float = 1  # the panel's spin box step
    decimals: int = 0  # the panel's spin box decimals

    # -- validation ------------------------------------------------------------------------------------

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.value_type is bool:
            return isinstance(value, bool)
        if self.value_type is tuple:
            return isinstance(value, tuple) and all(isinstance(x, str) and x for x in value)
        if self.value_type is str:
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.value_type is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.minimum is not None and (value <= self.minimum if self.min_exclusive else value < self.minimum):
            return False
        return self.maximum is None or value <= self.maximum

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is valid, else one line naming the valid range."""
        if self.accepts(value):
            return None
        shown = list(value) if isinstance(value, tuple) else value
        return f"{self.name} must be {self.expected()}, got {shown!r}"

    def expected(self) -> str:
        """What a valid value is, in words: "an integer in [1, 1048576]", "true or false", ..."""
        unset = " or unset" if self.optional else ""
        if self.value_type is bool:
            return ("true, false" if self.optional else "true or false") + unset
        if self.value_type is tuple:
            return "a list of non-empty strings"
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices) + unset
        if self.value_type is str:
            return "a file path" + unset
        noun = "an integer" if self.value_type is int else "a number"
        both = self.minimum is not None and self.maximum is not None
        return f"{noun} {'in ' if both else ''}{self.range_text()}{unset}"

    def range_text(self) -> str:
        """The numeric range in interval notation ("[0, 1]", "(0, 100]") or with one bound (">= 0")."""
        low, high = _number(self.minimum), _number(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            return f"{'(' if self.min_exclusive else '['}{low}, {high}]"
        if self.minimum is not None:
            return f"{'>' if self.min_exclusive else '>='} {low}"
        if self.maximum is not None:
            return f"<= {high}"
        return "any number"

    def summary(self) -> str:
        """The valid values in a few characters, for the README and ``--help``."""
        if self.value_type is bool:
            return "true/false" + (" or unset" if self.optional else "")
        if self.value_type is tuple:
            return "strings"
        if self.choices:
            return " / ".join(self.choices) + (" or unset" if self.optional else "")
        if self.value_type is str:
            return "a file path" + (" or unset" if self.optional else "")
        return self.range_text() + (" or unset" if self.optional else "")

    def bounds(self) -> dict[str, float]:
        """The numeric range as pydantic ``Field`` keywords (``ge`` or ``gt``, ``le``), for request models."""
        out: dict[str, float] = {}
        if self.minimum is not None:
            out["gt" if self.min_exclusive else "ge"] = self.minimum
        if self.maximum is not None:
            out["le"] = self.maximum
        return out

    # -- exaone-serve's request ----------------------------------------------------------------------------

    @property
    def request_name(self) -> str | None:
        """The request field that sets it on ``exaone-serve`` (for a ``template`` row: its variable in
        ``chat_template_kwargs``); None when requests do not set it."""
        if self.served is None:
            return None
        if isinstance(self.openai, OpenAIParam) and not self.served.template:
            return self.openai.param
        return self.name

    def request_bounds(self) -> dict[str, float]:
        """``bounds()`` narrowed to the OpenAI API's own limits where those are tighter (temperature 0-2)."""
        low, high = self.minimum, self.maximum
        if isinstance(self.openai, OpenAIParam):
            if self.openai.minimum is not None:
                low = self.openai.minimum if low is None else max(low, self.openai.minimum)
            if self.openai.maximum is not None:
                high = self.openai.maximum if high is None else min(high, self.openai.maximum)
        out: dict[str, float] = {}
        if low is not None:
            out["gt" if self.min_exclusive else "ge"] = low
        if high is not None:
            out["le"] = high
        return out

    # -- widgets ---------------------------------------------------------------------------------------

    @property
    def widget(self) -> WidgetKind:
        """The kind of editor the settings panel makes for this row."""
        if self.value_type is bool:
            return "tristate" if self.optional else "bool"
        if self.value_type is tuple:
            return "stop"
        if self.value_type is str:
            return "choice"
        if self.value_type is int:
            return "optional_int" if self.optional else "int"
        return "optional_float" if self.optional else "float"

    def smallest(self) -> float:
        """The smallest valid number at the panel's precision (an exclusive minimum moves up one step)."""
        assert self.minimum is not None, f"{self.name} has no minimum"
        if not self.min_exclusive:
            return self.minimum
        return self.minimum + (1 if self.value_type is int else 10.0**-self.decimals)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


LOAD_ONLY = Elsewhere("not applicable (loading a local model)")
SPEED_ONLY = Elsewhere("extra body, same name (decoding speed only)")

SETTINGS: tuple[Setting, ...] = (
    # -- generation: transformers' text-generation pipeline names and defaults, plus OpenAI's penalties --
    Setting("max_new_tokens", int, 256,
            "Most tokens to generate for one reply.",
            "한 번의 답변에서 생성할 최대 토큰 수입니다.",
            label="Longest reply (tokens)", label_ko="최대 답변 길이(토큰)",
            minimum=1, maximum=MAX_TOKENS, cli="--max-new-tokens",
            openai=OpenAIParam("max_completion_tokens", lambda s: s.max_new_tokens),
            served=Served("unset: the rest of the context (the prompt's tokens subtracted)", older=("max_tokens",))),
    Setting("do_sample", bool, False,
            "Sample at random; off always picks the most likely token (greedy).",
            "무작위로 샘플링합니다. 끄면 항상 가장 가능성 높은 토큰을 고릅니다(greedy).",
            label="Varied replies (sampling)", label_ko="다양한 답변(샘플링)",
            cli="--do-sample", openai=Elsewhere("off: sent as `temperature` 0"),
            served=Served("false is greedy whatever the temperature")),
    Setting("temperature", float, 1.0,
            "Higher is more random; used only when sampling.",
            "높을수록 더 무작위적입니다. 샘플링할 때만 쓰입니다.",
            label="Creativity", label_ko="창의성",
            minimum=0, maximum=100, step=0.05, decimals=2, cli="--temperature",
            openai=OpenAIParam("temperature", lambda s: float(s.temperature) if s.do_sample else 0.0,
                               minimum=0, maximum=2),
            served=Served("0 means greedy (do_sample false); the value is then unused")),
    Setting("top_k", int, 50,
            "Sample only from the k most likely tokens (0 turns it off).",
            "가능성이 높은 k개 토큰 중에서만 샘플링합니다(0이면 끔).",
            label="Pick from the top k words", label_ko="상위 k개 단어에서 고르기",
            minimum=0, maximum=1_000_000, cli="--top-k",
            openai=NotApplied(lambda s: s.do_sample and s.top_k != 0),
            served=Served("0 disables it; ties with the k-th logit stay (transformers)")),
    Setting("top_p", float, 1.0,
            "Sample from the smallest set of tokens whose probability reaches p (0 keeps only the top one).",
            "확률 합이 p에 이르는 가장 작은 토큰 집합에서 샘플링합니다(0이면 가장 가능성 높은 토큰만).",
            label="Pick from the likeliest words", label_ko="가능성 높은 단어에서 고르기",
            minimum=0, maximum=1, step=0.05, decimals=2, cli="--top-p",
            openai=OpenAIParam("top_p", lambda s: float(s.top_p) if s.do_sample else None),
            served=Served("nucleus after temperature and top_k, as transformers' TopPLogitsWarper")),
    Setting("min_p", float, None,
            "Drop tokens less likely than this fraction of the top one (unset: off).",
            "가장 가능성 높은 토큰 대비 이 비율보다 낮은 토큰을 버립니다(미설정: 끔).",
            label="Leave out unlikely words", label_ko="가능성 낮은 단어 빼기",
            minimum=0, maximum=1, optional=True, step=0.01, decimals=2, cli="--min-p",
            openai=NotApplied(lambda s: s.do_sample and bool(s.min_p)),
            served=Served("a fraction of the most likely token's probability")),
    Setting("repetition_penalty", float, 1.0,
            "Above 1 discourages repeating earlier tokens (1 turns it off).",
            "1보다 크면 앞에 나온 토큰의 반복을 억제합니다(1이면 끔).",
            label="Avoid repeating", label_ko="반복 줄이기",
            minimum=0, maximum=100, min_exclusive=True, step=0.05, decimals=2, cli="--repetition-penalty",
            openai=NotApplied(lambda s: s.repetition_penalty != 1.0),
            served=Served("over prompt and generated tokens")),
    Setting("presence_penalty", float, 0.0,
            "Penalise tokens that already appeared at all.",
            "이미 한 번이라도 나온 토큰에 벌점을 줍니다.",
            label="Move on to new topics", label_ko="새 주제로 넘어가기",
            minimum=-2, maximum=2, step=0.1, decimals=2, cli="--presence-penalty",
            openai=OpenAIParam("presence_penalty", lambda s: float(s.presence_penalty) or None),
            served=Served("OpenAI semantics, over the generated tokens")),
    Setting("frequency_penalty", float, 0.0,
            "Penalise tokens by how often they already appeared.",
            "이미 나온 횟수만큼 토큰에 벌점을 줍니다.",
            label="Avoid overused words", label_ko="자주 쓴 단어 줄이기",
            minimum=-2, maximum=2, step=0.1, decimals=2, cli="--frequency-penalty",
            openai=OpenAIParam("frequency_penalty", lambda s: float(s.frequency_penalty) or None),
            served=Served("OpenAI semantics, over the generated tokens")),
    Setting("seed", int, None,
            "Makes sampling repeatable (unset: a new random seed each time).",
            "샘플링을 재현할 수 있게 합니다(미설정: 매번 새 난수 시드).",
            label="Repeatable replies (seed)", label_ko="같은 답변 다시 얻기(시드)",
            minimum=0, maximum=SEED_MAX, optional=True, cli="--seed",
            openai=OpenAIParam("seed", lambda s: s.seed),
            served=Served("same seed, same settings, same prompt: the same text as exaone-generate --seed",
                          flag=False)),
    Setting("stop", tuple, (),
            "Stop the reply when one of these strings appears.",
            "이 문자열 중 하나가 나오면 답변을 멈춥니다.",
            label="Stop at these texts", label_ko="이 문자열에서 멈추기",
            cli="--stop", openai=OpenAIParam("stop", lambda s: list(s.stop) or None),
            served=Served("the text ends before the first stop string (it is not included)")),
    Setting("num_return_sequences", int, 1,
            "How many replies to generate (needs sampling); the chat shows the first.",
            "생성할 답변 수입니다(샘플링 필요). 대화에는 첫 번째 답변이 보입니다.",
            label="Replies to write", label_ko="만들 답변 수",
            minimum=1, maximum=64, cli="--num-return-sequences",
            openai=OpenAIParam("n", lambda s: s.num_return_sequences if s.num_return_sequences > 1 else None),
            served=Served("more than 1 needs sampling", flag=False, keep_default=True)),
    Setting("return_full_text", bool, True,
            "Plain prompts only: return the prompt together with the reply.",
            "일반 프롬프트에만 해당: 답변과 함께 프롬프트도 돌려줍니다.",
            label="Return the prompt too", label_ko="프롬프트도 돌려주기",
            cli="--return-full-text", openai=Elsewhere("applied by the caller")),
    Setting("enable_thinking", bool, None,
            "Reasoning models: think before answering (unset: the model's default).",
            "추론 모델: 답하기 전에 생각합니다(미설정: 모델 기본값).",
            label="Think before answering", label_ko="답하기 전에 생각하기",
            optional=True, cli="--enable-thinking",
            openai=NotApplied(lambda s: s.enable_thinking is not None),
            served=Served('{"enable_thinking": true} lets EXAONE reason first', template=True)),
    Setting("truncate", str, "error",
            "When a conversation outgrows the context: stop with an error, or drop the oldest turns "
            "(never the system prompt or the last message).",
            "대화가 컨텍스트보다 길어지면 오류로 멈추거나, 가장 오래된 턴부터 버립니다"
            "(시스템 프롬프트와 마지막 메시지는 남김).",
            label="When a chat gets too long", label_ko="대화가 너무 길어지면",
            choices=("error", "oldest"), cli="--truncate-history", cli_const="oldest", panel=False,
            openai=Elsewhere("not applicable (the cloud keeps its own context)")),
    # -- speculative decoding: transformers' names; the speed changes, the distribution of the text does not --
    Setting("speculative", str, None,
            "Speculative decoding: draft tokens and check them in one step (same text distribution, often "
            "faster). on: every step; auto: only while it pays on this machine; off: never; unset: as "
            "transformers, only when prompt_lookup_num_tokens or an assistant model is set.",
            "추측 디코딩: 토큰을 미리 제안하고 한 번에 검증합니다(같은 분포, 흔히 더 빠름). on: 매 단계, "
            "auto: 이 컴퓨터에서 이득일 때만, off: 사용 안 함, 미설정: transformers처럼 "
            "prompt_lookup_num_tokens나 보조 모델이 있을 때만.",
            label="Speculative decoding", label_ko="추측 디코딩",
            optional=True, choices=("off", "on", "auto"), cli="--speculative", openai=SPEED_ONLY,
            served=Served("off / on / auto drafting (speed only, same distribution); --parallel above 1 decodes "
                                   "without drafts")),
    Setting("prompt_lookup_num_tokens", int, None,
            "Prompt lookup: draft up to this many tokens that followed the last words earlier in the prompt "
            "or the reply (rewriting, editing, quoting); unset: off, or 10 with speculative on/auto.",
            "프롬프트 조회: 마지막 단어들이 프롬프트나 답변 앞쪽에서 나온 곳의 다음 토큰을 이 개수까지 "
            "제안합니다(고쳐 쓰기, 편집, 인용). 미설정: 끔, speculative가 on/auto이면 10.",
            label="Draft from the text so far (tokens)", label_ko="앞 내용에서 초안(토큰)",
            minimum=1, maximum=64, optional=True, cli="--prompt-lookup-num-tokens", openai=SPEED_ONLY,
            served=Served("draft by prompt lookup")),
    Setting("num_assistant_tokens", int, 20,
            "Tokens the assistant model drafts per step (the most, with speculative auto).",
            "보조 모델이 한 단계에 제안하는 토큰 수입니다(자동 모드에서는 최대값).",
            label="Draft model's tokens per step", label_ko="보조 모델의 단계별 초안(토큰)",
            minimum=1, maximum=64, cli="--num-assistant-tokens", openai=SPEED_ONLY,
            served=Served("drafts per step of --assistant-model")),
    # -- load: how a local model is loaded ---------------------------------------------------------------
    Setting("n_ctx", int, None,
            "Context size in tokens (0 or unset: automatic, at most the model's trained length).",
            "컨텍스트 크기(토큰 수)입니다(0 또는 미설정: 자동, 모델의 학습 길이 이하).",
            label="Context size (tokens)", label_ko="컨텍스트 크기(토큰)",
            scope="load", minimum=0, maximum=MAX_TOKENS, optional=True, cli="--n-ctx",
            openai=LOAD_ONLY),
    Setting("kv_cache_type", str, "f16",
            "Precision of the KV cache: f16, or q8_0 / q4_0 for half or a quarter of its memory.",
            "KV 캐시의 정밀도입니다. f16, 또는 메모리를 절반으로 줄이는 q8_0 / 4분의 1로 줄이는 q4_0.",
            label="Context memory precision", label_ko="컨텍스트 메모리 정밀도",
            scope="load", choices=("f16", "q8_0", "q4_0"), cli="--kv-cache-type", openai=LOAD_ONLY),
    Setting("n_gpu_layers", int, -1,
            "Layers to offload to the GPU (-1: all, 0: none).",
            "GPU로 옮길 레이어 수입니다(-1: 전부, 0: 없음).",
            label="Layers on the GPU", label_ko="GPU에 올릴 레이어",
            scope="load", minimum=-1, maximum=100_000, cli="--n-gpu-layers", openai=LOAD_ONLY),
    Setting("n_threads", int, None,
            "CPU threads (unset: llama.cpp's choice).",
            "CPU 스레드 수입니다(미설정: llama.cpp가 정함).",
            label="CPU threads", label_ko="CPU 스레드",
            scope="load", minimum=1, maximum=1024, optional=True, cli="--threads", openai=LOAD_ONLY),
    Setting("state_cache_mb", int, 1024,
            "Memory in MB for keeping the state of recent conversations (0: keep none).",
            "최근 대화의 상태를 보관할 메모리(MB)입니다(0: 보관 안 함).",
            label="Memory for kept chats", label_ko="보관할 대화용 메모리",
            scope="load", minimum=0, maximum=1_048_576, cli="--state-cache-mb", openai=LOAD_ONLY),
    Setting("assistant_model", str, None,
            "A smaller GGUF with the same tokenizer that drafts tokens for the model (speculative decoding), "
            "e.g. EXAONE-4.0-1.2B for EXAONE-4.0-32B.",
            "같은 토크나이저를 쓰는 더 작은 GGUF로, 모델 대신 토큰을 미리 제안합니다(추측 디코딩). "
            "예: EXAONE-4.0-32B에는 EXAONE-4.0-1.2B.",
            label="Draft model (GGUF)", label_ko="보조 모델(GGUF)",
            scope="load", optional=True, cli="--assistant-model", panel=False, openai=LOAD_ONLY),
)  # fmt: skip

ROWS: Mapping[str, Setting] = {row.name: row for row in SETTINGS}
GENERATION_ROWS: tuple[Setting, ...] = tuple(row for row in SETTINGS if row.scope == "generation")
LOAD_ROWS: tuple[Setting, ...] = tuple(row for row in SETTINGS if row.scope == "load")
SERVED_ROWS: tuple[Setting, ...] = tuple(row for row in SETTINGS if row.served is not None)


def not_applied_names() -> tuple[str, ...]:
    """The settings the OpenAI API has no parameter for (reported when they would apply)."""
    return tuple(row.name for row in SETTINGS if isinstance(row.openai, NotApplied))


def _default_text(row: Setting) -> str:
    if row.default is None:
        return "unset"
    if isinstance(row.default, bool):
        return str(row.default).lower()
    if isinstance(row.default, tuple):
        return "none" if not row.default else ", ".join(row.default)
    return str(row.default)


def _flag_text(row: Setting) -> str:
    if row.cli is None:
        return "—"
    if row.value_type is bool:
        return f"`{row.cli}` / `--no-{row.cli[2:]}`"
    return f"`{row.cli}`"


def _served_text(row: Setting) -> str:
    name = row.request_name
    if row.served is None or name is None:
        return "—"
    if row.served.template:
        return f"`chat_template_kwargs.{name}`"
    names = " / ".join(f"`{n}`" for n in (name, *row.served.older))
    return names if isinstance(row.openai, OpenAIParam) else names + " (extra body)"


README_HEADER = ("| setting | scope | default | valid values | `exaone-generate` flag | cloud request (OpenAI) "
                 "| `exaone-serve` request |\n|---|---|---|---|---|---|---|")


def markdown_table() -> str:
    """The README's settings table, one line per row."""
    lines = [README_HEADER]
    for row in SETTINGS:
        cells = (f"`{row.name}`", row.scope, _default_text(row), row.summary().replace("|", "\\|"),
                 _flag_text(row), row.openai.describe(), _served_text(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
