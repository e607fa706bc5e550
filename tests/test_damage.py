"""The spreadsheet-damage detectors (history/damage.py) and the mixed-encoding reader (rows/mixed_lines.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bulk_updater.errors import InputError
from bulk_updater.history.damage import DamageSigns, id_like_cell, id_like_header, looks_like_mojibake, mojibake, spreadsheet_change
from bulk_updater.rows import ReadOptions, open_sheet
from bulk_updater.rows.mixed_lines import MixedLinesSource


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("007", "7", "leading zeros stripped"),
        ("0042", "42", "leading zeros stripped"),
        ("000", "0", "leading zeros stripped"),
        ("+919876543210", "919876543210", "leading + dropped"),
        ("12345678901234567890", "1.23457E+19", "scientific notation"),
        ("919876543210", "9.19877E+11", "scientific notation"),
        ("12345650000000000000", "1.23457E+19", "scientific notation"),  # exactly half a unit off: Excel rounds half up
        ("919877500000", "9.19877E+11", "scientific notation"),  # half a unit off, the other way
        ("0.00001", "1E-05", "scientific notation"),
        ("12345678901234567890", "12345678901234500000", "15th"),
        ("2024-03-01", "3/1/2024", "the same date in another format"),
        ("2024-03-01", "01.03.2024", "the same date in another format"),
        ("2024-03-01", "1-Mar-24", "the same date in another format"),
        ("2024-03-01 14:15:07", "3/1/2024 14:15", "the same date, shortened"),
        ("2024-03-01 14:15:07", "01/03/2024 14:15:07", "the same date in another format"),
        ("राम Kumar", "??? Kumar", "replaced by ?"),
        ("😀 ok", "?? ok", "replaced by ?"),
        ("Łódź", "?ódz", "replaced by ?"),  # Excel's best fit: z for ź
        ("Müller", "MÃ¼ller", "UTF-8 text read as Windows-1252"),
        ("Müller", mojibake(mojibake("Müller")), "UTF-8 text read as Windows-1252"),
        ("€ 5", "â‚¬ 5", "UTF-8 text read as Windows-1252"),
        ("1.5", "1,5", "decimal point written as a comma"),
        ("1-2", "2-Jan", "turned into a date"),
        ("3/4", "4-Mar", "turned into a date"),
        ("SEPT1", "1-Sep", "turned into a date"),
        ("MARCH1", "Mar-01", "turned into a date"),
        # six more changes a spreadsheet makes
        ("=1+2", "3", "a formula replaced by its result"),
        ("=2^3*(1+1)", "16", "a formula replaced by its result"),
        ("=1/3", "0.333333333", "a formula replaced by its result"),  # rounded to what the cell shows
        ("=5/2", "3", "a formula replaced by its result"),  # exactly half a unit: rounded half up
        ("-1+2", "1", "a formula replaced by its result"),  # Excel reads -1+2 as =-1+2
        ("=10%", "0.1", "a formula replaced by its result"),
        ("=VLOOKUP(A2,Codes!A:B,2,FALSE)", "#N/A", "what the spreadsheet computed"),  # #N/A would clear the field
        ("=A1", "Open", "what the spreadsheet computed"),
        ("12E3", "1.20E+04", "scientific notation rewritten"),
        ("1.5e-3", "1.50E-03", "scientific notation rewritten"),
        ("12E3", "12000", "scientific notation written out in digits"),
        ("1E5", "100000", "scientific notation written out in digits"),  # a code like 1E5 read as a number
        ("3-4-5", "3/4/2005", "turned into a date"),
        ("3-4-5", "2005-03-04", "turned into a date"),
        ("10-11-12", "11/10/2012", "turned into a date"),
        ("3.4.5", "03.04.2005", "turned into a date"),
        ("3/4/05", "4-Mar-05", "the same date in another format"),  # a date already, as typed
        ("true", "TRUE", "a boolean rewritten in capitals"),
        ("False", "FALSE", "a boolean rewritten in capitals"),
        ("-007", "-7", "leading zeros stripped"),
        ("+0042", "42", "leading + dropped, leading zeros stripped"),
        ("007.50", "7.5", "leading zeros stripped, trailing zeros after the point dropped"),
        ("00.50", "0.5", "leading zeros stripped, trailing zeros after the point dropped"),
        ("-0", "0", "the minus sign of a zero dropped"),
    ],
)
def test_each_spreadsheet_change_is_recognised(old, new, kind):
    assert kind in (spreadsheet_change(old, new) or "")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Open", "Closed"),
        ("007", "007"),
        ("007", "8"),
        ("7", "007"),  # zeros added: an edit, not something Excel does
        ("12345678901234567890", "1.3E+19"),  # not the same number
        ("12345678901234400000", "12345678901234500000"),  # the 15th digit edited: zeros past it already
        ("12345678901234567890", "1.23456E+19"),  # past half a unit of the digits shown: not Excel's rounding
        ("2024-03-01", "2024-03-02"),
        ("2024-03-01 14:15:07", "3/1/2024 14:16"),
        ("Müller", "Muller"),  # ü is in Windows-1252: a real edit
        ("Müller", "Mueller"),
        ("राम", "श्याम"),
        ("", "7"),
        ("1.5", "1,6"),
        ("Plan A", "2-Jan"),
        ("1-2", "1-3"),
        # edits beside those six changes
        ("12", "13"),
        ("=1+2", "4"),  # not what the formula computes
        ("=1+2", "=1+3"),  # still a formula: the admin edited it
        ("=A1", ""),  # a blank is left alone, nothing is sent
        ("-1+2", "2"),
        ("12E3", "1.30E+04"),
        ("12E3", "13000"),
        ("3-4-5", "3/5/2005"),  # another date: typed over the cell
        ("true", "FALSE"),
        ("true", "True"),  # not how a spreadsheet writes it
        ("-007", "-8"),
        ("-007", "7"),  # the sign went too: not something a spreadsheet does
        ("007.50", "7.6"),
        ("1.50", "1.5"),  # trailing zeros alone can't be a loss (the one comparison agrees)
        ("- pending", "pending"),  # text, not a formula
        ("+5", "-5"),
    ],
)
def test_edits_are_not_taken_for_damage(old, new):
    assert spreadsheet_change(old, new) is None


WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ "), min_size=1, max_size=12)
NUMBERS = st.integers(-(10**14), 10**14).map(str)
DECIMALS = st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False).map(str)
DATES = st.dates().map(lambda day: day.isoformat())


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.tuples(WORDS, WORDS), st.tuples(NUMBERS, NUMBERS), st.tuples(DECIMALS, DECIMALS), st.tuples(DATES, DATES),
                 st.tuples(st.one_of(WORDS, NUMBERS, DECIMALS, DATES), st.one_of(WORDS, NUMBERS, DECIMALS, DATES))))
@example(("Open", "Closed"))
@example(("12", "13"))
@example(("20240301", "2024031"))  # a digit dropped; both read as 1 March 2024 (yyyymmdd)
def test_ordinary_edits_are_never_taken_for_damage(pair):
    """An admin's edit of a word, a number, a decimal or a date to another value is sent, never flagged."""
    old, new = pair
    assume(old.strip().upper() not in ("TRUE", "FALSE") and old.strip() != new.strip())
    if old and new and old[0] in "+-0123456789" and new[0] in "-0123456789" and _is_number(old) and _is_number(new):
        assume(Decimal(old) != Decimal(new))  # 1.50 -> 1.5, 007 -> 7: the same number, written otherwise
    assert spreadsheet_change(old, new) is None


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["", "-", "+"]), st.integers(1, 3), st.integers(0, 10**9), st.sampled_from(["", "0", "5", "50", "250"]))
def test_a_number_with_leading_zeros_is_caught_whatever_its_sign_and_decimals(sign, zeros, whole, fraction):
    old = f"{sign}{'0' * zeros}{whole}" + (f".{fraction}" if fraction else "")
    written = format(Decimal(old).normalize(), "f") if Decimal(old) else "0"
    assert "leading zeros stripped" in (spreadsheet_change(old, written) or "")


def test_single_cell_signs():
    assert looks_like_mojibake("MÃ¼ller") and looks_like_mojibake(mojibake("naïve €"))
    assert not looks_like_mojibake("Müller") and not looks_like_mojibake("plain") and not looks_like_mojibake("राम")
    assert all(id_like_header(h) for h in ("CustomerId", "mx_Phone_Number", "ZIP", "Postal Code", "item_code", "ID"))
    assert not any(id_like_header(h) for h in ("Paid", "Valid", "Status", "Decoded", "Zipper"))
    assert id_like_cell("0042") and id_like_cell("123456789012") and not id_like_cell("12345") and not id_like_cell("0")


def test_damage_signs_warn_only_for_ids_in_scientific_notation():
    signs = DamageSigns()
    signs.add(2, {"Amount": "1.5E+03", "Ref": "00123", "Name": "ok"})
    signs.add(3, {"Amount": "2E+03", "Ref": "1.23457E+19", "Name": "ok"})
    warnings = signs.warnings()
    assert len(warnings) == 1 and "column 'Ref'" in warnings[0] and "row 3 '1.23457E+19'" in warnings[0]


def test_a_mixed_encoding_report_is_read_line_by_line_when_asked(tmp_path):
    path = tmp_path / "failed.csv"
    lines = ["CompanyActivityId,Name,_row,_outcome", "a,Müller,2,failed", 'b,"two\nlines",3,failed', "c,Woné,4,failed", "d,x,5,failed"]
    data = "\r\n".join(lines).encode("utf-8").replace("Woné".encode(), "Woné".encode("cp1252"))
    path.write_bytes(data)
    sheet = open_sheet(path, ReadOptions(mixed_lines=True))
    rows = list(sheet.rows())
    assert [row.cells["Name"] for row in rows] == ["Müller", "two\nlines", "Woné", "x"]
    assert sheet.source.not_utf8 == {rows[2].number}
    try:
        plain = open_sheet(path).source  # `run` input: never this reader (it may refuse the file instead)
    except InputError:
        return
    assert not isinstance(plain, MixedLinesSource)
