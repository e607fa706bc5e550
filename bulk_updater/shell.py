"""Words of the commands the tool suggests, quoted as the admin's shell reads them.

On Linux and macOS, a POSIX shell: `shlex.quote` ('my runs/out'). On Windows, cmd.exe and
PowerShell both read a path as it is when it holds only letters, digits and `\\ / : . _ -`,
and in double quotes otherwise ("C:\\Users\\Ana Maria\\out"); neither reads POSIX single quotes
the same way (cmd.exe keeps them as part of the name).
"""

from __future__ import annotations

import re
import shlex
import sys

WINDOWS = sys.platform == "win32"
_PLAIN_ON_WINDOWS = re.compile(r"[\w\\/:.-]+")


def quote(word: str) -> str:
    """`word` as one argument of a command the admin can paste into their shell."""
    if not WINDOWS:
        return shlex.quote(word)
    if _PLAIN_ON_WINDOWS.fullmatch(word):
        return word
    return f'"{word}"'  # a Windows file name holds no double quote
