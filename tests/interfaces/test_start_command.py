"""`start`: the threaded paper kernel on the synthetic market, in a subprocess (bounded in time)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PROJECT_ROOT

TIMEOUT_S = 60


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "start", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(summary: str, pattern: str) -> int:
    match = re.search(pattern, summary)
    assert match is not None, summary
    return int(match.group(1))


def test_start_for_three_seconds_trades_and_exits_0(tmp_path: Path) -> None:
    process = _start("--duration", "3", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert _count(stdout, r"orders\s+(\d+) submitted") > 0
    assert _count(stdout, r"fills\s+(\d+) fills") > 0
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0
    assert "state     ACTIVE" in stdout


def test_sigterm_stops_cleanly_with_a_summary_and_no_open_order(tmp_path: Path) -> None:
    process = _start("--duration", "60", cwd=tmp_path)
    time.sleep(2.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert "SIGTERM: stopping" in stderr
    assert _count(stdout, r"orders\s+(\d+) submitted") > 0
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0
    assert "journal" in stdout


def test_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[kernel]\nspeed = 3\n")
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "speed" in lines[0]


def test_impossible_risk_limits_refuse_to_start(tmp_path: Path) -> None:
    config = tmp_path / "risk.toml"
    config.write_text('[risk]\nmax_order_notional = "-1"\n')
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")


def test_an_unknown_start_key_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "start.toml"
    config.write_text("[start]\nfoo = 1\n")
    process = _start("--config", str(config), "--duration", "1", cwd=tmp_path)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 2
    assert "unknown key in [start]: foo" in stderr


def test_a_second_signal_exits_at_once_and_the_journal_stays_whole(tmp_path: Path) -> None:
    process = _start("--duration", "60", cwd=tmp_path)
    time.sleep(3.0)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    # At once (128 + SIGTERM), unless the clean stop had already finished (0): never killed mid-write.
    assert process.returncode in (128 + signal.SIGTERM, 0), stderr
    assert "SIGTERM: stopping" in stderr
    verify = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "journal", "verify"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    restarted = _start("--duration", "1", cwd=tmp_path)
    stdout, stderr = restarted.communicate(timeout=TIMEOUT_S)
    assert restarted.returncode == 0, stderr
    assert "recovered: journal at sequence" in stderr
    assert _count(stdout, r"open\s+(\d+) open orders left") == 0
