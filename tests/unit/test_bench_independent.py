"""The benchmarks stand on the product's own code, not on the test suite's support code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_benchmark_loads_no_test_module():
    modules = [f"bench.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "bench")])]
    assert "bench.signups" in modules
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'tests' or m.startswith('tests.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
