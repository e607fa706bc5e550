"""Spreadsheet damage: the changes Excel makes to a CSV it opens and saves. Pure: no I/O.

`spreadsheet_change(old, new)` says whether `new` is `old` put through one of them (used by
`retry`, which knows the original cell); the `looks_*` tests spot the signs in a single cell
(used by `check`, which does not). See docs/sheet.md, "Excel and CSV".
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext

# Excel's General format for a number too wide for its cell: 1.23457E+19, 1E-05.
SCIENTIFIC = re.compile(r"[+-]?\d(?:\.\d+)?[eE][+-]\d{1,3}")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# A number as text may be typed: 007, -007, +5, 007.50, .5, 7., 12E3, 1.5e-3.
TYPED_NUMBER = re.compile(r"([+-]?)(\d*)(?:(\.)(\d*))?([eE][+-]?\d+)?")
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number
# Text Excel reads as a day and month (1-2, 3/4, SEPT1, Mar 5), and how it then shows it (2-Jan, Mar-05).
EXCEL_DAY_MONTH = re.compile(r"\d{1,2}[-/]\d{1,2}|[A-Za-z]{3,9}[- ]?\d{1,2}|\d{1,2}[- ]?[A-Za-z]{3,9}")
SHORT_DATE = re.compile(r"\d{1,2}-[A-Za-z]{3}|[A-Za-z]{3}-\d{2}")
# Three numbers a spreadsheet reads as a day, a month and a year (3-4-5 -> 3/4/2005), one separator.
THREE_PART_DATE = re.compile(r"(\d{1,4})([-/.])(\d{1,2})\2(\d{1,4})")
BOOLEANS = ("TRUE", "FALSE")  # how Excel and LibreOffice write a boolean, whatever was typed
# A formula a spreadsheet computes when it opens a CSV: "=" always; "+", "-" and "@" only when the
# rest is arithmetic (-1+2), since a plain number (-007) or text (- pending) stays as it is.
FORMULA_STARTS = ("=", "+", "-", "@")
FORMULA_CHARS = 200  # longer arithmetic is not computed here (the "=" rule still applies)
ARITHMETIC_TOKEN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[-+*/^%()]")
ID_WORDS = {"id", "code", "phone", "zip"}
LONG_DIGITS = 12

_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%d-%m-%Y", "%m-%d-%Y",
          "%d.%m.%Y", "%d.%m.%y", "%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%Y%m%d")
_TIMES = ("", " %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "T%H:%M:%S")


def spreadsheet_change(old: str, new: str) -> str | None:
    """The spreadsheet change that turns `old` into `new` (e.g. "leading zeros stripped"), or None."""
    if old == new:
        return None
    for test in (_formula_computed, _number_retyped, _scientific, _written_out, _fifteen_digits, _decimal_comma, _date_reformatted,
                 _made_a_date, _made_a_full_date, _boolean_case, _not_windows_1252, _mojibake):
        if (kind := test(old, new)) is not None:
            return kind
    return None


def _number_retyped(old: str, new: str) -> str | None:
    """`new` is the number `old` as a spreadsheet writes it back: 007 -> 7, -007 -> -7, +5 -> 5, 007.50 -> 7.5.

    Trailing zeros after the point alone (1.50 -> 1.5) are not flagged: they can't be a loss, as the
    one comparison holds (docs/design.md). With leading zeros or a sign lost, they are named too.
    """
    typed = _typed_number(old.strip())
    if typed is None or typed[4] or new.strip() != _as_spreadsheet_writes(old.strip()):
        return None
    sign, whole, _, fraction, _ = typed
    lost = []
    if sign == "+":
        lost.append("leading + dropped")
    if len(whole) > 1 and whole.startswith("0"):
        lost.append("leading zeros stripped")
    if sign == "-" and not new.strip().startswith("-"):
        lost.append("the minus sign of a zero dropped")
    if not lost:
        return None
    if fraction != fraction.rstrip("0"):
        lost.append("trailing zeros after the point dropped")
    return ", ".join(lost)


def _typed_number(text: str) -> tuple[str, str, str, str, str] | None:
    """(sign, whole digits, point, fraction digits, exponent) of a number typed as text, or None."""
    match = TYPED_NUMBER.fullmatch(text)
    if match is None or not (match[2] or match[4]):
        return None
    return match[1], match[2], match[3] or "", match[4] or "", match[5] or ""


def _as_spreadsheet_writes(text: str) -> str:
    """A plain number as Excel's General format writes it: no +, no leading or trailing zeros, -0 as 0."""
    value = Decimal(text)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _scientific(old: str, new: str) -> str | None:
    """`new` is Excel's scientific form of the number `old` (1.23457E+19 for 12345678901234567890)."""
    typed = _typed_number(old.strip())
    if not SCIENTIFIC.fullmatch(new.strip()) or typed is None:
        return None
    mantissa = new.strip().lower().split("e")[0].lstrip("+-")
    shown = len(mantissa.replace(".", ""))
    try:
        value, exact = Decimal(new.strip()), Decimal(old.strip())
    except InvalidOperation:
        return None
    if exact == 0:
        return None
    # Half a unit in the last digit shown: Excel rounds the number to what fits.
    half_unit = Decimal(10) ** (exact.adjusted() - shown + 1) / 2
    if abs(value - exact) > half_unit:
        return None
    return "scientific notation rewritten" if typed[4] else "turned into scientific notation"


def _written_out(old: str, new: str) -> str | None:
    """A number typed with an exponent, written back in plain digits: 12E3 -> 12000, 1e-3 -> 0.001."""
    typed = _typed_number(old.strip())
    if typed is None or not typed[4] or _typed_number(new.strip()) is None or "e" in new.lower():
        return None
    try:
        return "scientific notation written out in digits" if Decimal(new.strip()) == Decimal(old.strip()) else None
    except InvalidOperation:
        return None


def _fifteen_digits(old: str, new: str) -> str | None:
    """A number of more than 15 digits shown in full by Excel: the digits past the 15th are zeros."""
    if old.isdigit() and new.isdigit() and len(old) == len(new) > EXCEL_DIGITS and set(new[EXCEL_DIGITS:]) == {"0"}:
        if abs(int(new) - int(old)) < 10 ** (len(old) - EXCEL_DIGITS):
            return f"digits past the {EXCEL_DIGITS}th replaced by zeros"
    return None


def _decimal_comma(old: str, new: str) -> str | None:
    """Excel in a European locale writes 1.5 as 1,5."""
    if NUMBER.fullmatch(old.strip()) and "." in old and new == old.replace(".", ","):
        return "decimal point written as a comma (a European locale)"
    return None


def _made_a_date(old: str, new: str) -> str | None:
    """Text Excel takes for a date: 1-2 -> 2-Jan, 3/4 -> 4-Mar, SEPT1 -> 1-Sep."""
    if _datetimes(old) or not EXCEL_DAY_MONTH.fullmatch(old.strip()):
        return None
    if SHORT_DATE.fullmatch(new.strip()) or _datetimes(new):
        return "turned into a date"
    return None


def _made_a_full_date(old: str, new: str) -> str | None:
    """Three numbers that are not a date as typed, read as one: 3-4-5 -> 3/4/2005 (or 4/3/2005, 2003-04-05).

    The date must be made of the same three numbers, so a date typed over the cell is an edit.
    """
    match = THREE_PART_DATE.fullmatch(old.strip())
    if match is None or _datetimes(old):
        return None
    parts = sorted(int(n) % 100 for n in (match[1], match[3], match[4]))
    for value, precision in _datetimes(new):
        if precision == "day" or value.time() == dt.time():
            if sorted((value.year % 100, value.month, value.day)) == parts:
                return "turned into a date"
    return None


def _boolean_case(old: str, new: str) -> str | None:
    """A boolean's spelling changed by a spreadsheet: true -> TRUE."""
    return "a boolean rewritten in capitals" if new in BOOLEANS and old.strip().upper() == new else None


def _formula_computed(old: str, new: str) -> str | None:
    """Text a spreadsheet took for a formula, replaced by its result: =1+2 -> 3.

    Arithmetic is computed here, and the cell is flagged when `new` is its result. Any other
    formula (=A1, =VLOOKUP(...)) can't be: a cell that no longer starts with "=" is flagged.
    """
    text = old.strip()
    if not text.startswith(FORMULA_STARTS) or len(text) < 2 or not new.strip():
        return None  # a blank cell is left alone: nothing of it is sent
    if text[0] != "=" and _typed_number(text) is not None:
        return None  # -007, +5: a number, not a formula
    result = _arithmetic(text[1:] if text[0] in "=@" else text)  # -1+2 is the formula =-1+2
    if result is None:
        return "a formula replaced by what the spreadsheet computed" if text[0] == "=" and not new.strip().startswith("=") else None
    return "a formula replaced by its result" if _shows(new.strip(), result) else None


def _shows(text: str, value: Decimal) -> bool:
    """`text` is `value` as a spreadsheet may show it: rounded to the digits shown, in any notation."""
    if _typed_number(text) is None:
        return False
    try:
        shown = Decimal(text)
    except InvalidOperation:
        return False
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return abs(shown - value) <= Decimal(10) ** exponent / 2


def _date_reformatted(old: str, new: str) -> str | None:
    old_values, new_values = _datetimes(old), _datetimes(new)
    for new_value, precision in new_values:
        for old_value, _ in old_values:
            if _truncate(old_value, precision) == new_value:
                return "the same date in another format" if precision == "second" or old_value == new_value else "the same date, shortened"
    return None


def _datetimes(text: str) -> list[tuple[dt.datetime, str]]:
    """Every reading of `text` as a date or date-time, with the precision it shows."""
    text = text.strip()
    if not (6 <= len(text) <= 24) or not any(c.isdigit() for c in text):
        return []
    values = []
    for date in _DATES:
        if date == "%Y%m%d" and not (len(text) >= 8 and text[:8].isdigit() and not text[8:9].isdigit()):
            continue  # strptime would read 2024031 as 2024-03-1: only 8 digits are written so
        for time in _TIMES:
            try:
                value = dt.datetime.strptime(text, date + time)
            except ValueError:
                continue
            values.append((value, "second" if "%S" in time else "minute" if time else "day"))
    return values


def _truncate(value: dt.datetime, precision: str) -> dt.datetime:
    if precision == "day":
        return value.replace(hour=0, minute=0, second=0)
    if precision == "minute":
        return value.replace(second=0)
    return value


def _arithmetic(formula: str) -> Decimal | None:
    """The value of `formula` if it is plain arithmetic (numbers, + - * / ^ %, parentheses), else None."""
    if len(formula) > FORMULA_CHARS:
        return None
    tokens = ARITHMETIC_TOKEN.findall(formula.replace(" ", ""))
    if "".join(tokens) != formula.replace(" ", "") or not tokens:
        return None
    try:
        with localcontext() as context:
            context.prec = 28
            parser = _Arithmetic(tokens)
            value = parser.sum()
            return value if parser.done() else None
    except (ArithmeticError, RecursionError, _NotArithmetic):  # 1/0, 10^10^10, ((((...
        return None


class _NotArithmetic(Exception):
    pass


class _Arithmetic:
    """Excel's order: unary minus, %, ^, then * and /, then + and -."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

    def done(self) -> bool:
        return self.at == len(self.tokens)

    def _peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def _take(self) -> str:
        if self.at >= len(self.tokens):
            raise _NotArithmetic
        self.at += 1
        return self.tokens[self.at - 1]

    def sum(self) -> Decimal:
        value = self._product()
        while self._peek() in ("+", "-"):
            value = value + self._product() if self._take() == "+" else value - self._product()
        return value

    def _product(self) -> Decimal:
        value = self._power()
        while self._peek() in ("*", "/"):
            value = value * self._power() if self._take() == "*" else value / self._power()
        return value

    def _power(self) -> Decimal:
        value = self._unary()
        while self._peek() == "^":
            self._take()
            exponent = self._unary()
            if exponent != exponent.to_integral_value() or abs(exponent) > 1000:
                raise _NotArithmetic
            value = value ** int(exponent)
        return value

    def _unary(self) -> Decimal:
        if self._peek() in ("+", "-"):
            sign = self._take()
            value = self._unary()
            return -value if sign == "-" else value
        value = self._atom()
        while self._peek() == "%":
            self._take()
            value /= 100
        return value

    def _atom(self) -> Decimal:
        token = self._take()
        if token == "(":
            value = self.sum()
            if self._take() != ")":
                raise _NotArithmetic
            return value
        if token[0].isdigit() or token[0] == ".":
            return Decimal(token)
        raise _NotArithmetic


def _not_windows_1252(old: str, new: str) -> str | None:
    """Saved as "CSV (Comma delimited)": each character Windows-1252 lacks became `?` (or its bare letter)."""
    pattern, replaced = [], False
    for char in old:
        if _in_windows_1252(char):
            pattern.append(re.escape(char))
            continue
        replaced = True
        base = unicodedata.normalize("NFKD", char)[:1]
        choices = [r"\?\??"] + ([re.escape(base)] if base != char and _in_windows_1252(base) else [])
        pattern.append(f"(?:{'|'.join(choices)})")
    if replaced and re.fullmatch("".join(pattern), new, flags=re.DOTALL):
        return "characters Windows-1252 lacks replaced by ?"
    return None


def _mojibake(old: str, new: str) -> str | None:
    """UTF-8 read as Windows-1252 (Müller -> MÃ¼ller), once or twice."""
    once = mojibake(old)
    if once != old and new in (once, mojibake(once)):
        return "UTF-8 text read as Windows-1252"
    return None


def mojibake(text: str) -> str:
    """`text`'s UTF-8 bytes read as Windows' ANSI code page, as Excel reads a CSV without a BOM."""
    return text.encode("utf-8").decode("cp1252", errors="c1_controls")


def looks_like_mojibake(text: str) -> bool:
    """True when `text` reads as UTF-8 bytes shown as Windows-1252 (`MÃ¼ller`)."""
    if text.isascii():
        return False
    try:
        raw = text.encode("cp1252", errors="c1_controls")
        return raw.decode("utf-8") != text
    except UnicodeError:
        return False


def looks_scientific(text: str) -> bool:
    return SCIENTIFIC.fullmatch(text.strip()) is not None


def id_like_header(name: str) -> bool:
    """A header naming an id, code, phone or zip (CustomerId, mx_Phone, ZIP, Postal Code...)."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    return any(word.lower() in ID_WORDS for word in words)


def id_like_cell(text: str) -> bool:
    """Digits only, with leading zeros or 12 digits or more: Excel would damage it."""
    text = text.strip()
    return text.isdigit() and ((len(text) > 1 and text.startswith("0")) or len(text) >= LONG_DIGITS)


@dataclass
class DamageSigns:
    """`check`'s scan of a sheet for the signs of an Excel round trip; counts and first examples only."""

    examples: int = 3
    _found: dict[str, list] = field(default_factory=dict)  # kind -> [count, [(row, column, value)]]
    _id_like: set[str] = field(default_factory=set)
    _scientific: dict[str, list] = field(default_factory=dict)  # column -> [count, [(row, value)]]

    def add(self, number: int, cells: dict[str, str]) -> None:
        for column, value in cells.items():
            # Cheap tests first: this runs on every cell of a big sheet.
            if not value:
                continue
            if value[0].isdigit():
                if column not in self._id_like and id_like_cell(value):
                    self._id_like.add(column)
                if ("E" in value or "e" in value) and looks_scientific(value):
                    self._note(self._scientific, column, (number, value))
            if not value.isascii() and looks_like_mojibake(value):
                self._note(self._found, "mojibake", (number, column, value))
            if "??" in value:  # a run of `?`: what characters Windows-1252 lacks become in an ANSI CSV
                self._note(self._found, "question marks", (number, column, value))

    def _note(self, table: dict, key: str, example: tuple) -> None:
        entry = table.setdefault(key, [0, []])
        entry[0] += 1
        if len(entry[1]) < self.examples:
            entry[1].append(example)

    def warnings(self) -> list[str]:
        out = []
        if entry := self._found.get("mojibake"):
            out.append(f"{_cells(entry[0])} look like UTF-8 text read as Windows-1252 (e.g. {_where(entry[1])}): "
                       "the file was opened in Excel without a BOM and saved. Use the text as it was before.")
        if entry := self._found.get("question marks"):
            out.append(f"{_cells(entry[0])} hold runs of '?' (e.g. {_where(entry[1])}): characters may have been lost "
                       "when the file was saved as ANSI CSV. Save as 'CSV UTF-8', or use .xlsx.")
        for column, (count, examples) in self._scientific.items():
            if column in self._id_like or id_like_header(column):
                shown = ", ".join(f"row {n} {value!r}" for n, value in examples)
                out.append(f"column {column!r}: {_cells(count)} in scientific notation ({shown}) in a column of ids or codes: "
                           "Excel turned the numbers into 1.23457E+19; the digits are lost. Format the column as text and type them again.")
        return out


def _cells(count: int) -> str:
    return f"{count:,} cell" + ("" if count == 1 else "s")


def _where(examples: list[tuple[int, str, str]]) -> str:
    return ", ".join(f"row {n}, {column}: {value!r}" for n, column, value in examples)


def _in_windows_1252(char: str) -> bool:
    try:
        char.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def _c1_controls(error: UnicodeError) -> tuple[str | bytes, int]:
    """Windows maps the five bytes Windows-1252 leaves undefined to the C1 controls of the same value."""
    if isinstance(error, UnicodeDecodeError):
        return "".join(chr(b) for b in error.object[error.start : error.end]), error.end
    if isinstance(error, UnicodeEncodeError):
        chars = error.object[error.start : error.end]
        if all(0x80 <= ord(c) <= 0x9F for c in chars):
            return bytes(ord(c) for c in chars), error.end
    raise error


codecs.register_error("c1_controls", _c1_controls)
