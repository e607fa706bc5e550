"""One window per account, shared by every process of the tool on this computer: the ledger of starts.

A run that starts while an earlier one's calls are still in the server's window (a resume right
after Ctrl-C or kill -9, a retry right after its run, two terminals, two jobs of the page) must
count those calls too, or its opening burst meets a full window, and the 429s teach it a room of
one or two calls that the account does not lack. So every start is recorded here, under the
ledger's lock, before its call is sent: a process that dies leaves its starts behind, and they
count until they leave the window, like the calls they may have sent.

The ledger is a SQLite file per account in the user's state folder (platformdirs; the
BULK_UPDATER_STATE_DIR variable moves it). Its name is a one-way hash of the API host and the
access key: the file never holds the key, nor anything it could be read back from. Each row is
one start: when it started, until when it counts (its writer's window), and which limiter wrote
it (a random token). Rows that no longer count are deleted at each start, so the file holds one
window of starts, whatever the rows of the run.

The check and the record are one transaction (BEGIN IMMEDIATE takes SQLite's write lock, a file
lock on Linux, macOS and Windows alike), so two processes never both take the last free place.
The lock is held for tens of microseconds; one not given within LOCK_TIMEOUT, a file that can't
be read or written, a folder that can't be made: each raises `LedgerUnavailable`, and the limiter
goes on alone (today's behaviour) after one warning. The ledger never blocks or fails a run.

Times are the wall clock's (`time.time()`), the one clock every process shares. A start more than
FUTURE_TOLERANCE seconds ahead of now (the clock was set back) no longer counts.

Why not PyrateLimiter 4's SQLiteBucket: it decides admission itself,
against rates fixed when the bucket is built, and its rows are (name, millisecond) pairs counted
over the rate's interval. Here the budget moves with every 429 and probe, and each row needs its
own end (a lease counts until its last possible start's window ends) and its writer (to tell the
calls of another run from our own). What would be left of it is an INSERT and a COUNT, behind a
file lock that waits forever by default and a background leaker thread; a ledger must never block.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..hosts import netloc

STATE_DIR_ENV = "BULK_UPDATER_STATE_DIR"
APP_NAME = "bulk-updater"
FOLDER = "ledger"
# A start is recorded in tens of microseconds: a lock not given in this time is held by something stuck.
LOCK_TIMEOUT = 0.5
# A start recorded this far ahead of the clock was recorded before the clock was set back.
FUTURE_TOLERANCE = 1.0
_DOMAIN = b"bulk-updater ledger v1\0"  # so the hash is of nothing but this use


class LedgerUnavailable(Exception):
    """The ledger could not be read, locked in time or written; the message says which, and why."""


@dataclass(frozen=True)
class Taken:
    """What `Ledger.take` did: started (at `now`), or not, and then the earliest moment a place frees."""

    started: bool
    at: float
    in_window: int  # the starts that count now (those recorded included)
    # When not started: the start whose leaving frees the place, and who wrote it.
    blocker_start: float = 0.0
    blocker_owner: str = ""
    granted: int = 0  # when started: the starts recorded (a lease may ask for more than one)


def state_folder() -> Path:
    """The user's state folder for bulk-updater (BULK_UPDATER_STATE_DIR when set)."""
    given = os.environ.get(STATE_DIR_ENV)
    if given:
        return Path(given)
    import platformdirs

    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def ledger_folder() -> Path:
    """Where the ledgers live: delete it to clear them (no run of the tool must be running)."""
    return state_folder() / FOLDER


def account_digest(host: str, access_key: str) -> str:
    """A one-way hash of the API host (host[:port]) and the access key: the ledger's name."""
    digest = hashlib.sha256(_DOMAIN + netloc(host).encode() + b"\0" + access_key.encode())
    return digest.hexdigest()[:40]


def ledger_path(host: str, access_key: str, folder: Path | None = None) -> Path:
    return (folder if folder is not None else ledger_folder()) / f"{account_digest(host, access_key)}.sqlite"


class Ledger:
    """The starts of one account's window, in a SQLite file that several processes open at once.

    Safe to share between threads (the page's jobs run each in its own): one connection, one lock.
    """

    def __init__(self, path: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    # -- what the limiter asks, each in one transaction --

    def take(self, now: float, budget: int, hold: float, owner: str, lease: tuple[int, float] = (1, 0.0)) -> Taken:
        """Record a start at `now` if fewer than `budget` starts count at `now`; else say when a place frees.

        `lease` (n, seconds): record up to n starts at once, for calls that start within `seconds` of
        `now` (each counts until `seconds` + `hold` after now, used or not): far below a lifted limit,
        one transaction for many calls."""
        calls, seconds = lease
        with self._transaction("recorded") as conn:
            count = self._forget_ended(conn, now)
            if count < budget:
                granted = min(calls, budget - count)
                self._insert(conn, now, seconds + hold, owner, count, granted)
                return Taken(True, now, count + granted, granted=granted)
            # The place frees when the budget-th latest of the starts that count leaves.
            start, until, who = conn.execute(
                "SELECT start, until, owner FROM starts ORDER BY until DESC LIMIT 1 OFFSET ?", (budget - 1,)
            ).fetchone()
            return Taken(False, until, count, start, who)

    def record(self, now: float, hold: float, owner: str) -> int:
        """Record a start at `now`, whatever the count (the caller checked it); the starts that count now."""
        with self._transaction("recorded") as conn:
            count = self._forget_ended(conn, now)
            self._insert(conn, now, hold, owner, count, 1)
            return count + 1

    def in_window(self, now: float) -> int:
        """The starts that count at `now`, every process's."""
        with self._transaction("read") as conn:
            return self._forget_ended(conn, now)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- the file --

    def _forget_ended(self, conn: sqlite3.Connection, now: float) -> int:
        """Delete the starts that no longer count; the number that do. (Each query uses an index, and the
        count is kept beside the rows: at a lifted limit a window holds thousands of starts.)"""
        gone = conn.execute("DELETE FROM starts WHERE until <= ?", (now,)).rowcount
        gone += conn.execute("DELETE FROM starts WHERE start > ?", (now + FUTURE_TOLERANCE,)).rowcount
        count = conn.execute("SELECT n FROM counted").fetchone()[0] - gone
        if gone:
            conn.execute("UPDATE counted SET n = ?", (count,))
        return count

    def _insert(self, conn: sqlite3.Connection, now: float, hold: float, owner: str, count: int, calls: int) -> None:
        conn.executemany("INSERT INTO starts (start, until, owner) VALUES (?, ?, ?)", [(now, now + hold, owner)] * calls)
        conn.execute("UPDATE counted SET n = ?", (count + calls,))

    def _transaction(self, doing: str) -> _Transaction:
        return _Transaction(self, doing)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            try:
                # WAL: a writer never waits for a reader. No fsync, even at checkpoints: a process that is
                # killed loses nothing (the system has the writes), and what a power cut may cost is a
                # window of starts, or a file that can't be read any more (a warning says to delete it).
                _switch_to_wal(conn, self._timeout)
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute("BEGIN IMMEDIATE")  # (two processes may create it at once)
                conn.execute("CREATE TABLE IF NOT EXISTS starts (start REAL NOT NULL, until REAL NOT NULL, owner TEXT NOT NULL)")
                conn.execute("CREATE INDEX IF NOT EXISTS starts_until ON starts (until)")
                conn.execute("CREATE INDEX IF NOT EXISTS starts_start ON starts (start)")
                conn.execute("CREATE TABLE IF NOT EXISTS counted (n INTEGER NOT NULL)")  # the rows of `starts`
                if conn.execute("SELECT count(*) FROM counted").fetchone()[0] != 1:
                    conn.execute("DELETE FROM counted")
                    conn.execute("INSERT INTO counted (n) SELECT count(*) FROM starts")
                conn.execute("COMMIT")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """PRAGMA journal_mode=WAL, waiting up to `timeout` for the lock it needs.

    SQLite answers "database is locked" at once, without its busy handler, when another connection
    holds the file while the mode changes: two processes opening a new ledger together (two runs
    started at once) would each give up on it, and both pace alone into a window they share."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            # The busy handler may wait too (a reader of a file still in rollback mode): never past the deadline.
            conn.execute(f"PRAGMA busy_timeout={max(0, int((deadline - time.monotonic()) * 1000))}")
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the ledger's thread lock; any failure becomes LedgerUnavailable."""

    def __init__(self, ledger: Ledger, doing: str) -> None:
        self._ledger, self._doing = ledger, doing

    def __enter__(self) -> sqlite3.Connection:
        self._ledger._lock.acquire()
        try:
            conn = self._ledger._connection()
            conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as exc:
            self._ledger._lock.release()
            raise _unavailable(exc, self._ledger, "opened") from None
        self._conn = conn
        return conn

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error as problem:
            if kind is None:
                raise _unavailable(problem, self._ledger, self._doing) from None
        finally:
            self._ledger._lock.release()
        if isinstance(exc, (sqlite3.Error, OSError)):
            raise _unavailable(exc, self._ledger, self._doing) from None


def _unavailable(exc: BaseException, ledger: Ledger, doing: str) -> LedgerUnavailable:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LedgerUnavailable(f"its lock was not given within {ledger._timeout:g} s")
    return LedgerUnavailable(f"it could not be {doing} ({type(exc).__name__}: {text})")
