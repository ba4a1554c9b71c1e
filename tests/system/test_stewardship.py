"""Registry stewardship over HTTP (docs/stewardship.md): student numbers, department lineage,
bulk import of registrar exports, duplicates and merges."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from typing import Any

import pytest

from services.registry import sample_import
from tests.conftest import BACKENDS, running_system
from tests.support.taps import pika_connection
from tests.system.helpers import (
    alumnus_body,
    assert_error,
    department_body,
    graduation,
    liaison_of,
    new_department,
    unique,
)

# An import's rows applied 100 at a time, so that a file of a few thousand rows spans many
# batches: a kill lands between two of them, and a liaison's or a rerun's file goes in
# several (the default, 1,000, would need a file eight times the size, and minutes).
SMALL_BATCHES = {"REGISTRY_IMPORT_APPLY_BATCH": "100"}


@pytest.fixture(scope="module", params=BACKENDS)
def system(request, module_amqp_uri, tmp_path_factory, migrated_templates):
    """A system of the module's own, its registry killed and restarted by a test, applying
    imports in small batches."""
    with running_system(
        request.param, module_amqp_uri, tmp_path_factory, migrated_templates, SMALL_BATCHES
    ) as sut:
        yield sut


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


# ---- student numbers and department lineage ---------------------------------------------


def test_a_student_number_is_unique_per_department_and_class_year(office):
    a, b = new_department(office)["id"], new_department(office)["id"]
    number = unique("S")[:12]
    first = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number=number)]),
    )
    assert first.status_code == 201, first.text
    assert first.json()["graduations"][0]["student_number"] == number

    again = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number=number)]),
    )
    assert assert_error(again, 409)["details"]["reason"] == "student_number_taken"
    for other in (
        graduation(b, student_number=number),
        graduation(a, class_year=2011, student_number=number),
    ):
        response = office.post("/api/v1/alumni", json=alumnus_body(a, graduations=[other]))
        assert response.status_code == 201, response.text

    # Its own record keeps its number through an edit of its graduations.
    alumnus_id = first.json()["id"]
    patched = office.patch(
        f"/api/v1/alumni/{alumnus_id}",
        json={"graduations": [graduation(a, student_number=number, major="计算机科学")]},
    )
    assert patched.status_code == 200, patched.text
    bad = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number="12 34")]),
    )
    assert_error(bad, 422)


def test_merged_departments_alumni_belong_to_the_successor(system, office):
    old_a, old_b = new_department(office), new_department(office)
    alumnus_a = office.post("/api/v1/alumni", json=alumnus_body(old_a["id"])).json()
    alumnus_b = office.post("/api/v1/alumni", json=alumnus_body(old_b["id"])).json()
    renamed = office.post(
        f"/api/v1/departments/{old_a['id']}/rename", json={"name": old_a["name"] + "（更名）"}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["former_names"] == [old_a["name"]]

    successor = department_body()
    merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [old_a["id"], old_b["id"]], "successor": successor},
    )
    assert merged.status_code == 201, merged.text
    new = merged.json()
    assert new["name"] == successor["name"]
    assert {d["id"] for d in new["predecessors"]} == {old_a["id"], old_b["id"]}
    lineage = office.get(f"/api/v1/departments/{old_a['id']}/lineage").json()
    assert lineage["current_id"] == new["id"] and lineage["successor_id"] == new["id"]

    # Search by the successor finds the alumni of both; their records keep their department.
    found = office.get("/api/v1/alumni", params={"department_id": new["id"], "limit": 100})
    assert {a["id"] for a in found.json()["items"]} == {alumnus_a["id"], alumnus_b["id"]}
    record = office.get(f"/api/v1/alumni/{alumnus_a['id']}").json()
    assert record["graduations"][0]["department_id"] == old_a["id"]
    assert record["graduations"][0]["current_department_id"] == new["id"]

    # The successor's liaison has them in scope, contacts included; the old department's
    # liaison still reads its own graduates.
    liaison = liaison_of(system, office, new["id"])
    assert liaison.get(f"/api/v1/alumni/{alumnus_b['id']}").status_code == 200
    scoped = liaison.get("/api/v1/alumni", params={"limit": 100}).json()["items"]
    assert {a["id"] for a in scoped} == {alumnus_a["id"], alumnus_b["id"]}

    # Merging again, or into a merged department, is refused.
    again = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [old_a["id"]], "successor_id": new["id"]},
    )
    assert assert_error(again, 409)["details"]["reason"] == "already_merged"
    into_merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [new_department(office)["id"]], "successor_id": old_b["id"]},
    )
    assert assert_error(into_merged, 409)["details"]["reason"] == "successor_merged"


def test_names_are_found_by_pinyin_initials_and_student_number(office):
    department = new_department(office)["id"]
    number = str(uuid.uuid4().int)[:11]
    made = {
        name: office.post(
            "/api/v1/alumni",
            json=alumnus_body(
                department, name=name, graduations=[graduation(department, student_number=sn)]
            ),
        ).json()["id"]
        for name, sn in (("单雄信", number), ("尉迟恭", None), ("阿卜杜拉·艾力", None))
    }

    def found(q: str) -> set[str]:
        params = {"q": q, "department_id": department, "limit": 100}
        return {a["id"] for a in office.get("/api/v1/alumni", params=params).json()["items"]}

    for q in ("shan", "sxx", "shanxiongxin", "danxiongxin", "单x", "单雄信", "雄信", number):
        assert made["单雄信"] in found(q), q
    assert made["尉迟恭"] in found("yuchi") and made["尉迟恭"] in found("ycg")
    assert made["阿卜杜拉·艾力"] in found("aili")
    assert found("zw") == set()
    renamed = office.patch(f"/api/v1/alumni/{made['尉迟恭']}", json={"name": "单于飞"})
    assert renamed.status_code == 200, renamed.text
    assert made["尉迟恭"] not in found("yuchi") and made["尉迟恭"] in found("chanyu")


# ---- bulk import ----------------------------------------------------------------------

IMPORTS = "/api/v1/alumni/imports"
JOB_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def sample_departments(office) -> dict[str, str]:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = office.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    return sample_import.create_departments(post)


def upload(client, content: bytes, filename: str = "registrar.csv", **form: str):
    return client.post(IMPORTS, files={"file": (filename, content)}, data=form)


def progress(client, job_id: str) -> dict[str, Any]:
    """The job as the API shows it; a read that times out while the registry works through a
    batch (503/504) is asked again, as a client polling for progress would."""
    while True:
        response = client.get(f"{IMPORTS}/{job_id}")
        if response.status_code not in (503, 504):
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(0.5)


def finished(client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        job = progress(client, job_id)
        if job["status"] in ("done", "rejected", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def count_alumni(client, department_ids) -> int:
    total = 0
    for department_id in department_ids:
        params: dict[str, Any] = {"department_id": department_id, "limit": 100}
        while True:
            page = client.get("/api/v1/alumni", params=params).json()
            total += len(page["items"])
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
    return total


class Tap:
    """A queue of our own on the registry's exchange, for one event type."""

    def __init__(self, amqp_uri: str, *routing_keys: str) -> None:
        self.connection = pika_connection(amqp_uri)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(
            "registry.events", exchange_type="topic", durable=True, auto_delete=False
        )
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        for routing_key in routing_keys:
            self.channel.queue_bind(self.queue, "registry.events", routing_key=routing_key)

    def events(self, seconds: float) -> list[dict]:
        found, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                time.sleep(0.2)
                continue
            found.append(json.loads(body))
        return found

    def close(self) -> None:
        self.connection.close()


def test_an_import_dry_run_then_real_then_again_creates_each_row_once(
    system, office, sample_departments
):
    export = sample_import.generate(300, bad=5, duplicates=6, seed=11)
    data = export.encode("csv", "gbk")
    department_ids = list(sample_departments.values())
    before = count_alumni(office, department_ids)
    tap = Tap(system.amqp_uri, "alumni_imported")
    try:
        dry = upload(office, data, dry_run="true")
        assert dry.status_code == 201, dry.text
        assert dry.json()["encoding"] == "GBK/GB 18030"
        assert {c["field"] for c in dry.json()["columns"]} >= {"name", "student_number"}
        job = finished(office, dry.json()["id"])
        assert (job["status"], job["rows_read"], job["rejected"]) == ("done", 300, 5), job
        assert job["imported"] == 0
        assert count_alumni(office, department_ids) == before

        real = upload(office, data)
        assert real.status_code == 201, real.text
        job = finished(office, real.json()["id"])
        assert job["status"] == "done", job
        assert (job["rows_read"], job["rejected"], job["imported"]) == (300, 5, 295), job
        assert job["duplicates_flagged"] >= 1
        assert count_alumni(office, department_ids) == before + 295

        refused = office.get(
            f"{IMPORTS}/{job['id']}/rows", params={"status": "refused", "limit": 100}
        ).json()["items"]
        assert {r["row_number"] for r in refused} == set(export.bad)
        assert all(r["problems"] and not r["problems"][0]["warning"] for r in refused)
        report = office.get(f"{IMPORTS}/{job['id']}/report.csv")
        assert report.status_code == 200
        assert report.headers["Content-Type"].startswith("text/csv")
        assert report.content.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
        assert lines[0][:3] == ["行号", "结果", "问题说明"]
        not_imported = {int(line[0]) for line in lines[1:] if line[1] == "未导入"}
        assert not_imported == set(export.bad)
        # An imported record's history: each field it was created with, source `import`.
        applied = office.get(
            f"{IMPORTS}/{job['id']}/rows", params={"status": "applied", "limit": 1}
        ).json()["items"][0]
        history = _history(office, applied["alumnus_id"])
        assert {"name", "graduations"} <= {c["field"] for c in history}
        assert all(c["source"] == "import" and c["old_value"] is None for c in history)

        again = finished(office, upload(office, data).json()["id"])
        assert (again["imported"], again["existing"], again["rejected"]) == (0, 295, 5), again
        assert count_alumni(office, department_ids) == before + 295

        announced = [e["data"] for e in tap.events(5)]
        assert {e["job_id"] for e in announced} == {job["id"], again["id"]}
        assert all(not e["dry_run"] for e in announced)
    finally:
        tap.close()


@pytest.mark.parametrize(
    ("content", "filename", "status", "reason"),
    [
        (b"", "empty.csv", 422, "empty_file"),
        ("学号,姓名,院系\n".encode("gbk"), "header-only.csv", 422, None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "photo.csv", 422, None),
        ("姓名,院系,专业\n张三,计算机学院,\xff".encode("utf-16-le"), "utf16.csv", 422, None),
    ],
)
def test_a_bad_file_is_refused_at_once_and_leaves_nothing(
    office, sample_departments, content, filename, status, reason
):
    response = upload(office, content, filename)
    error = assert_error(response, status)
    if reason is not None:
        assert error["details"]["reason"] == reason


def test_a_file_over_the_limit_is_413_with_the_limit(system, office):
    from gateway.routes.stewardship import UPLOAD_LIMIT

    response = upload(office, b"x" * (UPLOAD_LIMIT + 1))
    error = assert_error(response, 413)
    assert error["details"]["limit_bytes"] == UPLOAD_LIMIT
    assert "50 MB" in error["message"]


def test_a_liaison_imports_only_their_departments_rows(system, office, sample_departments):
    cs = sample_departments["计算机科学与技术学院"]
    liaison = liaison_of(system, office, cs)
    export = sample_import.generate(60, seed=12)
    job = finished(liaison, upload(liaison, export.encode("csv", "utf-8")).json()["id"])
    assert job["status"] == "done", job
    names = set(sample_import.LINEAGE["计算机科学与技术学院"][0][:1]) | {"计算机科学与技术学院"}
    own = sum(1 for row in export.rows if row[4] in names)
    assert job["imported"] + job["existing"] == own
    assert job["rejected"] == 60 - own
    # Another's import job is as if it did not exist.
    other = liaison_of(system, office, sample_departments["机械工程学院"])
    assert_error(other.get(f"{IMPORTS}/{job['id']}"), 404)


OFFICE_READ_EXTRAS = ("updated_at", "provenance", "confirmed_at")


def _history(client, alumnus_id: str) -> list[dict]:
    return client.get(f"/api/v1/alumni/{alumnus_id}/history", params={"limit": 100}).json()["items"]


def test_a_merge_takes_the_newest_values_and_its_undo_restores_both_records(system, office):
    department = new_department(office)["id"]
    first = office.post(
        "/api/v1/alumni",
        json=alumnus_body(
            department, name="张伟", phone="13800000001", employer="华为", tags=["理事"]
        ),
    ).json()
    time.sleep(0.05)
    second = office.post(
        "/api/v1/alumni",
        json=alumnus_body(
            department,
            name="张伟",
            phone="13800000002",
            city="深圳",
            graduations=[graduation(department, degree="master", class_year=2014)],
        ),
    ).json()
    absorbed_history = _history(office, second["id"])
    tap = Tap(system.amqp_uri, "alumni_merged", "alumni_unmerged")
    try:
        merged = office.post(
            "/api/v1/alumni/merges",
            json={"survivor_id": first["id"], "absorbed_id": second["id"]},
        )
        assert merged.status_code == 201, merged.text
        survivor = office.get(f"/api/v1/alumni/{first['id']}").json()
        assert survivor["phone"] == "13800000002"  # the newer value
        assert (survivor["employer"], survivor["city"]) == ("华为", "深圳")
        assert survivor["tags"] == ["理事"]
        assert sorted(g["class_year"] for g in survivor["graduations"]) == [2010, 2014]
        gone = assert_error(office.get(f"/api/v1/alumni/{second['id']}"), 404)
        assert gone["details"] == {
            "alumnus_id": second["id"],
            "survivor_id": first["id"],
            "reason": "merged",
        }
        listed = office.get("/api/v1/alumni", params={"department_id": department}).json()
        assert [a["id"] for a in listed["items"]] == [first["id"]]
        merge_history = [c for c in _history(office, first["id"]) if c["source"] == "office"]
        assert {c["field"] for c in merge_history} >= {"phone", "city", "graduations"}

        undone = office.post(f"/api/v1/alumni/merges/{merged.json()['id']}/undo")
        assert undone.status_code == 200, undone.text
        assert undone.json()["kept_since_merge"] == []
        # The office's read adds each field's provenance (item 4): the record is the rest.
        restored = office.get(f"/api/v1/alumni/{first['id']}").json()
        assert {k: v for k, v in restored.items() if k not in OFFICE_READ_EXTRAS} == {
            k: v for k, v in first.items() if k != "updated_at"
        }
        absorbed = office.get(f"/api/v1/alumni/{second['id']}").json()
        assert {k: v for k, v in absorbed.items() if k not in OFFICE_READ_EXTRAS[1:]} == second
        assert restored["provenance"]["phone"]["source"] == "office"
        assert _history(office, second["id"]) == absorbed_history
        again = office.post(f"/api/v1/alumni/merges/{merged.json()['id']}/undo")
        assert assert_error(again, 409)["details"]["reason"] == "already_undone"

        events = {e["event_type"]: e["data"] for e in tap.events(4)}
        assert events["alumni_merged"]["absorbed_id"] == second["id"]
        assert events["alumni_unmerged"]["absorbed"]["id"] == second["id"]
    finally:
        tap.close()


def test_the_duplicates_queue_lists_imported_pairs_and_a_pair_can_be_dismissed(
    office, sample_departments
):
    export = sample_import.generate(200, duplicates=12, seed=14)
    job = finished(office, upload(office, export.encode("csv", "gbk")).json()["id"])
    assert job["duplicates_flagged"] >= 1, job
    queue = office.get("/api/v1/alumni/duplicates", params={"limit": 100}).json()["items"]
    assert queue, "the import's pairs are in the queue"
    scores = [c["score"] for c in queue]
    assert scores == sorted(scores, reverse=True)
    pair = queue[-1]
    assert pair["evidence"]["explanation"]
    dismissed = office.post(f"/api/v1/alumni/duplicates/{pair['id']}/dismiss")
    assert dismissed.status_code == 200, dismissed.text
    still = office.get("/api/v1/alumni/duplicates", params={"limit": 100}).json()["items"]
    assert pair["id"] not in {c["id"] for c in still}
    assert_error(office.post(f"/api/v1/alumni/duplicates/{pair['id']}/dismiss"), 409)

    top = queue[0]
    merged = office.post(
        "/api/v1/alumni/merges",
        json={"survivor_id": top["first_id"], "absorbed_id": top["second_id"]},
    )
    assert merged.status_code == 201, merged.text
    merged_list = office.get("/api/v1/alumni/duplicates", params={"status": "merged"}).json()
    assert top["id"] in {c["id"] for c in merged_list["items"]}


@pytest.mark.timeout(600)
def test_an_import_killed_halfway_and_resumed_applies_each_row_once(
    system, office, sample_departments
):
    """SIGKILL the registry while it applies a file; the restarted registry resumes the job
    (its heartbeat stopped) and the file's rows are each in the registry exactly once."""
    # Twenty batches of 100 (SMALL_BATCHES): the apply phase spans several progress reads.
    export = sample_import.generate(2000, seed=13)
    department_ids = list(sample_departments.values())
    before = count_alumni(office, department_ids)
    job_id = upload(office, export.encode("csv", "gbk")).json()["id"]
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        job = progress(office, job_id)
        if job["status"] == "applying" and job["imported"] > 0:
            break
        assert job["status"] not in ("done", "rejected", "failed"), job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    system.kill("registry")
    try:
        halfway = job["imported"]
        assert halfway < job["accepted"]
    finally:
        system.start("registry", REGISTRY_IMPORT_STALE_SECONDS="2")
        system.wait_rpc_ready("registry")
    job = finished(office, job_id)
    assert job["status"] == "done", job
    # Rows whose student numbers an earlier test's file took are `existing`.
    assert job["imported"] + job["existing"] == job["accepted"] == job["rows_read"], job
    assert count_alumni(office, department_ids) == before + job["imported"]

    # And the file run again adds nobody.
    again = finished(office, upload(office, export.encode("csv", "gbk")).json()["id"])
    assert (again["imported"], again["existing"]) == (0, job["accepted"]), again
    assert count_alumni(office, department_ids) == before + job["imported"]
