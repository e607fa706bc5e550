"""The one comparison (docs/design.md): every rule both ways, then properties over random values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_updater.safety.compare import (
    BOOLEAN_SPELLING,
    EMPTY,
    GUID_CASE,
    SAME_INSTANT,
    SURROUNDING_SPACES,
    TRAILING_ZEROS,
    Sameness,
    compare,
    same_value,
)

GUID = "255539a4-0380-4b8c-84db-7746b46c3fe2"

EQUAL = [
    # identical: the text an update would send is the same, whatever JSON type the read used
    ("Won", "Won", ""),
    ("true", True, ""),
    ("false", False, ""),
    ("3", 3, ""),
    ("3.00", Decimal("3.00"), ""),
    ("-12", -12, ""),
    ("0.0000001", Decimal("1E-7"), ""),  # JSON 0.0000001: Decimal writes it 1E-7, its digits are these
    ("0.1", 0.1, ""),  # a float (a reader without Decimal) is compared in the digits it was written with, not its binary value
    ("1.5", 1.5, ""),
    ("1E+1", Decimal("1E+1"), ""),  # a JSON number with a positive exponent keeps it (only a float writes one)
    ("1E+21", 1e21, ""),
    ({"Value": "x", "Label": "X"}, {"Value": "x", "Label": "X"}, ""),
    ([1, "a"], [1, "a"], ""),
    # same instant
    ("2024-03-01 10:00:00", "2024-03-01T10:00:00Z", SAME_INSTANT),
    ("2024-03-01 10:00:00", "2024-03-01T10:00:00.000", SAME_INSTANT),
    ("2024-03-01 10:00:00", "2024-03-01T10:00:00.0000000Z", SAME_INSTANT),  # .NET's seven digits
    ("2024-03-01 10:00:00", "2024-03-01T15:30:00+05:30", SAME_INSTANT),
    ("2024-03-01 10:00:00", "2024-03-01T05:00:00-0500", SAME_INSTANT),
    ("2024-03-01 10:00:00", "2024-03-01T15:00:00+05", SAME_INSTANT),  # an offset in hours alone
    ("2024-03-01 10:00", "2024-03-01 10:00:00", SAME_INSTANT),
    ("2024-03-01", "2024-03-01 00:00:00", SAME_INSTANT),
    ("2024-03-01 10:00:00.5", "2024-03-01T10:00:00.500Z", SAME_INSTANT),
    # trailing zeros, plain decimals only
    ("1.50", "1.5", TRAILING_ZEROS),
    ("3", "3.00", TRAILING_ZEROS),
    ("3", Decimal("3.00"), TRAILING_ZEROS),
    ("3.00", 3, TRAILING_ZEROS),
    ("-2.10", "-2.1", TRAILING_ZEROS),
    ("0.50", Decimal("0.5"), TRAILING_ZEROS),
    # GUID case
    (GUID, GUID.upper(), GUID_CASE),
    (GUID.upper(), GUID.title(), GUID_CASE),
    # boolean spelling
    ("true", "True", BOOLEAN_SPELLING),
    ("true", "TRUE", BOOLEAN_SPELLING),
    ("True", True, BOOLEAN_SPELLING),
    ("FALSE", False, BOOLEAN_SPELLING),
    ("true", "1", BOOLEAN_SPELLING),
    ("true", 1, BOOLEAN_SPELLING),
    (True, 1, BOOLEAN_SPELLING),
    ("false", 0, BOOLEAN_SPELLING),
    ("False", "0", BOOLEAN_SPELLING),
    # empty: absent (None), null and "" are one value
    ("", None, EMPTY),
    (None, None, ""),
    ("", "", ""),
    # surrounding spaces: trimmed, and said
    (" Won ", "Won", SURROUNDING_SPACES),
    ("Won\n", "Won", SURROUNDING_SPACES),
    (" 1.50", "1.5", f"{SURROUNDING_SPACES}, {TRAILING_ZEROS}"),
    (" true ", True, SURROUNDING_SPACES),
    ("  ", None, f"{SURROUNDING_SPACES}, {EMPTY}"),
]

DIFFERENT = [
    ("00501", "501"),  # leading zeros
    ("007", "7"),
    ("007", 7),
    ("00501", 501),
    ("007.50", "7.5"),
    ("+91987", "91987"),  # a sign
    ("-0", "0"),
    ("1e3", "1000"),  # an exponent
    ("1e3", 1000),
    ("1000", Decimal("1E+3")),  # a JSON number written with an exponent went through a float
    ("10", Decimal("1E+1")),
    ("12E3", "1.20E+04"),
    ("1,000", "1000"),  # a thousands separator
    ("1,000", 1000),
    ("Won", "won"),  # a case change in text
    ("Won", "WON"),
    ("tRUE", "true"),  # not one of the spellings the comparison names
    ("yes", "true"),
    ("2", "true"),
    ("1.0", "true"),
    ("1", "01"),
    ("3/1/2024", "2024-03-01"),  # a locale date
    ("3/1/2024 10:00", "2024-03-01 10:00:00"),
    ("2024-03-01 10:00:00", "2024-03-01 10:00:01"),
    ("2024-03-01 10:00:00", "2024-03-01T10:00:00+01:00"),
    ("2024-03-01 10:00:00.1", "2024-03-01 10:00:00"),
    ("2024-03-01 10:00", "2024-03-01"),  # a time lost
    ("2024-02-30", "2024-03-01"),  # not a date: text
    ("{" + GUID + "}", GUID),
    ("[1]", [1]),  # text that spells a list is not the list
    ("{'Value': 'x'}", {"Value": "x"}),
    (GUID, GUID[:-1] + "3"),
    ("", "0"),
    ("", "false"),
    (None, "x"),
    ("Won Deal", "Won  Deal"),  # spaces inside a value
    ("x", {"Value": "x", "Label": "X"}),  # an object against its value
    ({"Value": "x"}, {"Value": "X"}),
    ([1], [1, 2]),
    (None, {}),
    ({"a": True}, {"a": 1}),
]


@pytest.mark.parametrize(("a", "b", "by"), EQUAL)
def test_equal_values_are_equal_both_ways_and_say_by_what(a, b, by):
    assert compare(a, b) == Sameness(True, by)
    assert compare(b, a) == Sameness(True, by)
    assert same_value(a, b) and same_value(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_a_difference_that_may_be_a_loss_is_a_difference_both_ways(a, b):
    assert compare(a, b) == Sameness(False, "")
    assert compare(b, a) == Sameness(False, "")
    assert not same_value(a, b) and not same_value(b, a)


# --- properties -------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.integers(0, 6).flatmap(lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["true", "True", "TRUE", "1", "0", "00501", "+91987", "1e3", "1,000", GUID, GUID.upper(), "2024-03-01 10:00:00"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


@settings(max_examples=400, deadline=None)
@given(json_values, json_values)
def test_the_comparison_is_symmetric(a, b):
    assert compare(a, b) == compare(b, a)


@given(json_values)
def test_a_value_equals_itself(value):
    assert compare(value, value) == Sameness(True, "")


def _spellings_of_a_decimal(sign: str, whole: int, fraction: str) -> list[object]:
    plain = f"{sign}{whole}" + (f".{fraction}" if fraction else "")
    spellings: list[object] = [plain, plain + ("" if fraction else ".") + "00", Decimal(plain), Decimal(plain + ("" if fraction else ".") + "000")]
    return spellings + ([int(plain)] if not fraction and not (sign == "-" and whole == 0) else [])


decimals = st.builds(
    _spellings_of_a_decimal,
    st.sampled_from(["", "-"]),
    st.integers(0, 10**12),
    st.text("0123456789", max_size=5).map(lambda digits: digits.rstrip("0")),
)


def _spellings_of_an_instant(moment: dt.datetime, zone_minutes: int) -> list[object]:
    local = moment + dt.timedelta(minutes=zone_minutes)
    sign = "-" if zone_minutes < 0 else "+"
    offset = f"{sign}{abs(zone_minutes) // 60:02}:{abs(zone_minutes) % 60:02}"
    return [
        f"{moment:%Y-%m-%d %H:%M:%S}",
        f"{moment:%Y-%m-%dT%H:%M:%S}Z",
        f"{moment:%Y-%m-%dT%H:%M:%S}.000",
        f"{moment:%Y-%m-%dT%H:%M:%S}.0000000Z",
        f"{local:%Y-%m-%dT%H:%M:%S}{offset}",
        f"{local:%Y-%m-%dT%H:%M:%S}{offset.replace(':', '')}",
    ]


instants = st.builds(
    _spellings_of_an_instant,
    st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2999, 12, 30)).map(lambda m: m.replace(microsecond=0)),
    st.integers(-12 * 60, 14 * 60),
)
guids = st.uuids().map(str).map(lambda guid: [guid, guid.upper(), guid[:8].upper() + guid[8:]])
booleans = st.booleans().map(lambda b: [b, *(["true", "True", "TRUE", 1, "1"] if b else ["false", "False", "FALSE", 0, "0"])])
empties = st.just([None, "", "  "])
texts = st.text(min_size=1, max_size=20).filter(lambda t: t == t.strip()).map(lambda t: [t, f" {t}", f"{t}\n"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(decimals, instants, guids, booleans, empties, texts), st.data())
def test_a_value_equals_itself_in_every_spelling_section_7_allows(spellings, data):
    a, b = data.draw(st.sampled_from(spellings)), data.draw(st.sampled_from(spellings))
    assert compare(a, b).equal, (a, b)


def _with_leading_zeros(text: str) -> str:
    return "0" + text


plain_decimals = st.builds(lambda whole, fraction: f"{whole}" + (f".{fraction}" if fraction else ""), st.integers(0, 10**9), st.text("0123456789", max_size=4))
words = st.text(min_size=1, max_size=20).filter(lambda t: t.swapcase() != t and t.strip().lower() not in ("true", "false") and not _looks_like_guid(t))


def _looks_like_guid(text: str) -> bool:
    return len(text.strip()) == 36 and text.count("-") == 4


@settings(max_examples=300, deadline=None)
@given(plain_decimals, st.integers(1000, 10**12), words, st.data())
def test_never_equal_across_the_differences_section_7_lists(number, big, word, data):
    pairs = [
        (number, _with_leading_zeros(number)),  # leading zeros
        (number, "+" + number),  # a sign
        (number, "-" + number) if number.strip("0.") else ("1", "-1"),
        (number, number + "e0"),  # an exponent
        (str(big), f"{big:,}"),  # a thousands separator
        (big, f"{big:,}"),
        (str(big), f"{big:.3e}"),
        (word, word.swapcase()),  # a case change in text
    ]
    day = data.draw(st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31)))
    pairs.append((f"{day:%Y-%m-%d}", f"{day.month}/{day.day}/{day.year}"))  # a locale date
    for a, b in pairs:
        assert not compare(a, b).equal, (a, b)
        assert not compare(b, a).equal, (b, a)
