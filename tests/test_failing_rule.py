"""Which failures count towards the stop on systematic failure: the data's (an MX error, a 4xx), not the
keys' (401), the rate's (429) or the server's (5xx, the retry rules' business)."""

from __future__ import annotations

import pytest

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.rows import Row
from bulk_updater.safety.failing import failed_permanently


def failed(status: int | None, error_type: str = "HTTPError") -> RowOutcome:
    return RowOutcome(Row(2, {}), Outcome.FAILED, attempts=1, http_status=status, error_type=error_type)


@pytest.mark.parametrize("status", [400, 404, 499])
def test_a_4xx_is_the_datas_fault(status):
    assert failed_permanently(failed(status))


@pytest.mark.parametrize("status", [401, 429, 500, 503, None])
def test_the_keys_the_rate_and_the_server_are_not_the_datas_fault(status):
    assert not failed_permanently(failed(status))


def test_an_mx_error_is_the_datas_fault_whatever_its_status():
    assert failed_permanently(failed(500, "MXInvalidInputException"))


@pytest.mark.parametrize("error_type", ["BackupFailed", "UnexpectedResponse", "TLSError"])
def test_a_failed_snapshot_an_answer_not_understood_and_a_tls_failure_fail_again_if_sent_again(error_type):
    assert failed_permanently(failed(None, error_type))
