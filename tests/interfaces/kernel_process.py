"""`python -m interfaces.cli start ...` in a subprocess whose stderr is read line by line as it comes.

Tests wait for a line (`recovering:` while start-up runs, `trading:` once trading began) before
they signal or kill the kernel, instead of guessing how long start-up takes on a busy machine.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from tests.conftest import PROJECT_ROOT


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI subprocess: the source tree importable, no database from the caller."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("TK_DATABASE_URL", None)
    env.update(extra or {})
    return env


def popen_start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`start ARGS` in a subprocess in `cwd`, its stdout and stderr piped (read with `communicate`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "start", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_start(
    cwd: Path, *args: str, timeout_s: float, program: Sequence[str] = ("-m", "interfaces.cli")
) -> subprocess.CompletedProcess[str]:
    """`start ARGS` run to its end in `cwd` (`program`: how Python runs the CLI)."""
    return subprocess.run(
        [sys.executable, *program, "start", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _ignore_sigint() -> None:  # what a shell does to a background job (`start &`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class KernelProcess:
    """One `start` subprocess (see the module doc); always `finish()` or `kill()` it."""

    def __init__(self, cwd: Path, *args: str, ignore_sigint: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "start", *args],
            cwd=cwd,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ignore_sigint if ignore_sigint else None,  # noqa: PLW1509 - no threads yet
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        assert self.process.stderr is not None
        assert self.process.stdout is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stderr, self._stderr, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stdout, self._stdout, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], into: list[str], announce: bool) -> None:
        for line in stream:
            into.append(line)
            if announce:
                self._lines.put(line)
        if announce:
            self._lines.put(None)

    @property
    def stderr(self) -> str:
        """What the kernel wrote to stderr so far."""
        return "".join(self._stderr)

    def wait_for(self, prefix: str, timeout_s: float = 60.0) -> str:
        """The first stderr line (not read by an earlier wait) that starts with `prefix`."""
        while True:
            try:
                line = self._lines.get(timeout=timeout_s)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout_s} s:\n{self.stderr}") from None
            if line is None:
                raise AssertionError(f"the kernel ended before a {prefix!r} line:\n{self.stderr}")
            if line.startswith(prefix):
                return line

    def send_signal(self, signum: int) -> None:
        """Send `signum` to the kernel."""
        self.process.send_signal(signum)

    def finish(self, timeout_s: float = 60.0) -> tuple[int, str, str]:
        """Wait for the exit (killing it after `timeout_s`); returns (exit status, stdout, stderr)."""
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self._readers:
            reader.join(timeout_s)
        self._close()
        return code, "".join(self._stdout), self.stderr

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        self.process.kill()
        self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(30)
        self._close()

    def _close(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
