"""The account guard: a command that acts on an existing run (resume, retry, undo, verify) does so
only with the keys of the account the run was sent to.

Keys of another account would send the rest of a sheet, its failed rows or its old values into
another customer's CRM. The run records (run.json) every identity LeadSquared's key check
(UserByAccessKey.Get) gave for its keys; a later command compares each identity both sides have:

    org id          OrgId
    short code      OrgShortCode
    name at host    OrgDisplayName together with LSQCommonServiceURLs.api (two orgs may share a name)

Any disagreement is refused. When none can be compared (the run recorded none, or the answer
gives none the run has), it is refused too, unless the admin says the keys are right
(`--unverified-account` on the command line, a checkbox on the page). That word is given again
each time: it is never recorded. LeadSquared's own example answer has no OrgId, so an answer
without one must not let any keys through.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .hosts import hostname

UNVERIFIED_FLAG = "--unverified-account"
# What the CLI tells the admin to do when nothing can be compared; the page names its own checkbox.
CLI_OVERRIDE = f"Check the keys' account with `bulk-updater whoami`; if it is the run's, add {UNVERIFIED_FLAG} (not recorded: give it again each time)"


@dataclass(frozen=True)
class Account:
    """The org some keys belong to, as the key check answered; "" where the answer gave nothing."""

    org_id: str = ""
    org_code: str = ""  # OrgShortCode
    org: str = ""  # OrgDisplayName
    api_host: str = ""  # LSQCommonServiceURLs.api, bare (api-in21.leadsquared.com)

    def identities(self) -> dict[str, str]:
        """Each identity this side has, by what it is called in a message."""
        found = {"org id": self.org_id.strip(), "short code": self.org_code.strip()}
        host = hostname(self.api_host)  # LeadSquared names a bare host; the port is a stand-in's (the sandbox's)
        if self.org.strip() and host:  # a name alone is no identity: two orgs may share it
            found["name at API host"] = f"{self.org.strip()!r} at {host}"
        return {what: value for what, value in found.items() if value}

    def describe(self) -> str:
        """'"Education 101" (short code 22824, id 3b10..., at api-in21.leadsquared.com)', with what is known."""
        details = [f"short code {self.org_code}" if self.org_code else "", f"id {self.org_id}" if self.org_id else "",
                   f"at {self.api_host}" if self.api_host else ""]
        shown = ", ".join(detail for detail in details if detail)
        name = repr(self.org) if self.org else "an account"
        return f"{name} ({shown})" if shown else f"{name} (no org id, short code or API host given)"

    def filled_from(self, earlier: Account) -> Account:
        """This account, with what `earlier` recorded where this answer gave nothing (so a resume never forgets)."""
        return Account(self.org_id or earlier.org_id, self.org_code or earlier.org_code, self.org or earlier.org, self.api_host or earlier.api_host)


def refuse_another_account(run: Account, keys: Account, run_name: str, unverified_account: bool = False, override: str = CLI_OVERRIDE) -> None:
    """Raise InputError unless `keys` are known to belong to the account `run` was sent to.

    `run_name` names the run in the message ("the run in runs/monday"). With `unverified_account`,
    keys that can't be compared at all are let through; a disagreement never is.
    """
    problem = another_account(run, keys, run_name, unverified_account, override)
    if problem is not None:
        raise problem


def another_account(run: Account, keys: Account, run_name: str, unverified_account: bool = False, override: str = CLI_OVERRIDE) -> InputError | None:
    """The refusal `refuse_another_account` raises, or None when the keys may act on the run."""
    recorded, answered = run.identities(), keys.identities()
    compared = [what for what in recorded if what in answered]
    differ = [what for what in compared if recorded[what] != answered[what]]
    if differ:
        return InputError(
            f"the keys belong to another account than {run_name}: it was sent to {run.describe()}, "
            f"the keys belong to {keys.describe()} (they differ in {' and '.join(differ)})",
            hint="Nothing was sent. Give the keys of the account the run was sent to (the --env-file the run used; on the page, connect with them).",
        )
    if compared or unverified_account:
        return None
    why = ("it recorded no org id, short code, or org name with API host (the key check gave none when it started, or an older bulk-updater started it)" if not recorded
           else f"it recorded {', '.join(recorded)}, and the key check answered {', '.join(answered) or 'none of them'}")
    return InputError(
        f"can't tell whether the keys belong to the account {run_name} was sent to: {why}. "
        f"The run was sent to {run.describe()}; the keys belong to {keys.describe()}",
        hint=f"Nothing was sent. {override}.",
    )
