"""The account's keys: where they come from, and keeping them out of everything we print or store.

LeadSquared keys carry the full privileges of their user. They come from the environment,
a .env-style file (`--env-file`) or a hidden prompt, never from a command-line option (it
would land in shell history). They travel only in the x-LSQ-AccessKey / x-LSQ-SecretKey
headers. Every text we write passes through a redaction that replaces them with ***:
report lines, summary.json, and, in the CLI, everything written to stdout and stderr,
crash tracebacks included. A server may echo a key in another form, so each key is
masked as written and as JSON, HTML, a URL, base64 and hex would carry it (`key_forms`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import os
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, quote_plus

from dotenv import dotenv_values

from .errors import InputError
from .server_text import without_controls

ACCESS_KEY, SECRET_KEY = "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"
_LABELS = {ACCESS_KEY: "access key", SECRET_KEY: "secret key"}
MASK = "***"
# Real LeadSquared keys are dozens of characters long. Masking a shorter "key" (a test's "a")
# would garble every message without protecting anything.
MIN_SECRET_LENGTH = 8
# The end of the last line printed that matches this many first characters of a key is masked.
PARTIAL_KEY_CHARS = 4

Ask = Callable[[str], str]


@dataclass(frozen=True)
class Credentials:
    """The account's keys. They carry a user's full privileges, so they never print."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        for name, value in ((ACCESS_KEY, self.access_key), (SECRET_KEY, self.secret_key)):
            _refuse_control_characters(name, value)

    def headers(self) -> dict[str, str]:
        return {"x-LSQ-AccessKey": self.access_key, "x-LSQ-SecretKey": self.secret_key}

    def redact(self, text: str) -> str:
        """Replace any form of either key in `text`; used on everything we print or store."""
        return self._mask.redact(text) if text else text

    @functools.cached_property
    def _mask(self) -> _Mask:
        # Worked out once: redact runs on every row's outcome.
        return _Mask((self.access_key, self.secret_key))

    def __repr__(self) -> str:
        return "Credentials(***)"


def read_env_file(path: str | Path) -> dict[str, str]:
    """The KEY=value lines of a .env-style file (comments, quotes and `export` allowed)."""
    try:
        with open(path, encoding="utf-8") as stream:
            # interpolate=False: a secret holding "$" must arrive exactly as written.
            values = dotenv_values(stream=stream, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InputError(f"can't read the env file ({reason})", where=str(path), hint="Give the path of a file of NAME=value lines with --env-file.") from None
    return {name: value for name, value in values.items() if value is not None}


def readable_by_others(path: str | Path) -> bool:
    """True when users other than the owner may read the file (POSIX permissions)."""
    return os.name == "posix" and bool(Path(path).stat().st_mode & 0o077)


def environment(env_file: str | Path | None = None, warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """The process environment, with an env file's NAME=value lines laid over it (the file is the explicit choice).

    `warn` hears that the file can be read by other users (default: `warnings.warn`).
    """
    if env_file is None:
        return dict(os.environ)
    file_values = read_env_file(env_file)
    if readable_by_others(env_file):
        (warn or warnings.warn)(f"{env_file} can be read by other users; keep keys private with: chmod 600 {env_file}")
    return {**os.environ, **file_values}


def credentials_from(environ: Mapping[str, str] | None = None, ask: Ask | None = None) -> Credentials:
    """The keys in LSQ_ACCESS_KEY and LSQ_SECRET_KEY (of the process environment by default), the
    missing ones asked with `ask` if given; masked from then on in everything this process prints."""
    credentials = load_credentials(os.environ if environ is None else environ, ask)
    REDACTOR.protect(credentials)
    return credentials


def load_credentials(environ: Mapping[str, str], ask: Ask | None = None) -> Credentials:
    """Take the keys from `environ`; ask for the missing ones with `ask` (a hidden prompt) if given."""
    keys = {}
    for name in (ACCESS_KEY, SECRET_KEY):
        value = environ.get(name, "").strip()
        if not value and ask is not None:
            value = _answer(ask, f"LeadSquared {_LABELS[name]} ({name}, typing is hidden): ")
        keys[name] = value
    missing = [name for name, value in keys.items() if not value]
    if missing:
        raise InputError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
            hint="Export the account's keys in the environment, put them in a file given with --env-file, "
            "or run in a terminal to be asked for them.",
        )
    return Credentials(keys[ACCESS_KEY], keys[SECRET_KEY])


def _refuse_control_characters(name: str, value: str) -> None:
    """A line break or other control character inside a key is a copy-paste accident: no HTTP
    header can carry it, so say so when the key is loaded (the key itself is never shown)."""
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InputError(
            f"{name} holds a line break or another control character",
            hint=f"Set {name} again to the {_LABELS[name]} alone, on one line, as LeadSquared shows it.",
        )


def _answer(ask: Ask, prompt: str) -> str:
    try:
        return ask(prompt).strip()
    except EOFError:  # Ctrl-D at the prompt: the key stays missing
        return ""


def key_forms(key: str) -> set[str]:
    """`key` as written, and as a server might echo it: in JSON (ASCII or not), HTML, a URL
    (quote and quote_plus, upper- and lower-case hex), base64 and base64url at each of the
    three offsets a key can start at inside a longer encoded text, and hex."""
    forms = {key, json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1], html.escape(key), html.escape(key, quote=False)}
    for url_form in (quote(key, safe=""), quote(key), quote_plus(key, safe=""), quote_plus(key)):
        forms |= {url_form, _PERCENT_HEX.sub(lambda m: m[0].lower(), url_form)}
    data = key.encode("utf-8")
    forms |= {data.hex(), data.hex().upper()}
    for offset in range(3):
        forms |= _base64_forms(data, offset)
    return forms


_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def _base64_forms(data: bytes, offset: int) -> set[str]:
    """The base64 characters that `data` alone decides when it starts `offset` bytes into a
    3-byte group: the edge characters it shares with its unknown neighbours are trimmed."""
    encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
    first = -(-8 * offset // 6)  # the first character with no bit of the bytes before
    last = 8 * (offset + len(data)) // 6  # past the last character with no bit of the bytes after
    standard = encoded[first:last]
    return {standard, standard.translate(_URLSAFE)}


_URLSAFE = str.maketrans("+/", "-_")


class _Mask:
    """Finds every form of some keys in a text, longest first, so no key is half-masked."""

    def __init__(self, keys) -> None:
        forms = {form for key in keys if len(key) >= MIN_SECRET_LENGTH for form in key_forms(key)}
        self.forms = sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self.forms))) if self.forms else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def held_back(self, text: str) -> int:
        """The length of the longest end of `text` that a form of a key starts with."""
        return max((size for form in self.forms for size in range(min(len(form) - 1, len(text)), 0, -1) if text.endswith(form[:size])), default=0)

    def redact_tail(self, text: str) -> str:
        """The last text a stream will see: an end that could only be part of a key is masked too."""
        text = self.redact(text)
        keep = self.held_back(text)
        return text[: len(text) - keep] + MASK if keep >= PARTIAL_KEY_CHARS else text


class Redactor:
    """Every key this process has loaded; `redact` replaces them in any text."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._mask = _Mask(())

    def protect(self, credentials: Credentials) -> None:
        self._keys |= {credentials.access_key, credentials.secret_key}
        self._mask = _Mask(self._keys)

    def redact(self, text: str) -> str:
        return self._mask.redact(text)

    def held_back(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a key's form."""
        return self._mask.held_back(text)

    def redact_tail(self, text: str) -> str:
        return self._mask.redact_tail(text)


# The process's own: the CLI's output streams redact with it.
REDACTOR = Redactor()


class RedactingStream:
    """A text stream that masks the keys in whatever is written to it, and strips control characters.

    A key may reach it in pieces (two `write()` calls, or a traceback printed a line at a time),
    so text is held back up to the line end (a key holds no line break) and masked whole.
    `flush()` passes on all but a tail that could still be the start of a key; `close()` the rest.
    """

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream, self._redactor = stream, redactor
        self._held = ""
        self._closed = False

    def write(self, text: str) -> int:
        if self._closed:  # a late writer (a library's handler kept a reference): mask it, hold nothing
            self._pass_on(self._redactor.redact(text))
            return len(text)
        self._held = self._redactor.redact(self._held + text)
        line_end = max(self._held.rfind("\n"), self._held.rfind("\r")) + 1
        if line_end:
            self._pass_on(self._held[:line_end])
            self._held = self._held[line_end:]
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # A prompt or the progress bar must show now; only what may still become a key waits.
        keep = self._redactor.held_back(self._held)
        self._pass_on(self._held[: len(self._held) - keep])
        self._held = self._held[len(self._held) - keep :]
        self._stream.flush()

    def close(self) -> None:
        """Pass on what is held (the stream underneath stays open: it is not ours)."""
        held, self._held, self._closed = self._held, "", True
        # A reader that has gone (`| head`) wants no more: nothing is lost by not writing it.
        with contextlib.suppress(BrokenPipeError):
            self._pass_on(self._redactor.redact_tail(held))
            self._stream.flush()

    def _pass_on(self, text: str) -> None:
        if text:
            self._stream.write(without_controls(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacting_output(redactor: Redactor = REDACTOR) -> Iterator[None]:
    """Route sys.stdout and sys.stderr through `redactor` while the block runs.

    It catches what no single call site can: tracebacks, warnings, a library's log line.
    """
    saved = sys.stdout, sys.stderr
    streams = RedactingStream(sys.stdout, redactor), RedactingStream(sys.stderr, redactor)
    sys.stdout, sys.stderr = streams
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        for stream in streams:
            stream.close()
