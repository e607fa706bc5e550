"""The account's keys: where they come from, and keeping them out of everything we print or store.

LeadSquared keys carry the full privileges of their user. They come from the environment,
a .env-style file (`--env-file`) or a hidden prompt, never from a command-line option (it
would land in shell history). They travel only in the x-LSQ-AccessKey / x-LSQ-SecretKey
headers. Every text we write passes through a redaction that replaces them with ***:
report lines, summary.json, and, in the CLI, everything written to stdout and stderr,
crash tracebacks included.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from dotenv import dotenv_values

from .errors import InputError

ACCESS_KEY, SECRET_KEY = "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"
_LABELS = {ACCESS_KEY: "access key", SECRET_KEY: "secret key"}
MASK = "***"
# Real LeadSquared keys are dozens of characters long. Masking a shorter "key" (a test's "a")
# would garble every message without protecting anything.
MIN_SECRET_LENGTH = 8

Ask = Callable[[str], str]


@dataclass(frozen=True)
class Credentials:
    """The account's keys. They carry a user's full privileges, so they never print."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"x-LSQ-AccessKey": self.access_key, "x-LSQ-SecretKey": self.secret_key}

    def redact(self, text: str) -> str:
        """Replace any occurrence of either key in `text`; used on everything we print or store."""
        return _replace(text, self._forms) if text else text

    @functools.cached_property
    def _forms(self) -> list[str]:
        # Worked out once: redact runs on every row's outcome.
        return _forms((self.access_key, self.secret_key))

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


def _answer(ask: Ask, prompt: str) -> str:
    try:
        return ask(prompt).strip()
    except EOFError:  # Ctrl-D at the prompt: the key stays missing
        return ""


class Redactor:
    """Every key this process has loaded; `redact` replaces them in any text."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._secrets: list[str] = []

    def protect(self, credentials: Credentials) -> None:
        self._keys |= {credentials.access_key, credentials.secret_key}
        self._secrets = _forms(self._keys)

    def redact(self, text: str) -> str:
        return _replace(text, self._secrets)


# The process's own: the CLI's output streams redact with it.
REDACTOR = Redactor()


class RedactingStream:
    """A text stream that redacts whatever is written to it, and passes everything else through."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self._stream, self._redact = stream, redact

    def write(self, text: str) -> int:
        return self._stream.write(self._redact(text))

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacting_output(redactor: Redactor = REDACTOR) -> Iterator[None]:
    """Route sys.stdout and sys.stderr through `redactor` while the block runs.

    It catches what no single call site can: tracebacks, warnings, a library's log line.
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(sys.stdout, redactor.redact), RedactingStream(sys.stderr, redactor.redact)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _forms(keys) -> list[str]:
    """Each key as written and as a URL would carry it; longest first, so no key is half-masked."""
    forms = {form for key in keys if len(key) >= MIN_SECRET_LENGTH for form in (key, quote(key, safe=""))}
    return sorted(forms, key=len, reverse=True)


def _replace(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
