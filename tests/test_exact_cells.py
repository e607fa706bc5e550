"""Workbook cells are sent as the sheet shows them, or the row is invalid.

Error values, formulas with no saved value, midnight date-times and long numbers, in
workbooks from several writers: openpyxl (no saved formula results), xlsxwriter (0 saved as
every formula's result), Excel and LibreOffice (simulated by writing their XML into a file:
LibreOffice is not installed here), xlwt (.xls).
"""

import datetime as dt

import openpyxl
import pytest
from conftest import cli_env, new_ids, read_report
from workbooks import OdsFormula, patch_zip_part, write_ods, write_ods_like_libreoffice, write_xls_cells, write_xlsx, write_xlsxwriter

from bulk_updater import cli
from bulk_updater.checking import check
from bulk_updater.rows import ReadOptions, cell_text, open_sheet
from bulk_updater.updates import Invalid, UpdateRequest, plan_row

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
HEADER = ["CompanyActivityId", "Status"]


def plans(path, **options):
    return {row.number: plan_row(row) for row in open_sheet(path, ReadOptions(**options)).rows()}


def fields(plan):
    assert isinstance(plan, UpdateRequest), plan
    return dict(plan.fields)


# --- error values and formulas ---


def test_openpyxl_typed_na_and_na_formula_clear_a_lookup_without_result_and_ref_are_invalid(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", [HEADER, [ID, "#N/A"], [ID, "=NA()"], [ID, "=VLOOKUP(A4,Other!A:B,2,FALSE)"], [ID, "#REF!"]])
    got = plans(path)
    assert fields(got[2]) == {"Status": ""} and fields(got[3]) == {"Status": ""}
    assert got[4] == Invalid(
        "Status holds a formula with no saved value, '=VLOOKUP(A4,Other!A:B,2,FALSE)' (cell B4): "
        "open and save the file in Excel (or LibreOffice), which computes it, then run again"
    )
    assert got[5] == Invalid("Status holds #REF! (cell B5): correct it in the sheet, or type the value to send")


def test_excel_saved_results_a_failed_lookup_is_invalid_and_other_errors_name_the_cell(tmp_path):
    """The XML Excel writes: a formula and its saved result; shared formulas name their formula once."""
    path = write_xlsx(tmp_path / "in.xlsx", [HEADER, *[[ID, f"MARK{n}"] for n in range(2, 8)]])
    patch_zip_part(path, "xl/worksheets/sheet1.xml", {
        '<c r="B2" t="inlineStr"><is><t>MARK2</t></is></c>': '<c r="B2" t="e"><f>NA()</f><v>#N/A</v></c>',
        '<c r="B3" t="inlineStr"><is><t>MARK3</t></is></c>': '<c r="B3" t="e"><f>VLOOKUP(A3,Codes!A:B,2,FALSE)</f><v>#N/A</v></c>',
        '<c r="B4" t="inlineStr"><is><t>MARK4</t></is></c>': '<c r="B4" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        '<c r="B5" t="inlineStr"><is><t>MARK5</t></is></c>': '<c r="B5" t="str"><f t="shared" ref="B5:B6" si="0">&quot;Won&quot;&amp;&quot;&quot;</f><v>Won</v></c>',
        '<c r="B6" t="inlineStr"><is><t>MARK6</t></is></c>': '<c r="B6" t="e"><f t="shared" si="0"/><v>#VALUE!</v></c>',
        '<c r="B7" t="inlineStr"><is><t>MARK7</t></is></c>': '<c r="B7" t="e"><v>#NAME?</v></c>',
    })
    patch_zip_part(path, "xl/workbook.xml", {' fullCalcOnLoad="1"': ""})  # Excel trusts its saved results
    got = plans(path)
    assert fields(got[2]) == {"Status": ""}
    assert got[3] == Invalid(
        "Status holds #N/A from the formula '=VLOOKUP(A3,Codes!A:B,2,FALSE)' (cell B3): a failed lookup is not a clear. "
        "Fix the formula or type the value; a typed #N/A clears the field"
    )
    assert got[4].reason.startswith("Status holds #DIV/0! (cell B4)")
    assert fields(got[5]) == {"Status": "Won"}  # a formula with its saved result is sent as that result
    assert got[6].reason.startswith("Status holds #VALUE! (cell B6)")
    assert got[7].reason.startswith("Status holds #NAME? (cell B7)")


def test_xlsxwriter_formulas_whose_saved_result_is_a_placeholder_are_invalid(tmp_path):
    # xlsxwriter saves 0 as every formula's result and asks Excel to compute them on opening:
    # sending "0" would be a silent wrong write.
    path = write_xlsxwriter(tmp_path / "in.xlsx", [HEADER, [ID, "=1+1"], [ID, "=NA()"], [ID, "Won"]])
    got = plans(path)
    assert isinstance(got[2], Invalid) and "'=1+1' (cell B2): open and save the file in Excel" in got[2].reason
    assert fields(got[3]) == {"Status": ""}
    assert fields(got[4]) == {"Status": "Won"}


def test_libreoffice_ods_error_cells(tmp_path):
    path = write_ods(tmp_path / "in.ods", [HEADER, [ID, "MARK2"], [ID, "MARK3"], [ID, "MARK4"]])
    cell = '<table:table-cell office:value-type="string" office:string-value="{0}"><text:p>{0}</text:p></table:table-cell>'
    patch_zip_part(path, "content.xml", {
        cell.format("MARK2"): '<table:table-cell table:formula="of:=NA()" office:value-type="float" office:value="0" calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>',
        cell.format("MARK3"): '<table:table-cell table:formula="of:=VLOOKUP([.A3];$Codes.A:B;2;0)" office:value-type="float" office:value="0" calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>',
        cell.format("MARK4"): '<table:table-cell table:formula="of:=[.Q99]" office:value-type="float" office:value="0" calcext:value-type="error"><text:p>#REF!</text:p></table:table-cell>',
        "<office:document-content ": '<office:document-content xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" ',
    })
    got = plans(path)
    assert fields(got[2]) == {"Status": ""}
    assert isinstance(got[3], Invalid) and "a failed lookup is not a clear" in got[3].reason and "(cell B3)" in got[3].reason
    assert got[4].reason.startswith("Status holds #REF! (cell B4)")


def test_a_na_typed_in_libreoffice_clears_the_field_and_a_failed_lookup_is_refused_end_to_end(tmp_path, sandbox, bulk, capsys):
    """LibreOffice saves `=#N/A` as the formula of:=#N/A with an #N/A result (and, reported, a
    typed #N/A too; 7.4 keeps that as text). It is typed, as an error cell typed in Excel is: it clears."""
    ids = new_ids(4)
    rows = [
        [*HEADER, "mx_Custom_1"],
        [ids[0], OdsFormula("of:=#N/A"), "kept"],
        [ids[1], "#N/A", "kept too"],  # LibreOffice 7.4's own file for #N/A typed into a cell: text
        [ids[2], OdsFormula("of:=VLOOKUP([.A4];$Codes.A:B;2;0)"), "x"],  # a failed lookup: never a clear
        [ids[3], OdsFormula("of:=NA()"), "kept"],
    ]
    path = write_ods_like_libreoffice(tmp_path / "in.ods", rows)
    box = sandbox(initial={i: {"Fields": {"Status": "Open"}} for i in ids})

    assert cli.main(["check", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "3 will update" in shown and "1 invalid" in shown
    assert "row 4: Status holds #N/A from the formula '=VLOOKUP([.A4];$Codes.A:B;2;0)' (cell B4): a failed lookup is not a clear" in shown
    assert "row 2" not in shown.split("First payloads:")[0]

    code, _, err = bulk(box, "run", str(path), "--out", str(tmp_path / "out"))

    assert code == 1, err
    assert {i: box.state.activities[i]["Fields"] for i in ids} == {
        ids[0]: {"Status": "", "mx_Custom_1": "kept"},
        ids[1]: {"Status": "", "mx_Custom_1": "kept too"},
        ids[2]: {"Status": "Open"},  # nothing sent for the failed lookup's row
        ids[3]: {"Status": "", "mx_Custom_1": "kept"},
    }
    outcomes = {r["_row"]: (r["_outcome"], r["_error_message"]) for r in read_report(tmp_path / "out" / "report.csv")}
    assert [outcomes[n][0] for n in "2345"] == ["success", "success", "invalid", "success"]
    assert "a failed lookup is not a clear" in outcomes["4"][1]


def test_xls_error_cells_are_never_sent_as_blank(tmp_path):
    path = write_xls_cells(tmp_path / "in.xls", [HEADER, [ID, ""], [ID, ""], [ID, "Won"]], {(1, 1): 0x2A, (2, 1): 0x17}, {})
    got = plans(path)
    # .xls does not say whether a formula made an #N/A: it can't be taken as a clear.
    assert isinstance(got[2], Invalid) and "an .xls file does not say whether a failed lookup made it" in got[2].reason
    assert got[3].reason.startswith("Status holds #REF! (cell B3)")
    assert fields(got[4]) == {"Status": "Won"}


def test_error_cells_clear_or_stay_unsent_end_to_end(tmp_path, sandbox, monkeypatch, capsys):
    ids = new_ids(3)
    box = sandbox()
    path = write_xlsx(tmp_path / "in.xlsx", [HEADER + ["mx_Custom_1"], [ids[0], "#N/A", "kept"], [ids[1], "=VLOOKUP(A3,X!A:B,2,FALSE)", "x"], [ids[2], "#REF!", "y"]])
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    code = cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--rate", "1000/1"])
    assert code == 1, capsys.readouterr().err
    assert box.state.activities == {ids[0]: {"ActivityNote": None, "Fields": {"Status": "", "mx_Custom_1": "kept"}}}
    outcomes = {r["_row"]: (r["_outcome"], r["_error_message"]) for r in read_report(tmp_path / "out" / "report.csv")}
    assert outcomes["3"][0] == outcomes["4"][0] == "invalid"
    assert "open and save the file in Excel" in outcomes["3"][1] and "#REF! (cell B4)" in outcomes["4"][1]
    # failed.xlsx keeps "#REF!" as text: a retry of it flags the row again instead of sending "#REF!".
    book = openpyxl.load_workbook(tmp_path / "out" / "failed.xlsx")
    assert [c.value for c in book.active[3]][:2] == [ids[2], "#REF!"] and book.active["B3"].data_type == "s"


def test_error_values_as_text_in_a_csv_are_not_sent(tmp_path):
    # Excel's CSV export writes an error value as its text.
    path = tmp_path / "in.csv"
    path.write_text(f"CompanyActivityId,Status\n{ID},#DIV/0!\n{ID},#N/A\n", encoding="utf-8")
    got = plans(path)
    assert got[2] == Invalid("Status holds #DIV/0! (cell B2): correct it in the sheet, or type the value to send")
    assert fields(got[3]) == {"Status": ""}


# --- midnight ---


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter", "xls"])
def test_midnight_under_a_date_time_format_keeps_its_time_and_is_shifted(tmp_path, writer):
    rows = [["CompanyActivityId", "when", "day"], [ID, dt.datetime(2024, 3, 1), dt.date(2024, 3, 1)], [ID, dt.datetime(2024, 3, 1, 0, 0, 1), dt.date(2024, 3, 2)]]
    formats = {1: "yyyy-mm-dd hh:mm:ss", 2: "yyyy-mm-dd"}
    if writer == "openpyxl":
        path = write_xlsx(tmp_path / "in.xlsx", rows)
    elif writer == "xlsxwriter":
        path = write_xlsxwriter(tmp_path / "in.xlsx", rows, formats)
    else:
        path = write_xls_cells(tmp_path / "in.xls", rows, {}, formats)
    got = plans(path, timezone="Asia/Kolkata")
    assert fields(got[2]) == {"when": "2024-02-29 18:30:00", "day": "2024-03-01"}
    assert fields(got[3]) == {"when": "2024-02-29 18:30:01", "day": "2024-03-02"}


def test_libreoffice_ods_midnight_keeps_its_time(tmp_path):
    path = write_ods(tmp_path / "in.ods", [["CompanyActivityId", "when"], [ID, dt.datetime(2024, 3, 1)]])
    names = 'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
    styles = (
        f'<office:automatic-styles><number:date-style {names} style:name="N50"><number:year/><number:text>-</number:text><number:month/>'
        "<number:text>-</number:text><number:day/><number:text> </number:text><number:hours/><number:text>:</number:text>"
        f'<number:minutes/></number:date-style><style:style {names} style:name="ce1" style:family="table-cell" style:data-style-name="N50"/>'
        "</office:automatic-styles>"
    )
    patch_zip_part(path, "content.xml", {
        'office:value-type="date" office:date-value="2024-03-01T00:00:00"': 'table:style-name="ce1" office:value-type="date" office:date-value="2024-03-01"',
        "<office:automatic-styles/>": styles,
    })
    [row] = open_sheet(path).rows()
    assert row.cells["when"] == "2024-03-01 00:00:00"


def test_a_date_only_format_sends_the_date_only(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["CompanyActivityId", "day"])
    book.active.append([ID, dt.datetime(2024, 3, 1, 14, 30)])
    book.active["B2"].number_format = "dd/mm/yyyy"
    book.save(tmp_path / "in.xlsx")
    assert fields(plans(tmp_path / "in.xlsx")[2]) == {"day": "2024-03-01"}


def test_midnight_shifted_end_to_end(tmp_path, sandbox, monkeypatch, capsys):
    [id_] = new_ids(1)
    box = sandbox()
    path = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "mx_Due"], [id_, dt.datetime(2024, 3, 1)]])
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--timezone", "Asia/Kolkata"]) == 0, capsys.readouterr().err
    assert box.state.activities[id_]["Fields"] == {"mx_Due": "2024-02-29 18:30:00"}


# --- long numbers ---


@pytest.mark.parametrize(("value", "text"), [(1.23456789012345e18, "1234567890123450000"), (0.00001, "0.00001"), (-2.5e-7, "-0.00000025"), (1e15, "1000000000000000"), (-0.0, "0")])
def test_numbers_are_plain_digits_with_at_most_15_significant(value, text):
    assert cell_text(value) == text


def test_check_warns_about_numbers_of_1e15_and_more(tmp_path, capsys):
    path = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "mx_Phone", "mx_Small"], [ID, 123456789012345678, 12], [ID, 1e15, 999999999999999]])
    assert cli.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Warning: 2 number cells hold 1e15 or more (the first: mx_Phone (cell B2))" in out and "format the column as text" in out
    assert '"Value": "123456789012346000"' in out  # what a spreadsheet keeps: 15 digits, no exponent
    result = check(write_xlsx(tmp_path / "small.xlsx", [["CompanyActivityId", "n"], [ID, 999999999999999]]))
    assert result.warnings == []


def test_long_number_text_end_to_end(tmp_path, sandbox, monkeypatch, capsys):
    [id_] = new_ids(1)
    box = sandbox()
    path = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "mx_Big", "mx_Tiny"], [id_, 1.23456789012345e18, 0.00001]])
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0, capsys.readouterr().err
    assert box.state.activities[id_]["Fields"] == {"mx_Big": "1234567890123450000", "mx_Tiny": "0.00001"}


# --- found while looking for more: a zero-padding format (Excel's "Zip Code") ---


@pytest.mark.parametrize("writer", ["openpyxl", "xls"])
def test_a_zero_padded_number_is_sent_as_shown(tmp_path, writer):
    rows = [["CompanyActivityId", "mx_Zip", "n"], [ID, 7, 7], [ID, 12345, 1.5]]
    if writer == "openpyxl":
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.active["B2"].number_format = book.active["B3"].number_format = "00000"
        path = tmp_path / "in.xlsx"
        book.save(path)
    else:
        path = write_xls_cells(tmp_path / "in.xls", rows, {}, {1: "00000"})
    got = plans(path)
    assert fields(got[2]) == {"mx_Zip": "00007", "n": "7"}
    assert fields(got[3]) == {"mx_Zip": "12345", "n": "1.5"}
