"""The spreadsheet-damage detectors (report/damage.py) and the mixed-encoding reader (rows/mixed_lines.py)."""

from __future__ import annotations

import pytest

from bulk_updater.errors import InputError
from bulk_updater.report.damage import (
    DamageSigns,
    id_like_cell,
    id_like_header,
    looks_like_mojibake,
    mojibake,
    spreadsheet_change,
)
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
        ("2024-03-01", "2024-03-02"),
        ("2024-03-01 14:15:07", "3/1/2024 14:16"),
        ("Müller", "Muller"),  # ü is in Windows-1252: a real edit
        ("Müller", "Mueller"),
        ("राम", "श्याम"),
        ("", "7"),
        ("1.5", "1,6"),
        ("Plan A", "2-Jan"),
        ("1-2", "1-3"),
    ],
)
def test_edits_are_not_taken_for_damage(old, new):
    assert spreadsheet_change(old, new) is None


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
