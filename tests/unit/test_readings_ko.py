"""Korean readings (``gsv_core.text.readings.ko``): each rule with examples written by hand."""

from __future__ import annotations

import pytest

from gsv_core.text import clean_text
from gsv_core.text.readings.ko import read, rules_matched, sino_korean


@pytest.mark.parametrize(("number", "words"), [
    ("0", "영"), ("1", "일"), ("10", "십"), ("11", "십일"), ("25", "이십오"), ("110", "백십"),
    ("1000", "천"), ("10000", "만"), ("12345", "만이천삼백사십오"), ("100000000", "일억"),
    ("3,000", "삼천"), ("4.5", "사점오"),
])
def test_sino_korean(number: str, words: str) -> None:
    assert sino_korean(number) == words


@pytest.mark.parametrize(("text", "reading"), [
    ("제 번호는 010-1234-5678입니다.", "제 번호는 공일공 일이삼사 오육칠팔입니다."),
    ("오후 3:30에 만나요.", "오후 3시 30분에 만나요."),  # g2pk2 reads 3시 as 세 시
    ("회의는 10:00에 시작합니다.", "회의는 10시에 시작합니다."),
    ("매일 5km를 달려요.", "매일 오 킬로미터를 달려요."),
    ("메모리는 16GB예요.", "메모리는 십육 기가바이트예요."),
    ("배터리는 5000mAh입니다.", "배터리는 오천 밀리암페어시입니다."),
    ("물가가 3% 올랐다.", "물가가 삼 퍼센트 올랐다."),
    ("한국이 2:1로 이겼다.", "한국이 이 대 일로 이겼다."),
    ("기온은 20-25도입니다.", "기온은 이십에서 이십오도입니다."),
    ("가격은 $99입니다.", "가격은 구십구 달러입니다."),
    ("2024/03/15 발표", "2024년 3월 15일 발표"),
    ("www.naver.com에서", "더블유 더블유 더블유 닷 naver 닷 컴에서"),
])
def test_spans(text: str, reading: str) -> None:
    assert read(text) == reading


@pytest.mark.parametrize("text", ["", "안녕하세요.", "가격은 3,000원이에요.", "사과 3개 주세요."])
def test_text_g2pk2_reads_well_is_unchanged(text: str) -> None:
    assert read(text) == text


def test_rules_matched_names_the_korean_rules() -> None:
    assert rules_matched("010-1234-5678, 2:1") == ("ko_phone", "ko_score")
    assert rules_matched("안녕하세요.") == ()


def test_time_has_no_unknown_phone() -> None:
    assert "停" in clean_text("오후 3:30에", "ko", readings="upstream").phones
    assert "停" not in clean_text("오후 3:30에", "ko", readings="improved").phones
