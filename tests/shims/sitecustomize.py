"""Test-only faults for the real CLI in a subprocess; never installed, loaded with PYTHONPATH=tests/shims.

Each fault raises an error whose text holds the secret key, as a careless library might:
  BULK_UPDATER_FAULT=send   every update call raises (each row is recorded with the error text)
  BULK_UPDATER_FAULT=crash  writing the third report line raises, and the error escapes the run
"""

import os

_FAULT = os.environ.get("BULK_UPDATER_FAULT", "")


def _error() -> RuntimeError:
    return RuntimeError(f"socket closed while sending x-LSQ-SecretKey={os.environ.get('LSQ_SECRET_KEY')}")


def _fail_every_send() -> None:
    from bulk_updater.calls.client import LeadSquaredClient

    async def send_update(self, request):
        raise _error()

    LeadSquaredClient.send_update = send_update


def _crash_on_third_line() -> None:
    from bulk_updater.report.writer import ReportWriter

    original, written = ReportWriter.write, []

    def write(self, result):
        written.append(result)
        if len(written) == 3:
            raise _error()
        original(self, result)

    ReportWriter.write = write


if _FAULT == "send":
    _fail_every_send()
elif _FAULT == "crash":
    _crash_on_third_line()
