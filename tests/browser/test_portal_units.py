"""The front end's unit tests (Vitest, `npm test` in web/: web/src/**/*.test.js), run with
the browser tests so that `make test` runs them too; they need web/node_modules, which the
portal's build installs."""

from __future__ import annotations

import subprocess

from tests.browser.conftest import ROOT


def test_the_front_ends_unit_tests_pass(portal_built):
    result = subprocess.run(
        ["npx", "vitest", "run", "--reporter=verbose"],
        cwd=ROOT / "web",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
