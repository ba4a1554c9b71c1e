"""Every module of `make bench` runs to its verdict at a size CI can afford.

The figures mean nothing at these sizes; what is checked is that each bench still starts
the processes it measures, drives them and checks what they stored. Two benches had
failed at start-up for a whole issue (a session check and a signed caller they did not
know of) before anyone ran `make bench` again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_POSTGRES_URL

REPO_ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--duration", "0.5", "--warmup", "0.2", "--rounds", "1"]

BENCHES = {
    "gateway_reads": ["--alumni", "200", *SHORT],
    "signups": [*SHORT, "--capacity", "5"],
    "registrations": [*SHORT, "--postgres", TEST_POSTGRES_URL],
    "gifts": SHORT,
    "newsletter": ["--recipients", "100", "--bare", "100", "--timeout", "120"],
    "import_full": ["--rows", "400", "--bad", "4", "--duplicates", "4"],
    "relay_publish": ["--events", "400", "--rounds", "1"],
    "search_p95": ["--alumni", "200", "--calls", "3", "--backends", "sqlite"],
}

# Each starts and stops its own processes (the import bench writes a file first).
pytestmark = pytest.mark.timeout(600)


@pytest.mark.parametrize("module", sorted(BENCHES))
def test_each_bench_runs_to_its_verdict(module, tmp_path):
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *BENCHES[module], "--json", str(figures)],
        cwd=REPO_ROOT,
        env={**os.environ, "TEST_POSTGRES_URL": TEST_POSTGRES_URL},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = json.loads(figures.read_text(encoding="utf-8"))
    assert written, done.stdout[-2000:]
    if module == "gateway_reads":
        # The reads' ceilings: their bodies moved through the echo with no work behind.
        assert sorted(written["results"]) == ["a", "b", "c", "d", "e", "f"]
        assert all(r["errors"] == 0 for r in written["results"].values()), written
        # (g): SQLite's own CPU for a search's statements, and the ceiling it leaves (its
        # size means nothing here: the machine is shared with the rest of the suite).
        floor = written["search_with_its_statements"]
        assert floor["statements_cpu_ms"] > 0 and floor["ceiling"] > 0, floor
