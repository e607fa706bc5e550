"""How verify reads a run back: with the run's own host and pace (it reads the account the run wrote
to, as fast as the run wrote), unless given; only the options verify takes (options.VERIFY_TAKES).

The CLI gives its flags; the page gives its connection's host and keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ..credentials import Credentials
from ..options import for_verify, send_settings, with_defaults
from ..rundir.run_record import recorded_values
from ..settings import SendSettings


def verify_settings(
    run_dir: str | Path, given: Mapping[str, object], credentials: Callable[[], Credentials], default_host: Callable[[], str] | None = None
) -> SendSettings:
    """The settings verify reads `run_dir` with: each option `given`, else the run's recorded value.

    `default_host` gives the host when neither does (the environment's); `credentials` are asked for
    only then, once the host is known (a prompt never comes before a refusal it could not change).
    """
    values = for_verify(recorded_values(run_dir), given)
    if not values.get("host") and default_host is not None:
        values["host"] = default_host()
    keys = credentials()
    return send_settings(with_defaults(values), keys)
