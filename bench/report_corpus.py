"""The benchmark's documents: a long internal report with one findable fact per page, as a PDF (fpdf2, which the
test extra brings, with a Korean font) and as an HWPX package (a zip of OWPML XML, what ``read_hwpx`` reads).

Each fact comes with two questions: one worded like the page (particles changed) and a terse one, as people type
into a search box (key words, no particles or spaces). Facts share their words (departments, projects, people)
across pages, so a question finds its page only through the words that together single it out. Odd pages are
Korean, even pages English; the report is the same for the same ``seed``.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

DEPARTMENTS = ("인사팀", "재무팀", "법무팀", "구매팀", "품질팀", "홍보팀", "설계팀", "영업팀", "물류팀", "연구팀",
               "전산팀", "총무팀", "감사팀", "기획팀")
PROJECTS = ("급여 개편", "전자 결재", "협력사 평가", "사옥 이전", "재고 실사", "안전 교육", "문서 전산화",
            "고객 설문")
OWNERS = ("한지민", "오세훈", "신유나", "배준서", "송하린", "문재원", "권나래", "황도현", "서예린", "노승우")
TEAMS = ("Payroll", "Legal", "Procurement", "Quality", "Design", "Logistics", "Research", "Sales", "Facilities",
         "Marketing")
ASSETS = ("server racks", "test benches", "delivery vans", "office laptops", "lab scales", "print queues",
          "badge readers", "cold storage units")
BACKGROUND = (
    "본 보고서는 부서별 추진 과제와 책임자를 분기 단위로 정리한 것이다.",
    "과제 책임자는 진행 상황을 매월 경영지원실에 공유한다.",
    "예산 변경은 재무 검토를 거친 뒤 확정된다.",
    "일정은 내부 사정에 따라 조정될 수 있다.",
    "Every team lists its assets in the register once a quarter.",
    "Counts in this register exclude items on loan to other sites.",
    "Asset tags are renewed when an item moves between buildings.",
    "수치는 보고 시점 기준이며 결산 후 달라질 수 있다.",
)


@dataclass(frozen=True)
class PageFact:
    page: int
    sentence: str
    question: str  # worded like the page
    terse: str  # the key words only
    answer: str


def _korean(page: int, rng: random.Random, pair: tuple[str, str]) -> PageFact:
    department, project = pair
    owner = rng.choice(OWNERS)
    return PageFact(page,
                    f"{department}의 {project} 과제는 {owner} 책임이 이끌며, 마감은 {rng.randrange(1, 13)}월 "
                    f"{rng.randrange(1, 29)}일이다.",
                    f"{department}에서 {project} 과제를 이끄는 책임자는 누구인가요?",
                    f"{department} {project.replace(' ', '')} 책임자", owner)


def _english(page: int, rng: random.Random, pair: tuple[str, str]) -> PageFact:
    team, asset = pair
    count = rng.randrange(12, 480)
    return PageFact(page,
                    f"The {team} team registered {count} {asset} this quarter, audited by the site office.",
                    f"How many {asset} did the {team} team register this quarter?",
                    f"{team} {asset} count", str(count))


def report(pages: int, seed: int = 0) -> tuple[list[str], list[PageFact]]:
    """(page texts, the fact each page holds)."""
    rng = random.Random(f"report:{seed}")
    korean = [(d, p) for d in DEPARTMENTS for p in PROJECTS]
    english = [(t, a) for t in TEAMS for a in ASSETS]
    rng.shuffle(korean)
    rng.shuffle(english)
    texts, facts = [], []
    for page in range(1, pages + 1):
        if page % 2:
            fact = _korean(page, rng, korean[(page // 2) % len(korean)])
        else:
            fact = _english(page, rng, english[(page // 2) % len(english)])
        body = [BACKGROUND[rng.randrange(len(BACKGROUND))] for _ in range(13)]
        body.insert(rng.randrange(2, 12), fact.sentence)
        texts.append("\n".join(body))
        facts.append(fact)
    return texts, facts


def korean_font_file() -> Path:
    """A font file with Hangul, as fontconfig lists it (``fc-list :lang=ko``)."""
    fc = shutil.which("fc-list")
    listed = subprocess.run([fc, ":lang=ko", "file"], capture_output=True, text=True).stdout if fc else ""
    files = sorted((Path(line.split(":", 1)[0].strip()) for line in listed.splitlines() if line.strip()),
                   key=lambda f: ("Regular" not in f.name, f.name))
    if not files:
        raise SystemExit("no Korean font found by fontconfig: install one (Debian/Ubuntu: apt install fonts-noto-cjk)")
    return files[0]


def report_pdf(texts: Sequence[str]) -> bytes:
    """One A4 page per text (fpdf2, from the test extra: ``pip install 'exaone-desktop[test]'``)."""
    try:
        from fpdf import FPDF
    except ImportError:
        raise SystemExit("bench_documents writes its PDF with fpdf2: pip install 'exaone-desktop[test]'") from None
    doc = FPDF(format="A4")
    doc.set_auto_page_break(False)
    doc.add_font("hangul", fname=str(korean_font_file()))
    doc.set_font("hangul", size=11)
    for text in texts:
        doc.add_page()
        doc.set_xy(15, 15)
        doc.multi_cell(180, 6, text)
    return bytes(doc.output())


_OWPML = {"hs": "http://www.hancom.co.kr/hwpml/2011/section", "hp": "http://www.hancom.co.kr/hwpml/2011/paragraph"}


def _section_xml(text: str) -> bytes:
    for prefix, uri in _OWPML.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(f"{{{_OWPML['hs']}}}sec")
    for line in text.splitlines():
        run = ET.SubElement(ET.SubElement(root, f"{{{_OWPML['hp']}}}p"), f"{{{_OWPML['hp']}}}run")
        ET.SubElement(run, f"{{{_OWPML['hp']}}}t").text = line
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def report_hwpx(sections: Sequence[str]) -> bytes:
    """An HWPX package with one ``Contents/sectionN.xml`` per text, each line a paragraph (the ``mimetype``
    member first and stored, as Hangul writes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        for number, text in enumerate(sections):
            package.writestr(f"Contents/section{number}.xml", _section_xml(text))
    return buffer.getvalue()
