"""Fenced code blocks found in a reply's Markdown (the chat view's copy links), and distinct chat titles."""

from __future__ import annotations

from exaone_desktop.session.chat_session import distinct_title
from exaone_desktop.session.code_blocks import code_blocks, copy_target, with_copy_links


def test_fences_of_backticks_and_tildes_longer_fences_and_an_open_fence_while_streaming() -> None:
    text = "a\n```py\nx = 1\n```\nb\n~~~~\n```\nnot a fence end\n~~~~\n  ```\n  indented\n  ```\n```\nstill open"
    assert code_blocks(text) == ["x = 1", "```\nnot a fence end", "indented", "still open"]
    assert code_blocks("inline ``` code ``` only") == []
    assert code_blocks("no code") == [] and with_copy_links("no code", "Copy") == "no code"


def test_copy_links_sit_above_each_block_and_name_it() -> None:
    linked = with_copy_links("x\n```\n1\n```\n```\n2\n```", "Copy code")
    assert linked.count("[Copy code](copy-code:0)") == 1 and linked.count("[Copy code](copy-code:1)") == 1
    assert linked.index("copy-code:0") < linked.index("1\n") < linked.index("copy-code:1")
    assert code_blocks(linked) == ["1", "2"]
    assert copy_target("copy-code:1") == 1 and copy_target("https://example.com") is None
    assert copy_target("copy-code:x") is None


def test_a_title_another_chat_has_gets_a_number() -> None:
    assert distinct_title("Hello", set()) == "Hello"
    assert distinct_title("Hello", {"Hello"}) == "Hello (2)"
    assert distinct_title("Hello", {"Hello", "Hello (2)"}) == "Hello (3)"
