"""A workbook never takes a process down: what would not fit in memory is refused first.

calamine builds a sheet as one dense block of cells; a file that places one cell far away (or declares
a huge dimension, or a huge count of strings) makes it ask for hundreds of gigabytes, and the failed
allocation aborts the process. The readers read where the file's cells reach before calamine does
(rows/extent.py) and refuse, exit 2, naming the file and the sheet.

Each workbook here is written by hand, part by part, as a hostile or careless writer would.
"""

from __future__ import annotations

import pytest
from conftest import new_ids, write_csv
from workbooks import far_cell_xlsx, patch_xls_record, text_cell, write_ods, write_xls, write_xlsx, write_xlsx_xml

from bulk_updater import cli
from bulk_updater.errors import InputError
from bulk_updater.rows import ReadOptions, extent, open_sheet
from bulk_updater.rows.extent import Extent, check_book, check_sheet
from bulk_updater.rows.ods_facts import ods_extents
from bulk_updater.rows.xls_facts import xls_extents
from bulk_updater.rows.xlsx_facts import xlsx_extents

HEADER = f'<row r="1">{text_cell("A1", "CompanyActivityId")}{text_cell("B1", "Status")}</row>'


def reach(path) -> str:
    """Where the sheet's cells reach, as the scan says."""
    [found] = [e.reach for e in xlsx_extents(path, "Sheet1") if not e.declared]
    return found


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", None], ids=["declared", "undeclared"])
def test_the_far_cell_workbook_is_refused_by_check_with_exit_2_naming_file_and_sheet(tmp_path, capsys, dimension):
    far = far_cell_xlsx(tmp_path / "far.xlsx", dimension)
    assert far.stat().st_size < 2000
    assert cli.main(["check", str(far)]) == 2  # it aborted with 134 (calamine asked for 512 GB)
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {far}, sheet 'Sheet1': the sheet is too large to read: ")
    assert "XFD1048576" in err and "1,048,576 rows \u00d7 16,384 columns" in err and "Traceback" not in err
    assert "export the sheet as CSV UTF-8" in err


def test_a_run_of_the_far_cell_workbook_sends_nothing(tmp_path, sandbox, capsys):
    box = sandbox()
    far = far_cell_xlsx(tmp_path / "far.xlsx", None)
    env = {"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert cli.main(["run", str(far), "--out", str(tmp_path / "out"), "--yes", "--no-progress"]) == 2
    assert "too large to read" in capsys.readouterr().err and box.state.calls == 0


def test_a_dimension_beyond_memory_is_refused_even_when_the_cells_are_few(tmp_path):
    book = write_xlsx_xml(tmp_path / "declared.xlsx", HEADER + f'<row r="2">{text_cell("A2", new_ids(1)[0])}{text_cell("B2", "Won")}</row>',
                          dimension="A1:XFD1048576")
    with pytest.raises(InputError, match=r"its dimension declares A1:XFD1048576, so it spans 1,048,576 rows"):
        list(open_sheet(book).rows())


def test_the_scan_finds_a_far_cell_among_ordinary_rows_wherever_it_is(tmp_path):
    rows = "".join(f'<row r="{n}">{text_cell(f"A{n}", "x")}<c r="B{n}"><v>{n}</v></c></row>' for n in range(2, 400))
    early = '<row r="3000"><c r="ZZ3000"><v>1</v></c></row>'  # before the rows that come after it in the file
    assert reach(write_xlsx_xml(tmp_path / "early.xlsx", HEADER + early + rows)) == "ZZ3000"
    assert reach(write_xlsx_xml(tmp_path / "late.xlsx", HEADER + rows + early)) == "ZZ3000"
    assert reach(write_xlsx_xml(tmp_path / "plain.xlsx", HEADER + rows)) == "B399"


def test_the_scan_reads_references_as_calamine_does_lowercase_or_not_first(tmp_path):
    lower = '<row r="5"><c r="xfd5"><v>1</v></c></row><row r="10"><c r="A10"><v>1</v></c></row>'
    assert reach(write_xlsx_xml(tmp_path / "lower.xlsx", HEADER + lower)) == "XFD10"
    assert reach(write_xlsx_xml(tmp_path / "later.xlsx", HEADER + '<row r="9"><c s="0" r="XFD9"><v>1</v></c></row>')) == "XFD9"


def test_cells_without_references_are_placed_by_counting_as_calamine_places_them(tmp_path):
    far_row = '<row r="1048576">' + "<c><v>1</v></c>" * 16384 + "</row>"
    assert reach(write_xlsx_xml(tmp_path / "counted.xlsx", HEADER + far_row)) == "XFD1048576"
    # a row without `r` follows the one before; a cell without `r` follows the one before it in its row
    rows = '<row r="5"><c r="C5"><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>'
    assert reach(write_xlsx_xml(tmp_path / "next.xlsx", HEADER + rows)) == "D6"
    prefixed = '<x:row r="1"><x:c><x:v>1</x:v></x:c></x:row><x:row r="700000">' + "<x:c><x:v>1</x:v></x:c>" * 3000 + "</x:row>"
    assert reach(write_xlsx_xml(tmp_path / "prefixed.xlsx", prefixed, root="x:")) == "DKJ700000"


def test_a_huge_count_of_shared_strings_is_refused_before_calamine_reserves_it(tmp_path):
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    book = write_xlsx_xml(tmp_path / "strings.xlsx", rows, unique_strings=999_999_999_999)  # calamine reserved 24 TB and aborted
    with pytest.raises(InputError, match="declares 999,999,999,999 distinct text values"):
        check_book(book)
    check_book(write_xlsx_xml(tmp_path / "fine.xlsx", rows, unique_strings=1))


def test_a_sheet_is_read_up_to_the_budget_and_refused_past_it(tmp_path, monkeypatch):
    ids = new_ids(29)
    book = write_xlsx(tmp_path / "edits.xlsx", [["CompanyActivityId", "Status", "mx_Custom_1"], *[[i, "Won", "7"] for i in ids]])
    monkeypatch.setattr(extent, "cell_budget", lambda: 90)  # 30 rows x 3 columns
    assert len(list(open_sheet(book).rows())) == 29
    write_xlsx(book, [["CompanyActivityId", "Status", "mx_Custom_1"], *[[i, "Won", "7"] for i in [*ids, new_ids(1)[0]]]])
    with pytest.raises(InputError, match=r"its dimension declares A1:C31, so it spans 31 rows \u00d7 3 columns \(93 cells\), more than the 90 cells"):
        list(open_sheet(book).rows())


def test_an_xls_declaring_or_placing_cells_beyond_memory_is_refused_on_opening(tmp_path):
    rows = [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]]
    declared = patch_xls_record(write_xls(tmp_path / "declared.xls", rows), b"\x00\x02\x0e\x00", 4, "<IIHH", 0, 0xFFFFFFFF, 0, 0xFF)
    assert Extent(0xFFFFFFFF, 255, "A1:IU4294967295", declared=True) in [e for _, e in xls_extents(declared)]
    with pytest.raises(InputError, match=r"declared\.xls, sheet 'Sheet1': the sheet is too large to read: its dimension declares A1:IU4294967295"):
        open_sheet(declared)  # calamine asked for 43 TB on opening (every sheet of an .xls is read then)
    far = patch_xls_record(write_xls(tmp_path / "far.xls", rows), b"\xfd\x00\x0a\x00\x01\x00\x00\x00", 4, "<HH", 65535, 65535)
    with pytest.raises(InputError, match="it has a cell at CRXP65536"):
        open_sheet(far)
    assert [e.reach for _, e in xls_extents(write_xls(tmp_path / "fine.xls", rows))] == ["A1:B2", "B2"]


def test_an_ods_reaching_beyond_memory_is_refused_but_its_trailing_empty_rows_do_not_count(tmp_path):
    import zipfile

    book = write_ods(tmp_path / "edits.ods", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])
    with zipfile.ZipFile(book) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    content = parts["content.xml"].decode()
    trailing = '<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    far = ('<table:table-row table:number-rows-repeated="1048570"><table:table-cell/></table:table-row><table:table-row>'
           '<table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="float" office:value="1"/></table:table-row>')

    def with_rows(name: str, rows: str):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as target:
            for part, data in parts.items():
                target.writestr(part, content.replace("</table:table>", rows + "</table:table>", 1) if part == "content.xml" else data)
        return path

    assert [e.reach for _, e in ods_extents(with_rows("libreoffice.ods", trailing))] == ["B2"]
    assert len(list(open_sheet(with_rows("libreoffice.ods", trailing)).rows())) == 1
    with pytest.raises(InputError, match="it has a cell at XFD1048573"):
        check_sheet(with_rows("far.ods", far), "Sheet1")


def test_text_files_and_ordinary_workbooks_pass(tmp_path):
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])
    check_book(sheet)
    assert len(list(open_sheet(sheet, ReadOptions()).rows())) == 1
