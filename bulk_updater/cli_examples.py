"""What `bulk-updater COMMAND --help` teaches besides the flags: each command's examples, and the heading of its own options.

Data, not prose in the docstrings: the help's epilog, docs/cli.md (cli_reference.py) and the test that
parses every example (so none goes stale when a flag changes) read the same lists.
"""

from __future__ import annotations

# Each command's examples: the command line, and what it does. Paths are made up; the flags are real.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "run": [
        ("bulk-updater run edits.xlsx --out runs/monday --region in21 --env-file lsq.env", "send the sheet's edits, keys from an env file"),
        ("bulk-updater run edits.csv --out runs/monday --backup", "keep each activity's old values first, for `undo`"),
        ("bulk-updater run edits.csv --out runs/dry --dry-run", "send nothing: write the report a run would write"),
        ("bulk-updater run edits.xlsx --out runs/monday --plan enterprise --headroom 20 --timezone Asia/Kolkata",
         "leave a fifth of the limit to another integration; the date-times were typed in India"),
    ],
    "retry": [
        ("bulk-updater retry runs/monday/failed.xlsx --out runs/monday-2", "send again the rows that failed, as fixed in failed.xlsx"),
        ("bulk-updater retry runs/monday/failed.xlsx --out runs/monday-2 --dry-run", "what it would send, and which cells changed; nothing sent"),
        ("bulk-updater retry runs/monday/failed.xlsx --out runs/monday-2 --accept-spreadsheet-changes",
         "send cells a spreadsheet changed (007 -> 7) as they are"),
        ("bulk-updater retry runs/monday/report.csv --out runs/monday-2 --backup", "from the whole report, keeping the old values for `undo`"),
    ],
    "resume": [
        ("bulk-updater resume runs/monday", "finish the run with the options it recorded"),
        ("bulk-updater resume runs/monday --env-file lsq.env --rate 10/5", "slower this time (noted in summary.json)"),
        ("bulk-updater resume runs/monday --max-calls none", "lift the call budget the run recorded"),
        ("bulk-updater resume runs/monday --no-canary", "send the rest after the first update was checked by hand"),
    ],
    "undo": [
        ("bulk-updater undo runs/monday --out runs/monday-undo", "restore the old values a run made with --backup kept"),
        ("bulk-updater undo runs/monday --out runs/monday-undo-2 --force", "restore even the activities someone changed since the run"),
        ("bulk-updater undo runs/monday --out runs/monday-undo --env-file lsq.env --rate 10/5", "at a slower pace"),
    ],
    "verify": [
        ("bulk-updater verify runs/monday", "read back what the run wrote, at the run's host and pace"),
        ("bulk-updater verify runs/monday-undo", "an undo's folder: check the old values are back"),
        ("bulk-updater verify runs/monday --rate 10/5 --concurrency 5 --no-progress", "read more slowly, with no bar (in a script)"),
    ],
    "check": [
        ("bulk-updater check edits.csv", "what a run would send, row by row, counted"),
        ("bulk-updater check edits.xlsx --sheet Edits --timezone Asia/Kolkata", "a workbook's sheet, its date-times typed in India"),
        ("bulk-updater check export.txt --encoding cp1252 --delimiter semicolon", "a text file an older Excel saved"),
        ("bulk-updater check export.csv --map headers.json", "a sheet whose headers are not SchemaNames"),
    ],
    "whoami": [
        ("bulk-updater whoami --env-file lsq.env", "whose keys these are, and their region"),
        ("bulk-updater whoami --region in21", "keys from the environment, checked against the in21 region"),
        ("bulk-updater whoami --host https://api-in21.leadsquared.com", "the same, by host"),
    ],
    "ui": [
        ("bulk-updater ui", "open the web page; runs go in ./bulk-updater-runs"),
        ("bulk-updater ui --workspace ~/lsq-runs --env-file ~/lsq.env", "another folder for the runs, keys from an env file"),
        ("bulk-updater ui --no-browser --port 8765", "print the address instead of opening a browser"),
    ],
    "demo": [
        ("bulk-updater demo", "the whole tour against a sandbox, in a new folder"),
        ("bulk-updater demo --out my-demo", "in a folder of your choosing (a new one)"),
        ("bulk-updater demo --no-progress", "with no bar (in a log)"),
    ],
    "sandbox": [
        ("bulk-updater sandbox --demo", "the demo's sandbox, left running: it prints the lines to paste"),
        ("bulk-updater sandbox --port 8080 --rate 25/5 --latency 0.1-0.6", "a limit and a response time like LeadSquared's"),
        ("bulk-updater sandbox --fail-503 0.1 --seed 7", "one call in ten answered 503, the same ones each time"),
    ],
}

# The heading of each command's own options (argparse says only "options"); the others have their groups' titles.
OWN_OPTIONS = {
    "run": "report and screen", "retry": "report and screen", "resume": "report and screen", "undo": "report and screen",
    "verify": "report and screen", "demo": "report and screen", "ui": "the page", "sandbox": "the sandbox",
}  # fmt: skip

EPILOG_TITLE = "examples:"


def epilog(command: str) -> str:
    """The examples as `--help` ends with them."""
    lines = [EPILOG_TITLE]
    for line, what in EXAMPLES.get(command, []):
        lines += [f"  {line}", f"      {what}"]
    return "\n".join(lines) if len(lines) > 1 else ""
