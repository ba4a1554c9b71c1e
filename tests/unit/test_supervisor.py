"""The supervisor behind `make run` (services/run.py), with real child processes: it restarts
what exits, with a growing delay, says so, and stops everything with one TERM each."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from services import run
from services.common import catalogue
from services.common.catalogue import StandIn

# Tiny delays: the behaviour is the same as with make run's seconds.
FIRST_DELAY = 0.1
MAX_DELAY = 0.4
GRACE = 1.0


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def counts_terms_then(exits: bool, marker: Path) -> list[str]:
    """A child that writes a line to `marker` for each TERM; exits on the first one or not."""
    return python(
        "import signal, sys, time\n"
        f"marker = open({str(marker)!r}, 'a')\n"
        "def on_term(*_):\n"
        "    marker.write('TERM\\n'); marker.flush()\n"
        f"    {'sys.exit(0)' if exits else 'pass'}\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "marker.write('up\\n'); marker.flush()\n"
        "while True: time.sleep(0.05)\n"
    )


class Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def containing(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


def supervisor(tmp_path: Path, *children: run.Child, stable_after: float = 60) -> run.Supervisor:
    return run.Supervisor(
        list(children),
        env={},
        log_dir=tmp_path / "log",
        say=Recorder(),
        first_delay=FIRST_DELAY,
        max_delay=MAX_DELAY,
        stable_after=stable_after,
        grace=GRACE,
    )


def watch_until(sup: run.Supervisor, condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, sup.say.lines
        sup.watch_once()
        time.sleep(0.02)


def wait_for_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.02)
    raise AssertionError(f"{path} has fewer than {count} lines")


def test_a_child_that_exits_is_restarted_with_a_doubling_delay_and_it_is_said(tmp_path):
    failing = run.Child("registry", python("print('启动失败 / boom'); raise SystemExit(3)"))
    sup = supervisor(tmp_path, failing)
    sup.start_all()
    watch_until(sup, lambda: len(sup.say.containing("registry exited")) >= 4)
    sup.stop_all()

    exits = sup.say.containing("registry exited (exit code 3)")
    assert len(exits) >= 4
    delays = [line.split("restarting in ")[1].split(" s")[0] for line in exits[:4]]
    assert delays == ["0.1", "0.2", "0.4", "0.4"]  # doubling, up to the cap
    assert "意外退出（退出码 3）" in exits[0]
    assert "启动失败 / boom" in exits[0], "the end of its log is shown"
    assert len(sup.say.containing("registry 已重启 / restarted")) == failing.restarts >= 3


def test_a_child_that_ran_long_enough_is_restarted_after_the_first_delay_again(tmp_path):
    brief = run.Child("events", python("import time; time.sleep(0.3)"))
    sup = supervisor(tmp_path, brief, stable_after=0.2)
    sup.start_all()
    watch_until(sup, lambda: len(sup.say.containing("events exited")) >= 2)
    sup.stop_all()

    exits = sup.say.containing("events exited")
    assert len(exits) >= 2
    assert all("restarting in 0.1 s" in line for line in exits)


def test_stop_sends_one_term_to_each_and_kills_what_outlives_the_grace(tmp_path):
    polite_marker, stubborn_marker = tmp_path / "polite", tmp_path / "stubborn"
    polite = run.Child("polite", counts_terms_then(exits=True, marker=polite_marker))
    stubborn = run.Child("stubborn", counts_terms_then(exits=False, marker=stubborn_marker))
    sup = supervisor(tmp_path, polite, stubborn)
    sup.start_all()
    wait_for_lines(polite_marker, 1)
    wait_for_lines(stubborn_marker, 1)
    processes = [polite.process, stubborn.process]

    began = time.monotonic()
    sup.stop_all()
    took = time.monotonic() - began

    assert polite_marker.read_text().splitlines() == ["up", "TERM"]
    assert stubborn_marker.read_text().splitlines() == ["up", "TERM"]
    assert processes[0].returncode == 0
    assert processes[1].returncode == -signal.SIGKILL
    assert GRACE <= took < GRACE + 2
    assert sup.say.containing("stubborn 未在时限内停止")
    assert not sup.running()


def test_a_second_request_to_stop_kills_at_once(tmp_path):
    marker = tmp_path / "stubborn"
    stubborn = run.Child("stubborn", counts_terms_then(exits=False, marker=marker))
    sup = supervisor(tmp_path, stubborn)
    sup.grace = 30
    sup.start_all()
    wait_for_lines(marker, 1)

    sup.request_stop()
    stopper = threading.Thread(target=sup.stop_all)
    began = time.monotonic()
    stopper.start()
    wait_for_lines(marker, 2)
    sup.request_stop()  # Ctrl-C again
    stopper.join(timeout=10)

    assert not stopper.is_alive()
    assert time.monotonic() - began < 5
    assert marker.read_text().splitlines() == ["up", "TERM"]


def test_run_announces_readiness_once_and_then_each_change(tmp_path):
    sup = supervisor(tmp_path, run.Child("gateway", python("import time; time.sleep(30)")))
    answers = iter([(False, "starting")] + [(True, "")] * 2 + [(False, "broker: 不可达")] * 2)
    banners: list[str] = []

    def is_ready() -> tuple[bool, str]:
        try:
            return next(answers)
        except StopIteration:
            sup.request_stop()
            return True, ""

    watch = run.ReadinessWatch(is_ready, lambda: banners.append("up"), sup.say, sup.stopping)
    watch.poll_seconds = 0.01
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    watcher.join(timeout=10)

    assert banners == ["up"]
    assert sup.say.lines == [
        "平台未就绪 / the platform is not ready: broker: 不可达",
        "平台已恢复就绪 / the platform is ready again",
    ]


def test_failing_checks_names_only_those_not_ok():
    body = b'{"status": "not_ready", "checks": {"broker": "ok", "registry": "\xe4\xb8\x8d"}}'
    assert run.failing_checks(body) == "registry: 不"


def test_the_children_are_the_stand_ins_then_every_service_of_the_catalogue(monkeypatch):
    monkeypatch.setattr(
        catalogue, "STAND_INS", (StandIn("sms", "services.notify.sms_stand_in", "SMS_ADDRESS"),)
    )
    children = run.catalogue_children()

    assert [child.name for child in children] == ["sms", *catalogue.names()]
    assert children[0].argv[1:] == ["-m", "services.notify.sms_stand_in"]
    for child, name in zip(children[1:], catalogue.names(), strict=True):
        assert child.argv[1:] == ["-m", "services.launch", name]
    assert children[-1].name == "gateway"


@pytest.mark.parametrize(
    ("code", "chinese", "english"),
    [(1, "退出码 1", "exit code 1"), (-signal.SIGKILL, "被信号 SIGKILL 结束", "killed by SIGKILL")],
)
def test_exits_are_described_in_both_languages(code, chinese, english):
    assert run.describe_exit(code) == chinese
    assert run.describe_exit(code, chinese=False) == english


def test_the_banner_gives_the_portals_addresses():
    text = run.banner("http://127.0.0.1:8000", "admin", "pw", "(set)", Path("var/log"), "amqp://x")
    assert "http://127.0.0.1:8000/ " in text
    assert "http://127.0.0.1:8000/console/" in text
