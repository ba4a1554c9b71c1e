"""bench/common.py's BenchRun: what every benchmark run sets up, and takes down again in
order whatever happens in it (the broker's management API replaced by a stand-in)."""

from __future__ import annotations

import shutil

import pytest

from bench import common


class StandInVhost:
    """BenchVhost without the broker: records when it is made and deleted."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.name: str | None = None

    def create(self) -> str:
        self.name = "alumni_bench_unit"
        self.steps.append("vhost made")
        return "amqp://guest:guest@127.0.0.1:5672/alumni_bench_unit"

    def delete(self) -> None:
        self.steps.append("vhost deleted")


@pytest.fixture
def steps(monkeypatch) -> list[str]:
    made: list[str] = []
    monkeypatch.setattr(common, "BenchVhost", lambda _base_uri: StandInVhost(made))
    monkeypatch.setattr(common, "machine_info", lambda _uri, **versions: {"nproc": "2"})
    return made


def test_a_run_stops_what_it_started_latest_first_then_removes_its_var_dir(steps, capsys):
    with common.BenchRun("unit", "registry") as run:
        assert run.vhost == "alumni_bench_unit"
        assert run.amqp_uri.endswith("/alumni_bench_unit")
        assert run.database.backend == "sqlite"
        assert run.database.path == run.var_dir / "registry.db"
        run.on_exit(lambda: steps.append("processes stopped"))
        run.on_exit(lambda: steps.append("proxy stopped"))

    assert steps == ["vhost made", "proxy stopped", "processes stopped", "vhost deleted"]
    assert not run.var_dir.exists()
    printed = capsys.readouterr().out
    assert "at start: load average" in printed and "at end: load average" in printed
    assert f"var dir: {run.var_dir}" in printed


def test_a_failed_run_keeps_its_var_dir_and_prints_its_logs(steps, capsys):
    def failing() -> None:
        raise OSError("already gone")

    with pytest.raises(RuntimeError, match="not ready"), common.BenchRun("unit", "events") as run:
        (run.var_dir / "events-1").mkdir()
        (run.var_dir / "events-1" / "events.log").write_text("Traceback: the cause")
        run.on_exit(lambda: steps.append("processes stopped"))
        run.on_exit(failing)
        raise RuntimeError("not ready within 60 s")

    try:
        # The clean-up step that failed was said, and those after it still ran.
        assert steps == ["vhost made", "processes stopped", "vhost deleted"]
        errors = capsys.readouterr().err
        assert "clean-up failed: OSError: already gone" in errors
        assert "--- events-1/events.log ---\nTraceback: the cause" in errors
        assert f"logs kept in {run.var_dir}" in errors
        assert run.var_dir.exists()
    finally:
        shutil.rmtree(run.var_dir, ignore_errors=True)
