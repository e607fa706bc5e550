"""What the library tells a person goes to its caller, never to a stream of its own.

A job's notes (a resume, a warning, a stop on its way) go to the `on_note` of its `Hooks`; a library
caller that gives none hears nothing. The CLI prints them on stderr; the page shows them on the run's page.

Some warnings rise deep in the readers and the run folder (an option that does nothing for this
file, a folder that can't be locked, a workbook copy not written), in code that serves `check` as
well as a job. They are raised with `warn`: inside a job (`telling`) they are that job's notes,
"Warning: ..."; outside one they are Python warnings (`BulkUpdaterWarning`), which the CLI prints
the same way. The job's listener is context-local, so jobs in threads of their own (the page) each
hear their own.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from .errors import BulkUpdaterWarning

Note = Callable[[str], None]

_job_note: ContextVar[Note | None] = ContextVar("bulk_updater_job_note", default=None)


def _unheard(text: str) -> None:
    """A library caller that asked for no notes."""


def warn(text: str, stacklevel: int = 2) -> None:
    """Warn the person running the command: the running job's note, or a Python warning outside any job."""
    note = _job_note.get()
    if note is not None:
        note(f"Warning: {text}")
    else:
        warnings.warn(text, BulkUpdaterWarning, stacklevel=stacklevel + 1)


@contextlib.contextmanager
def telling(note: Note | None) -> Iterator[None]:
    """While a job runs in this context, its warnings go to `note` (None: to nobody)."""
    token = _job_note.set(note or _unheard)
    try:
        yield
    finally:
        _job_note.reset(token)
