"""Text a server wrote, made safe to store and to print.

A server (or anything posing as one) chooses every byte of its answers. Before such text
reaches the report, summary.json or the terminal, it is masked of the keys (by the caller,
always first: a key cut in half can no longer be matched), then passed through here:

- `cut`: at most SERVER_TEXT_CHARS characters, so a 50 MB message costs nothing;
- `spreadsheet_safe`: a `'` before text Excel would open as a formula;
- `printable`: one line with no control characters (no escape sequences on the terminal);
- `without_controls`: what the output streams apply to everything printed.
"""

from __future__ import annotations

import re

SERVER_TEXT_CHARS = 1000
CUT_MARK = "…"
# Excel (and LibreOffice) read a cell starting with one of these as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder a line's text.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_ANY_CONTROL = re.compile(f"[{_CONTROLS}]+")
# Line breaks and tabs are the streams' own (the progress bar redraws with \r).
_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def cut(text: str, limit: int = SERVER_TEXT_CHARS) -> str:
    """`text` with at most `limit` characters (the last one a mark when cut), and no lone surrogates."""
    if len(text) > limit:
        text = text[: limit - len(CUT_MARK)] + CUT_MARK
    # A JSON "\ud800" decodes to a lone surrogate, which no UTF-8 file can hold.
    return text.encode("utf-8", "replace").decode("utf-8")


def spreadsheet_safe(text: str) -> str:
    """Server text for a CSV cell: prefixed with `'` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def printable(text: str) -> str:
    """Server text for one line of the terminal: cut, control characters (line breaks too) as spaces."""
    return cut(_ANY_CONTROL.sub(" ", text))


def without_controls(text: str) -> str:
    """Text for the terminal with every control character removed except line breaks and tabs."""
    return _CONTROL_BUT_LAYOUT.sub("", text)
