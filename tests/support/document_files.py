"""Documents the tests write: PDF (fpdf2 with a Korean font), DOCX (python-docx), HWPX (zip of OWPML XML) and
HWP 5.0 (an OLE compound file from ``cfb_writer``, with records as Hangul writes them), each from the same
list of pages or sections of text."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.support.cfb_writer import write_cfb

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts",
             "C:/Windows/Fonts")
FONT_NAMES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKkr-Regular.otf", "NotoSansKR-Regular.ttf",
              "AppleSDGothicNeo.ttc", "malgun.ttf")


def korean_font() -> Path:
    """A font with Hangul glyphs (fonts-noto-cjk, which .ci/dev installs); the test is skipped without one
    outside CI, and fails in CI."""
    for folder in FONT_DIRS:
        for dirpath, _, files in os.walk(folder):
            for name in FONT_NAMES:
                if name in files:
                    return Path(dirpath) / name
    if os.environ.get("CI"):
        pytest.fail("no Korean font found; .ci/dev installs fonts-noto-cjk")
    pytest.skip("no Korean font (install fonts-noto-cjk) to write Korean PDFs with")


def make_pdf(pages: Sequence[str], *, blank: Sequence[int] = (), scans: Sequence[int] = ()) -> bytes:
    """A PDF with one page per text (``blank``: 1-based pages left without text; ``scans``: pages that are only
    an image, as a scanner makes them: a PNG 300 x 420 pixels, its colour from the page number)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("kr", fname=str(korean_font()))
    pdf.set_font("kr", size=11)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        if number in blank:
            pdf.rect(20, 20, 100, 100)
            continue
        if number in scans:
            from PIL import Image

            pdf.image(Image.new("RGB", (300, 420), (number * 20 % 256, 90, 160)), x=10, y=10, w=150)
            continue
        pdf.set_xy(15, 15)
        pdf.multi_cell(180, 6, text)
    return bytes(pdf.output())


def make_docx(sections: Sequence[str], *, table: Sequence[Sequence[str]] = (), page_breaks: bool = True) -> bytes:
    """A .docx with a heading and the text of each section (a page break between them unless not
    ``page_breaks``) and, after the first section, a table of ``table``'s rows."""
    import docx

    document = docx.Document()
    for number, text in enumerate(sections, start=1):
        if number > 1 and page_breaks:
            document.add_page_break()
        document.add_heading(f"Section {number}", level=1)
        for line in text.split("\n"):
            document.add_paragraph(line)
        if number == 1 and table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"


def _hwpx_paragraph(text: str) -> str:
    return f'<hp:p id="0" paraPrIDRef="0"><hp:run charPrIDRef="0"><hp:t>{escape(text)}</hp:t></hp:run></hp:p>'


def _hwpx_table(rows: Sequence[Sequence[str]]) -> str:
    cells = "".join("<hp:tr>" + "".join(f"<hp:tc><hp:subList>{_hwpx_paragraph(v)}</hp:subList></hp:tc>" for v in row)
                    + "</hp:tr>" for row in rows)
    return f'<hp:p id="0"><hp:run charPrIDRef="0"><hp:tbl rowCnt="{len(rows)}">{cells}</hp:tbl></hp:run></hp:p>'


def make_hwpx(sections: Sequence[str], *, table: Sequence[Sequence[str]] = ()) -> bytes:
    """An HWPX package: mimetype, version, Contents/content.hpf and one Contents/sectionN.xml per text (each line
    a paragraph; ``table`` as a table in the first section)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip")  # stored, first, as Hangul writes it
        z.writestr("version.xml", '<?xml version="1.0" encoding="UTF-8"?><hv:HCFVersion xmlns:hv='
                                  '"http://www.hancom.co.kr/hwpml/2011/version" major="5" minor="1"/>')
        items = "".join(f'<opf:item id="section{i}" href="Contents/section{i}.xml" media-type="application/xml"/>'
                        for i in range(len(sections)))
        z.writestr("Contents/content.hpf", '<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf='
                                           f'"http://www.idpf.org/2007/opf/"><opf:manifest>{items}</opf:manifest>'
                                           "</opf:package>", compress_type=zipfile.ZIP_DEFLATED)
        for i, text in enumerate(sections):
            body = "".join(_hwpx_paragraph(line) for line in text.split("\n"))
            if i == 0 and table:
                body += _hwpx_table(table)
            z.writestr(f"Contents/section{i}.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}">{body}</hs:sec>',
                       compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# HWP 5.0 -------------------------------------------------------------------------------------------------

HWPTAG_PARA_HEADER, HWPTAG_PARA_TEXT, HWPTAG_CTRL_HEADER, HWPTAG_LIST_HEADER = 66, 67, 71, 72


def _record(tag: int, data: bytes, level: int = 0) -> bytes:
    size = len(data)
    if size >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, size) + data
    return struct.pack("<I", tag | level << 10 | size << 20) + data


def _para(text: str, level: int = 0, *, controls: bytes = b"") -> bytes:
    """A paragraph: its header and its text (``controls`` are code units put before the text), ending in 13."""
    body = controls + text.encode("utf-16-le") + struct.pack("<H", 13)
    header = struct.pack("<IIHBB", len(body) // 2, 0, 0, 0, 0) + b"\0" * 10
    return _record(HWPTAG_PARA_HEADER, header, level) + _record(HWPTAG_PARA_TEXT, body, level + 1)


def _extended(code: int, kind: bytes) -> bytes:
    """An extended control in paragraph text: 8 code units (the code, the control's 4-letter id, the code)."""
    return struct.pack("<H", code) + kind[::-1] + b"\0" * 8 + struct.pack("<H", code)


def hwp_section(text: str, table: Sequence[Sequence[str]] = ()) -> bytes:
    """A BodyText section's records: one paragraph per line (a tab inside a line is HWP's tab control), and a
    table whose cells are paragraphs of their own, as Hangul stores them."""
    out = b""
    for line in text.split("\n"):
        pieces = line.split("\t")
        units = b""
        for k, piece in enumerate(pieces):
            units += piece.encode("utf-16-le")
            if k < len(pieces) - 1:
                units += struct.pack("<H", 9) + b"\0" * 12 + struct.pack("<H", 9)  # tab: an inline control
        body = units + struct.pack("<H", 13)
        header = struct.pack("<IIHBB", len(body) // 2, 0, 0, 0, 0) + b"\0" * 10
        out += _record(HWPTAG_PARA_HEADER, header) + _record(HWPTAG_PARA_TEXT, body, 1)
    if table:
        out += _para("", controls=_extended(11, b"tbl "))
        out += _record(HWPTAG_CTRL_HEADER, b"tbl "[::-1] + b"\0" * 40, 1)
        for row in table:
            for cell in row:
                out += _record(HWPTAG_LIST_HEADER, b"\0" * 34, 2) + _para(cell, 2)
    return out


def make_hwp(sections: Sequence[str], *, table: Sequence[Sequence[str]] = (), compressed: bool = True,
             version: int = 0x05010000, flags: int = 0, drop_body: bool = False) -> bytes:
    """An HWP 5.0 file: FileHeader (signature, ``version``, properties with the compressed bit), DocInfo and
    BodyText/SectionN streams (raw deflate when ``compressed``)."""
    props = flags | (1 if compressed else 0)
    header = b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", version, props) + b"\0" * 216
    streams = {"FileHeader": header, "DocInfo": _pack(_record(16, b"\0" * 26), compressed)}
    if not drop_body:
        for i, text in enumerate(sections):
            streams[f"BodyText/Section{i}"] = _pack(hwp_section(text, table if i == 0 else ()), compressed)
    else:
        streams["ViewText/Section0"] = os.urandom(512)
    streams["PrvText"] = sections[0][:100].encode("utf-16-le") if sections else b""
    return write_cfb(streams)


def _pack(data: bytes, compressed: bool) -> bytes:
    if not compressed:
        return data
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()
