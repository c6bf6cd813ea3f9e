"""bench/apiserver.py still runs end to end against a real `edgek8s server` (quick counts, embedded only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_apiserver_bench_quick_run_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "apiserver.py"), "--quick", "--only", "embedded"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
    assert "| metric | unit | embedded (SQLite) | target |" in result.stdout
    assert "pod creates/s, 16 clients" in result.stdout
