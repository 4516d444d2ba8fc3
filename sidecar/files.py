"""Files and directories we create hold secrets (database, admin key): owner only.

Modes are given at creation, never left to the umask (0022 would leave the database
readable by every local user, 0000 writable too). What already exists is left as it is:
the operator may have chosen its mode.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> None:
    """Make `path` and any missing parents, each one created 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(DIRECTORY_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else; theirs
        # mkdir's mode is narrowed by the umask, never widened: set exactly what we mean.
        os.chmod(directory, DIRECTORY_MODE)


def private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 (its directory 0700) unless it exists.

    True when it was created here.
    """
    private_directory(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
    return True
