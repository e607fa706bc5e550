from bulk_updater.rows import Row
from bulk_updater.updates import Invalid, NothingToChange, UpdateRequest, plan_row

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"


def plan(**cells):
    return plan_row(Row(2, {"CompanyActivityId": ID, **cells}))


def test_blank_cells_are_left_alone_and_values_sent_as_written():
    request = plan(ActivityNote="", Status="Won", mx_Custom_1="007", mx_Custom_2="  ")
    assert request == UpdateRequest(ID, None, (("Status", "Won"), ("mx_Custom_1", "007")))
    assert request.to_json() == {
        "CompanyActivityId": ID,
        "Fields": [{"SchemaName": "Status", "Value": "Won"}, {"SchemaName": "mx_Custom_1", "Value": "007"}],
    }


def test_clear_token_sends_an_empty_value():
    request = plan(ActivityNote="#N/A", Status=" #N/A ")
    assert request.note == "" and request.fields == (("Status", ""),)
    assert request.to_json()["ActivityNote"] == ""


def test_clear_token_can_be_changed():
    request = plan_row(Row(2, {"CompanyActivityId": ID, "Status": "x", "Owner": "CLEAR"}), clear_token="CLEAR")
    assert request.fields == (("Status", "x"), ("Owner", ""))


def test_an_error_value_that_is_not_the_clear_token_is_never_sent():
    # #N/A with another clear token is neither a clear nor a value: sending it would write "#N/A" into the CRM.
    plan = plan_row(Row(2, {"CompanyActivityId": ID, "Status": "#N/A"}, letters={"Status": "B"}), clear_token="CLEAR")
    assert plan == Invalid("Status holds #N/A (cell B2): correct it in the sheet, or type the value to send (the clear token is CLEAR, not #N/A)")
    assert isinstance(plan_row(Row(2, {"CompanyActivityId": ID, "Status": " #DIV/0! "})), Invalid)


def test_na_text_is_a_value_not_a_blank():
    assert plan(Status="NA").fields == (("Status", "NA"),)


def test_row_with_nothing_to_change_is_skipped():
    assert plan(ActivityNote="", Status="") == NothingToChange()


def test_bad_or_blank_id_is_invalid():
    assert isinstance(plan_row(Row(2, {"CompanyActivityId": "12345", "Status": "Won"})), Invalid)
    assert plan_row(Row(2, {"CompanyActivityId": " ", "Status": "Won"})) == Invalid("CompanyActivityId is blank")


def test_id_is_trimmed_and_lowercased():
    request = plan_row(Row(2, {"CompanyActivityId": f" {ID.upper()} ", "Status": "Won"}))
    assert request.activity_id == ID
