"""A document larger than the context is searched per question: a fact on page 40 of a generated 60-page PDF
reaches the prompt from the right chunk with its page, recall@5 over a question set is high with both
tokenizers, and documents that fit go in whole."""

from __future__ import annotations

import base64

import pytest
from exaone_desktop.engine.documents import (
    TOKENIZERS,
    Document,
    DocumentError,
    DocumentIndex,
    Unit,
    chunk_document,
    extract_document,
    file_part,
    resolve_documents,
)

from tests.support.document_corpus import make_corpus
from tests.support.document_files import make_pdf

PAGES = 60


def flat(text: str) -> str:
    """Text with its line wrapping undone (the PDF wraps long lines)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def long_pdf() -> tuple[bytes, list]:
    texts, facts = make_corpus(PAGES)
    return make_pdf(texts), facts


def recall_at_5(index: DocumentIndex, facts: list) -> float:
    hits = sum(any(c.unit == f.page for c in index.search(f.question, 5)) for f in facts)
    return hits / len(facts)


@pytest.mark.parametrize("tokenizer", sorted(TOKENIZERS))
def test_recall_at_5_on_a_60_page_pdf(long_pdf: tuple[bytes, list], tokenizer: str) -> None:
    data, facts = long_pdf
    document = extract_document(data, "report.pdf")
    index = DocumentIndex.of(document, tokenizer)
    recall = recall_at_5(index, facts)
    print(f"recall@5 with {tokenizer}: {recall:.3f}")
    assert recall >= 0.9
    page_40 = next(f for f in facts if f.page == 40)
    best = index.search(page_40.question, 5)
    assert best[0].unit == 40 and best[0].label == "p. 40" and page_40.answer in best[0].text


def test_the_question_about_page_40_gets_that_page_in_its_prompt(long_pdf: tuple[bytes, list]) -> None:
    data, facts = long_pdf
    page_40 = next(f for f in facts if f.page == 40)
    part = {"type": "file", "file": {"filename": "report.pdf",
                                     "file_data": "data:application/pdf;base64," + base64.b64encode(data).decode()}}
    messages = [{"role": "system", "content": "Answer from the document."},
                {"role": "user", "content": [part, {"type": "text", "text": facts[0].question}]},
                {"role": "assistant", "content": "..."},
                {"role": "user", "content": page_40.question}]
    resolved = resolve_documents(messages, context_tokens=4096)
    assert resolved.retrieved == ["report.pdf"] and resolved.whole == []
    last = resolved.messages[-1]["content"]
    assert isinstance(last, str) and last.endswith(page_40.question)
    assert "[p. 40]\n" in last and flat(page_40.text) in flat(last)
    assert ("report.pdf", "p. 40") in [(p.filename, p.label) for p in resolved.passages]
    first = resolved.messages[1]["content"]  # the first question got its own passages, and the note
    assert "too long to include whole" in first and flat(facts[0].text) in flat(first) and "[p. 1]" in first
    # asked again with the next question, the earlier turns are the same text (the prompt cache's prefix)
    again = resolve_documents([*messages, {"role": "assistant", "content": "..."},
                               {"role": "user", "content": "and page 2?"}], context_tokens=4096)
    assert again.messages[:4] == resolved.messages


def test_a_document_that_fits_goes_in_whole_once(tmp_path) -> None:
    doc = tmp_path / "memo.txt"
    doc.write_text("회의는 목요일 오후 3시에 열린다.\nThe meeting is on Thursday at 3 pm.", encoding="utf-8")
    messages = [{"role": "user", "content": [file_part(doc), {"type": "text", "text": "회의는 언제인가요?"}]},
                {"role": "assistant", "content": "목요일 오후 3시입니다."},
                {"role": "user", "content": "Where?"}]
    resolved = resolve_documents(messages, context_tokens=4096)
    assert resolved.whole == ["memo.txt"] and resolved.passages == []
    first, last = resolved.messages[0]["content"], resolved.messages[2]["content"]
    assert first.startswith('<document name="memo.txt">\n[section 1]\n회의는 목요일')
    assert first.endswith("회의는 언제인가요?")
    assert last == "Where?"  # nothing repeated: the follow-up reuses the cached prefix


def test_chunks_stay_within_their_page() -> None:
    units = tuple(Unit("page", n, ("문장입니다. " * 400).strip()) for n in (1, 2))
    chunks = chunk_document(Document("x.pdf", "PDF", units))
    assert {c.unit for c in chunks} == {1, 2} and all(len(c.text) <= 1200 for c in chunks)
    assert all(c.label == f"p. {c.unit}" for c in chunks)


def test_bad_file_parts_are_one_line() -> None:
    for part, says in [({"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,@@"}},
                        "not valid base64"),
                       ({"type": "file", "file": {"file_id": "file-123"}}, "file ids are not supported"),
                       ({"type": "file", "file": {"filename": "a.exe", "file_data": "data:x;base64,AAAA"}},
                        "cannot be read as documents"),
                       ({"type": "file", "file": {"filename": "a.pdf", "path": "/etc/passwd"}},
                        "does not read files")]:
        with pytest.raises(DocumentError, match=says):
            resolve_documents([{"role": "user", "content": [part]}], context_tokens=4096, allow_paths=False)


def test_a_scan_without_text_says_so() -> None:
    data = make_pdf(["", ""], blank=[1, 2])
    part = {"type": "file", "file": {"filename": "scan.pdf",
                                     "file_data": "data:application/pdf;base64," + base64.b64encode(data).decode()}}
    with pytest.raises(DocumentError, match="has no text to read"):
        resolve_documents([{"role": "user", "content": [part, {"type": "text", "text": "요약해 줘"}]}],
                          context_tokens=4096)


def test_scanned_pages_go_to_a_vision_model_as_images() -> None:
    import io

    from PIL import Image

    data = make_pdf(["첫 쪽은 글자가 있다.", "", ""], scans=[2, 3])
    part = {"type": "file", "file": {"filename": "scan.pdf",
                                     "file_data": "data:application/pdf;base64," + base64.b64encode(data).decode()}}
    messages = [{"role": "user", "content": [part, {"type": "text", "text": "무엇이 보이나요?"}]}]
    resolved = resolve_documents(messages, context_tokens=4096, vision=True)
    content = resolved.messages[0]["content"]
    images = [p for p in content if p["type"] == "image_url"]
    assert len(images) == 2 and content[-1]["type"] == "text"
    assert "Pages 2, 3 are scans without text; the images above show them" in content[-1]["text"]
    for page, image in zip((2, 3), images, strict=True):
        url = image["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert picture.size == (300, 420) and picture.getpixel((5, 5)) == (page * 20 % 256, 90, 160)
    text_only = resolve_documents(messages, context_tokens=4096, vision=False).messages[0]["content"]
    assert isinstance(text_only, str) and "첫 쪽은 글자가 있다." in text_only
    assert "(Pages 2, 3 are scans without text.)" in text_only
    scan_only = {"type": "file", "file": {**part["file"], "file_data": "data:application/pdf;base64," +
                                          base64.b64encode(make_pdf(["", ""], scans=[1, 2])).decode()}}
    assert len([p for p in resolve_documents([{"role": "user", "content": [scan_only]}], context_tokens=4096,
                                             vision=True).messages[0]["content"] if p["type"] == "image_url"]) == 2
    with pytest.raises(DocumentError, match="load a model that reads images"):
        resolve_documents([{"role": "user", "content": [scan_only]}], context_tokens=4096, vision=False)
