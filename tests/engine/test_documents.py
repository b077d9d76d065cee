"""Reading documents: each format to text with its page or section numbers, on Korean and English files the
tests write (``document_files``), and every kind of bad input refused in one line, in the bounded child
process the app, the CLI and the server use.

The HWP files here come from ``cfb_writer`` and records laid out as the HWP 5.0 format describes them (the
same reader was also run by hand on files Hangul itself wrote; those files are not ours to ship)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from exaone_desktop.engine.documents import (
    MAX_DOCUMENT_BYTES,
    Document,
    DocumentError,
    extract_document,
    read_document,
)

from tests.support.document_files import make_docx, make_hwp, make_hwpx, make_pdf

SECTIONS = [
    "계약 기간은 2026년 3월 1일부터 2년이다.\n임대인은 보증금을 계약 종료 후 30일 안에 돌려준다.",
    "The tenant pays a monthly rent of 850,000 won.\nPets are allowed with written consent.",
    "제3조 (해지) 어느 한쪽이 두 달 전에 알리면 계약을 해지할 수 있다.",
]
TABLE = [["항목", "금액"], ["보증금", "5,000,000원"], ["Deposit", "5 million won"]]


def texts(document: Document) -> list[tuple[str, str]]:
    return [(u.label, u.text) for u in document.units]


def assert_sections(document: Document, kind: str) -> None:
    label = "p." if kind == "page" else "section"
    assert [u.label for u in document.units] == [f"{label} {n}" for n in (1, 2, 3)]
    for unit, text in zip(document.units, SECTIONS, strict=True):
        for line in text.split("\n"):
            assert line in unit.text, (unit.label, line, unit.text)
    assert "30일 안에" not in document.units[1].text  # nothing leaks into the wrong unit


def test_pdf_pages_korean_and_english() -> None:
    document = extract_document(make_pdf(SECTIONS), "lease.pdf")
    assert document.format == "PDF"
    assert_sections(document, "page")
    assert "[p. 2]\nThe tenant pays" in document.text


def test_pdf_with_many_distinct_korean_glyphs() -> None:
    """More than 256 glyphs in the font subset: two-byte codes must be read as two bytes."""
    syllables = "".join(chr(0xAC00 + (i * 37) % 11172) for i in range(700))
    document = read_document(make_pdf([syllables[:350], syllables[350:]]), "many.pdf")
    assert "".join(u.text for u in document.units).replace("\n", "") == syllables


def test_docx_pages_and_table() -> None:
    document = extract_document(make_docx(SECTIONS, table=TABLE), "lease.docx")
    assert document.format == "DOCX"
    assert_sections(document, "page")
    assert "보증금 | 5,000,000원" in document.units[0].text
    assert "Deposit | 5 million won" in document.units[0].text


def test_docx_without_page_breaks_is_split_at_headings() -> None:
    document = read_document(make_docx(SECTIONS, page_breaks=False), "lease.docx")
    assert_sections(document, "section")
    assert document.units[0].text.startswith("Section 1\n")


def test_hwpx_sections_and_table() -> None:
    document = extract_document(make_hwpx(SECTIONS, table=TABLE), "lease.hwpx")
    assert document.format == "HWPX"
    assert_sections(document, "section")
    assert "보증금\n5,000,000원" in document.units[0].text


@pytest.mark.parametrize("compressed", [True, False])
def test_hwp_sections_table_and_controls(compressed: bool) -> None:
    sections = [SECTIONS[0] + "\n이름\t홍길동", *SECTIONS[1:]]
    document = extract_document(make_hwp(sections, table=TABLE, compressed=compressed), "lease.hwp")
    assert document.format == "HWP"
    assert [u.label for u in document.units] == ["section 1", "section 2", "section 3"]
    assert "이름\t홍길동" in document.units[0].text  # the tab control (8 code units) is a tab
    assert "보증금\n5,000,000원" in document.units[0].text  # table cells after the table control
    assert "\x0b" not in document.units[0].text and "tbl" not in document.units[0].text
    assert document.units[1].text == SECTIONS[1]


def test_hwp_long_records() -> None:
    """A paragraph over 4094 bytes has its size in an extra 32-bit field."""
    long = "가나다라마바사아자차카타파하 " * 300
    document = read_document(make_hwp([long.strip()]), "long.hwp")
    assert document.units[0].text == long.strip()


def test_text_and_markdown(tmp_path: Path) -> None:
    md = tmp_path / "notes.md"
    md.write_text("# 개요\n첫 절입니다.\n\n## Details\nSecond part.\n", encoding="utf-8")
    document = extract_document(md)
    assert texts(document) == [("section 1", "# 개요\n첫 절입니다."), ("section 2", "## Details\nSecond part.")]
    legacy = tmp_path / "old.txt"
    legacy.write_bytes("한국어 CP949 문서".encode("cp949"))
    assert extract_document(legacy).units[0].text == "한국어 CP949 문서"


def test_scanned_pages_are_listed() -> None:
    document = read_document(make_pdf(["text page", "", "another"], blank=[2]), "scan.pdf")
    assert document.empty_pages == (2,)
    assert document.units[1].text == ""


# -- bad input -----------------------------------------------------------------------------------------------


def encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(["secret"])))
    writer.encrypt("pw", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb(kind: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if kind == "hwpx":
            z.writestr("mimetype", "application/hwp+zip")
        else:
            z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("Contents/section0.xml" if kind == "hwpx" else "word/document.xml", b"\0" * (300 * 2**20))
    return out.getvalue()


BAD: list[tuple[str, object, str]] = [
    ("locked.pdf", encrypted_pdf, "password-protected"),
    ("broken.pdf", lambda: b"%PDF-1.7\n" + b"\x00garbage" * 50, "not a readable PDF"),
    ("locked.docx", lambda: make_hwp(["x"])[:4096], "password-protected"),  # an OLE file, as Office encrypts
    ("broken.docx", lambda: b"PK\x03\x04 not really", "not a valid DOCX"),
    ("bomb.docx", lambda: zip_bomb("docx"), "decompression bomb"),
    ("bomb.hwpx", lambda: zip_bomb("hwpx"), "decompression bomb"),
    ("old.hwp", lambda: b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\0" * 200, "before HWP 5.0"),
    ("v4.hwp", lambda: make_hwp(["x"], version=0x04000000), "not 5.x"),
    ("locked.hwp", lambda: make_hwp(["x"], flags=2), "password-protected"),
    ("shared.hwp", lambda: make_hwp(["x"], flags=4, drop_body=True), "distribution document"),
    ("word.hwp", lambda: make_docx(["x"]), "not an HWP file"),
    ("damaged.hwp", lambda: make_hwp(["x" * 3000])[:-2048], "damaged"),
    ("notes.xlsx", lambda: b"PK", "cannot be read as documents"),
    ("binary.txt", lambda: b"\x00\x01\x02" * 100, "not a text file"),
]


@pytest.mark.parametrize(("name", "make", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_documents_get_one_line(name: str, make, says: str) -> None:
    with pytest.raises(DocumentError) as err:
        extract_document(make(), name)
    message = str(err.value)
    assert says in message, message
    assert "\n" not in message and "Traceback" not in message


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.pdf"
    with open(big, "wb") as f:
        f.truncate(MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(DocumentError, match="documents are limited to 64 MB"):
        extract_document(big)


def test_a_reader_that_runs_out_of_memory_or_time_ends_only_the_child() -> None:
    big = ("가나다라 " * 10 * 2**20).encode("utf-8")  # 130 MB of text: more than the child may take here
    with pytest.raises(DocumentError) as err:
        extract_document(big[:60 * 2**20], "big.txt", memory_limit_mb=160)
    assert "needs more than 160 MB" in str(err.value) or "document reader stopped" in str(err.value)
    assert "\n" not in str(err.value)
    slow = make_pdf(["page"] * 40)
    with pytest.raises(DocumentError, match="took longer than"):
        extract_document(slow, "slow.pdf", time_limit_s=0.01)


def test_cancel_ends_the_reader() -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DocumentError, match="cancelled"):
        extract_document(make_pdf(["page"] * 5), "cancelled.pdf", cancel=cancel)
