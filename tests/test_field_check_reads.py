"""The field check reads the first activity only when a read can tell something: a column that may
clash in case, or one to warn about. End to end against the sandbox, counting its reads."""

from __future__ import annotations

import asyncio

from conftest import new_ids

from bulk_updater import Credentials, SendSettings
from bulk_updater.calls import WindowLimiter
from bulk_updater.rows import ACTIVITY_ID, NOTE
from bulk_updater.safety.field_check import ColumnCheck, check_fields
from bulk_updater.settings import Rate
from bulk_updater.updates import UpdateRequest


def checked(box, check: ColumnCheck, first: UpdateRequest | None) -> list[str]:
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1), timeout=10)
    return asyncio.run(check_fields(check, first, send, WindowLimiter(1000, 1.0)))


def test_a_sheet_of_notes_only_is_not_read_for(sandbox):
    [a] = new_ids(1)
    box = sandbox(initial={a: {"ActivityNote": "", "Fields": {"Status": "Open"}}})
    assert checked(box, ColumnCheck([ACTIVITY_ID, NOTE]), UpdateRequest(a, "hello", ())) == []
    assert box.state.retrieve_calls == 0


def test_nothing_to_send_is_nothing_to_read(sandbox):
    box = sandbox()
    assert checked(box, ColumnCheck([ACTIVITY_ID, "Statuz"]), None) == []
    assert box.state.retrieve_calls == 0


def test_a_column_the_activity_does_not_list_is_warned_about_after_one_read(sandbox):
    [a] = new_ids(1)
    box = sandbox(initial={a: {"ActivityNote": "", "Fields": {"Status": "Open"}}})
    warnings = checked(box, ColumnCheck([ACTIVITY_ID, "Statuz"]), UpdateRequest(a, None, (("Statuz", "Won"),)))
    assert warnings == ["Statuz is not among this activity's fields; did you mean Status?"]
    assert box.state.retrieve_calls == 1


def test_a_column_map_named_is_still_read_for_to_warn_when_the_activity_does_not_list_it(sandbox):
    """--map named it, so it can't be refused; a read still warns that the activity does not list it."""
    [a] = new_ids(1)
    box = sandbox(initial={a: {"ActivityNote": "", "Fields": {"Status": "Open"}}})
    check = ColumnCheck([ACTIVITY_ID, "Statuz"], named=frozenset({"Statuz"}))
    warnings = checked(box, check, UpdateRequest(a, None, (("Statuz", "Won"),)))
    assert warnings == ["Statuz is not among this activity's fields; did you mean Status?"]
