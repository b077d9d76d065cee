"""A long document with one findable fact per page, and the questions about them, for the retrieval tests (the
benchmark writes a report of its own: bench/report_corpus.py). Facts reuse the same words (offices, subjects,
people) across pages, so a question only finds its page through the words that together single it out."""

from __future__ import annotations

import random
from dataclasses import dataclass

CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산",
          "세종", "수원", "창원", "청주", "전주", "포항", "제주"]
SUBJECTS = ["보안 점검", "회계 감사", "신입 교육", "장비 구매",
            "고객 상담", "자료 보관", "차량 관리", "시설 보수"]
PEOPLE = ["김민서", "이준호", "박지우", "최서연", "정하늘", "강도윤", "조은비", "윤태민", "장서진", "임가온"]
EN_CITIES = ["Seoul", "Busan", "Daegu", "Incheon", "Gwangju", "Daejeon", "Ulsan", "Sejong", "Suwon", "Jeonju"]
EN_SUBJECTS = ["security audit", "payroll review", "training budget", "vehicle fleet", "archive room",
               "customer hotline", "network upgrade", "fire drill"]
FILLER = [
    "이 문서는 각 지사의 운영 현황을 정리한 내부 보고서이다.",
    "담당자는 분기마다 결과를 본사에 보고하고 다음 계획을 세운다.",
    "모든 지사는 예산 집행 내역을 투명하게 관리해야 한다.",
    "회의록과 결재 문서는 규정에 따라 보관한다.",
    "Each office reports its results to headquarters every quarter.",
    "The budget tables in this report are in thousands of won.",
    "Staff members rotate between offices according to the annual plan.",
    "보고서의 숫자는 잠정치이며 최종 결산에서 바뀔 수 있다.",
]


@dataclass(frozen=True)
class Fact:
    page: int
    text: str
    question: str
    answer: str


def make_corpus(pages: int, seed: int = 0) -> tuple[list[str], list[Fact]]:
    """(page texts, one fact per page with a question about it): odd pages Korean, even pages English."""
    rng = random.Random(seed)
    ko_pairs = [(c, s) for c in CITIES for s in SUBJECTS]
    en_pairs = [(c, s) for c in EN_CITIES for s in EN_SUBJECTS]
    rng.shuffle(ko_pairs)
    rng.shuffle(en_pairs)
    texts: list[str] = []
    facts: list[Fact] = []
    for page in range(1, pages + 1):
        if page % 2:
            city, subject = ko_pairs[page % len(ko_pairs)]
            person, amount = rng.choice(PEOPLE), rng.randrange(100, 999) * 10
            fact = Fact(page, f"{city} 지사의 {subject} 업무는 {person} 팀장이 맡고 있으며, 올해 {subject} 예산은 "
                              f"{amount}만 원으로 정해졌다.",
                        f"{city} 지사에서 {subject}을 맡은 사람은 누구이고 예산은 얼마인가요?", person)
        else:
            city, subject = en_pairs[page % len(en_pairs)]
            room = rng.randrange(100, 999)
            fact = Fact(page, f"The {city} office keeps its {subject} records in room {room}, and the file is "
                              f"reviewed every {rng.choice(['March', 'June', 'September', 'December'])}.",
                        f"In which room does the {city} office keep the {subject} records?", str(room))
        lines = [rng.choice(FILLER) for _ in range(14)]
        lines.insert(rng.randrange(3, 12), fact.text)
        texts.append("\n".join(lines))
        facts.append(fact)
    return texts, facts
