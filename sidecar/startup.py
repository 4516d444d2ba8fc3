"""What start-up shares before anything heavy is imported: its errors and its stop signals.

Exit codes: 2 when the configuration can never work as given (a flag, a variable, their
combination), 1 when something it needs is not there now (a database, a port, a writable
directory). Either way one line says which option and what to do; no traceback.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StartupError(Exception):
    """Start-up cannot go on; `message` is the one line the operator reads."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadConfiguration(StartupError):
    """What was configured cannot work: exit 2."""

    exit_code = 2


class Unavailable(StartupError):
    """Something the process needs is not available now (database, port, file): exit 1."""


class Stopping:
    """SIGINT and SIGTERM from the first line of `main`: remembered while imports and set-up
    run, then handed to the event loop, so that no moment of start-up loses a stop or
    turns it into a traceback."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self.event: asyncio.Event | None = None

    def install(self) -> None:
        """Catch the signals in Python from now on (also replaces KeyboardInterrupt)."""
        for signum in SIGNALS:
            signal.signal(signum, self._caught)

    def _caught(self, signum: int, _frame: FrameType | None) -> None:
        self.requested = signum

    def in_loop(self) -> asyncio.Event:
        """An event set on a stop, caught by the running loop from now on (including one
        that came before)."""
        import asyncio

        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            loop.add_signal_handler(signum, event.set)
        if self.requested is not None:
            event.set()
        self.event = event
        return event

    def after_loop(self) -> None:
        """The loop is gone (and restored the default handlers): catch in Python again."""
        self.install()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script: the signals first, then everything else."""
    stopping = Stopping()
    stopping.install()
    from sidecar import cli

    cli.main(argv, stopping)
