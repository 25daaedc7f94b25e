"""The embedded store's data directory, checked before chDB opens it.

chDB reports every failure to open a directory as one generic ``Error initializing EmbeddedServer`` (its
real reason goes to stderr), so the usual causes are checked here first, each becoming a
:class:`~smarter_obs.errors.ConfigError` that names the directory and the fix: the directory cannot be
created, cannot be written or read, or is held by another process (ClickHouse locks its ``status`` file,
which also records the holder's pid).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from smarter_obs import settings
from smarter_obs.errors import ConfigError
from smarter_obs.redact import redact_text

__all__ = ["check_directory", "holder"]

_FIX = (
    "pass --clickhouse chdb:///a/directory/you/can/write (or set "
    f"{settings.CLICKHOUSE_URL.env}, or {settings.HOME.env} for the default store)"
)


def _error(message: str) -> ConfigError:
    return ConfigError(message, setting=settings.CLICKHOUSE_URL.env)


def check_directory(path: str) -> None:
    """Create ``path`` if needed and check that this process can open it as a chDB store."""
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(
            f"cannot create the embedded ClickHouse directory {path}: {exc.strerror}; {_FIX}"
        ) from None
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise _error(
            f"cannot write in the embedded ClickHouse directory {path}: {exc.strerror}; {_FIX}"
        ) from None
    held_by = holder(directory)
    if held_by is not None:
        pid, command = held_by
        raise _error(
            f"{path} is in use by another process (pid {pid}: {command}): chDB lets one process at a time "
            f"open a data directory; stop that process (kill {pid}), or send it the work (e.g. spans over "
            "OTLP to its `smarter-obs collect spans`), or use another directory with --clickhouse chdb:///dir"
        )


def holder(directory: Path) -> tuple[int | str, str] | None:
    """``(pid, command line)`` of another process holding the store's lock, or None when it is free.

    Raises ConfigError when the lock file cannot be opened (permission denied).
    """
    status = directory / "status"
    try:
        fd = os.open(status, os.O_RDWR)
    except FileNotFoundError:
        return None  # a new store
    except OSError as exc:
        raise _error(
            f"cannot open the embedded ClickHouse store {directory}: {status}: {exc.strerror}; {_FIX}"
        ) from None
    try:
        recorded = _recorded_pid(fd)
        if recorded == os.getpid():
            return None  # this process holds it: chDB reuses its open store
        try:  # ClickHouse holds an exclusive flock on the file while it runs; probe and let go at once
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return (recorded or "unknown", _command_line(recorded))
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _recorded_pid(fd: int) -> int | None:
    """The pid ClickHouse wrote in its status file (``PID: 1234`` on the first line)."""
    text = os.pread(fd, 256, 0).decode("utf-8", "replace")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "PID" and value.strip().isdigit():
            return int(value.strip())
    return None


def _command_line(pid: int | None) -> str:
    """What ``pid`` runs (credentials masked), or a placeholder where /proc does not tell."""
    if pid is None:
        return "unknown command"
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "command not readable"
    words = [word.decode("utf-8", "replace") for word in raw.split(b"\0") if word]
    command = redact_text(" ".join(os.path.basename(w) if i == 0 else w for i, w in enumerate(words)))
    return command if len(command) <= 200 else command[:197] + "..."
