"""Name similarity for Chinese names in characters and in pinyin, and the edit distance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridguard.targeting import names
from gridguard.targeting.matching import id_distance
from gridguard.targeting.names import fold_name, name_similarity, osa_distance, pinyin_readings
from strategies import names as name_texts


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("陈建国", "陈建国", 1.0, 1.0),
        ("陈建国", "陈 建国", 1.0, 1.0),
        ("陈建国", "陈健国", 0.95, 0.95),  # a homophone, as a pinyin keyboard types it
        ("陈建国", "CHEN JIANGUO", 0.95, 0.95),
        ("陈建国", "Jianguo Chen", 0.95, 0.95),  # given name first
        ("陈建国", "chen jian-guo", 0.95, 0.95),
        ("欧阳娜娜", "OUYANG NANA", 0.95, 0.95),  # a compound surname
        ("曾志伟", "Ceng Zhiwei", 0.95, 0.95),  # 曾 reads zeng and ceng
        ("吕芳", "LU FANG", 0.95, 0.95),  # ü written u
        ("李伟", "李玮", 0.95, 0.95),
        ("陈建国", "陈建华", 0.6, 0.7),  # brothers: one character apart
        ("陈建国", "陈国建", 0.6, 0.7),
        ("黄丽", "黄丽娟", 0.6, 0.7),
        ("陈建国", "陈小明", 0.3, 0.4),  # father and son share the surname only
        ("李伟", "张伟", 0.45, 0.55),
        ("陈建国", "王芳", 0.0, 0.0),
        ("Li Wei", "Wei Li", 1.0, 1.0),
        ("陈建国", "", 0.0, 0.0),
    ],
)
def test_examples(a: str, b: str, low: float, high: float) -> None:
    assert low <= name_similarity(a, b) <= high


@given(name_texts(), name_texts())
def test_similarity_is_symmetric_and_between_0_and_1(a: str, b: str) -> None:
    forward = name_similarity(a, b)
    assert 0.0 <= forward <= 1.0
    assert forward == name_similarity(b, a)


@given(name_texts())
def test_a_name_is_fully_similar_to_itself(a: str) -> None:
    assert name_similarity(a, a) == (1.0 if fold_name(a) else 0.0)


_short = st.text("0123456789X", max_size=8)


@given(_short, _short)
def test_osa_distance_is_a_symmetric_bounded_count(a: str, b: str) -> None:
    d = osa_distance(a, b)
    assert d == osa_distance(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)


@given(st.text("0123456789", min_size=2, max_size=18), st.data())
def test_a_swap_is_one_edit_and_a_substitution_one(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text) - 2))
    swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    assert osa_distance(text, swapped) == (0 if text[i] == text[i + 1] else 1)
    j = data.draw(st.integers(0, len(text) - 1))
    other = "X" if text[j] != "X" else "0"
    assert osa_distance(text, text[:j] + other + text[j + 1 :]) == 1


@given(
    st.text("0123456789X", min_size=16, max_size=20),
    st.text("0123456789X", min_size=16, max_size=20),
)
def test_the_identity_number_distance_agrees_with_osa_up_to_its_limit(a: str, b: str) -> None:
    assert id_distance(a, b, 2) == min(osa_distance(a, b), 3)


def test_heteronyms_keep_every_reading_the_usual_one_first() -> None:
    assert pinyin_readings("单")[0] == "dan"
    assert {"shan", "chan"} <= set(pinyin_readings("单"))
    assert set(pinyin_readings("曾")) == {"zeng", "ceng"}
    assert pinyin_readings("A") == ("A",)


@pytest.fixture
def without_pinyin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """gridguard as it runs where ``pypinyin`` is not installed."""
    monkeypatch.setattr(names, "PINYIN_AVAILABLE", False)
    names.pinyin_readings.cache_clear()
    yield
    names.pinyin_readings.cache_clear()


@pytest.mark.usefixtures("without_pinyin")
def test_without_pypinyin_names_compare_by_their_characters_only() -> None:
    assert name_similarity("陈建国", "陈建国") == 1.0
    assert name_similarity("陈建国", "陈健国") == pytest.approx(2 / 3, abs=1e-3)
    assert name_similarity("陈建国", "CHEN JIANGUO") == 0.0  # cannot tell: left to review
    assert name_similarity("Li Wei", "Wei Li") == 1.0
