"""Run ``smarter-obs`` as a user does (its own process) and check the error contract.

The contract of a failed command: exit code 1 (2 for a usage error), one line on stderr saying what is wrong
and what to fix, no traceback, no secret.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_permission_override() -> None:
    """In the child before exec: give up root's power to ignore file permissions (as a normal user has).

    The process stays uid 0, so it can still run the interpreter under /root; but a directory it may not
    write or read now answers EACCES exactly as it would for an unprivileged user.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def smarter_obs(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    unprivileged: bool = False,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m smarter_obs ARGS`` with the given extra environment; ``unprivileged`` drops root's
    file-permission override (a no-op for a non-root user, who has none)."""
    return subprocess.run(
        [sys.executable, "-m", "smarter_obs", *args],
        cwd=cwd or REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_drop_file_permission_override if unprivileged and os.geteuid() == 0 else None,
    )


def error_line(result: subprocess.CompletedProcess[str], *, code: int = 1) -> str:
    """The one ``error:`` line of a failed run, after checking the rest of the contract."""
    stderr = result.stderr
    assert result.returncode == code, (result.returncode, stderr)
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    assert "DB::Exception" not in stderr, stderr  # chDB's own output, printed before the Python error
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr  # one line, and nothing after it
    return errors[0]
