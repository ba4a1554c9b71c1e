"""The staff console's stewardship pages and dashboards in a real browser (issue 13, items
3 and 4): an import with its progress and row report, a merge and its undo, the
committee's dashboard showing a gift the office recorded, and axe on every page built."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.browser.steps import click_option, console_login, fill, save, unique

STAFF_PASSWORD = "Console-Stewardship-9"
IMPORTS = "/api/v1/alumni/imports"


def staff(office, role: str) -> str:
    """A new staff account of `role`, made by the office through the API; its username."""
    username = unique(role[:4])
    body = {"username": username, "password": STAFF_PASSWORD, "role": role}
    response = office.post("/api/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    return username


@pytest.fixture(scope="module")
def office(portal):
    return portal.admin()


@pytest.fixture(scope="module")
def office_user(office) -> str:
    return staff(office, "office")


@pytest.fixture
def registrar_file(office, tmp_path) -> Path:
    """A registrar export of four rows in a department of its own: two people, one row
    without a name (refused), and one person again under a homophone with the same phone
    (flagged as a duplicate)."""
    department = unique("导入测试学院")
    response = office.post("/api/v1/departments", json={"name": department, "code": unique("D")})
    assert response.status_code == 201, response.text
    phone = f"139{random.randrange(10**8):08d}"
    other = f"138{random.randrange(10**8):08d}"
    rows = [
        "学号,姓名,性别,院系,专业,学历,毕业年份,手机",
        f"20190001,王小明,男,{department},软件工程,本科,2019,{phone}",
        f"20190002,李小红,女,{department},软件工程,本科,2019,{other}",
        f"20190003,,女,{department},软件工程,本科,2019,",
        f"20190004,王晓明,男,{department},软件工程,本科,2019,{phone}",
    ]
    path = tmp_path / "教务处导出.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_import_shows_its_progress_and_row_report(desktop, office_user, registrar_file):
    console_login(desktop, "/imports", office_user, STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name="批量导入", exact=True)).to_be_visible()
    assert_accessible(desktop, "console-imports")

    desktop.get_by_label("选择名册文件（CSV 或 .xlsx）").set_input_files(str(registrar_file))
    desktop.get_by_role("button", name="开始导入").click()
    expect(desktop.get_by_role("heading", name=f"导入进度：{registrar_file.name}")).to_be_visible()
    # The page polls the job until it is done, then lists the rows.
    expect(desktop.locator(".job-status")).to_have_text("已完成", timeout=60_000)
    counts = desktop.locator(".el-descriptions")
    expect(counts.get_by_text("已读取行")).to_be_visible()
    expect(desktop.get_by_role("heading", name="逐行结果")).to_be_visible()
    rows = desktop.locator(".el-table__body tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text("有问题")
    expect(rows.nth(2)).to_contain_text("姓名：不能为空")
    assert_accessible(desktop, "console-import-report")

    desktop.locator(".el-radio-button", has_text="有问题").click()
    expect(rows).to_have_count(1)
    with desktop.expect_download() as waiting:
        desktop.get_by_role("button", name="下载问题行（CSV）").click()
    report = Path(waiting.value.path()).read_bytes().decode("utf-8-sig")
    assert "行号" in report.splitlines()[0]
    assert "不能为空" in report


def test_the_office_merges_a_duplicate_and_undoes_it(desktop, office, office_user, registrar_file):
    job = office.post(IMPORTS, files={"file": (registrar_file.name, registrar_file.read_bytes())})
    assert job.status_code == 201, job.text
    for _ in range(300):
        state = office.get(f"{IMPORTS}/{job.json()['id']}").json()
        if state["status"] == "done":
            break
        desktop.wait_for_timeout(200)
    assert state["duplicates_flagged"] == 1, state
    pair = office.get("/api/v1/alumni/duplicates").json()["items"][0]

    console_login(desktop, "/duplicates", office_user, STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name="疑似重复与合并")).to_be_visible()
    first_row = desktop.locator(".el-table__body tr").first
    expect(first_row).to_contain_text("手机号相同")
    assert_accessible(desktop, "console-duplicates")

    first_row.get_by_role("button", name="合并（保留记录一）").click()
    save(desktop, "合并", "已合并", within=desktop.get_by_role("dialog"))
    merged = office.get("/api/v1/alumni/duplicates", params={"status": "merged"}).json()["items"]
    merge_id = next(item["merge_id"] for item in merged if item["id"] == pair["id"])
    absorbed = office.get(f"/api/v1/alumni/{pair['second_id']}")
    assert absorbed.status_code == 404
    assert absorbed.json()["error"]["details"]["survivor_id"] == pair["first_id"]
    assert_accessible(desktop, "console-duplicates-merged")

    merged_row = desktop.locator(".el-table__body tr", has_text="已并入另一条记录").first
    save(desktop, "撤销合并", "已撤销合并", within=merged_row)
    assert office.get(f"/api/v1/alumni/merges/{merge_id}").json()["undone_at"]
    assert office.get(f"/api/v1/alumni/{pair['second_id']}").status_code == 200


def test_the_committees_dashboard_shows_a_gift_the_office_recorded(desktop, office):
    fund_name = unique("校庆基金")
    fund = office.post(
        "/api/v1/funds", json={"name": fund_name, "kind": "general", "goal_fen": 10_000_000}
    )
    assert fund.status_code == 201, fund.text
    gift = {
        "donor": {"type": "anonymous"},
        "amount_fen": 1_234_500,
        "allocations": [{"fund_id": fund.json()["id"], "amount_fen": 1_234_500}],
        "channel": "bank_transfer",
    }
    recorded = office.post("/api/v1/gifts", json=gift, headers={"Idempotency-Key": unique("k")})
    assert recorded.status_code == 201, recorded.text

    console_login(desktop, "/dashboard", staff(office, "committee"), STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name="数据看板")).to_be_visible()
    funds_table = desktop.get_by_role("table", name="基金与募捐活动：已筹与目标（元）（数据表）")
    fund_row = funds_table.get_by_role("row", name=f"基金：{fund_name}")
    # The table behind the chart, as a screen reader reads it: raised, goal, progress.
    expect(fund_row).to_contain_text("12,345.00")
    expect(fund_row).to_contain_text("100,000.00")
    expect(fund_row).to_contain_text("12.3%")
    expect(desktop.get_by_role("table", name="校友地区分布（省份）（数据表）")).to_be_attached()
    assert desktop.locator(".chart canvas").count() >= 6
    assert_accessible(desktop, "console-dashboard")
    desktop.get_by_role("button", name="显示数据表").first.click()
    expect(desktop.get_by_role("button", name="隐藏数据表")).to_be_visible()


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/change-requests", "信息变更审核"),
        ("/chapters", "校友会"),
        ("/distinguished", "杰出校友档案"),
        ("/messengers", "校友信使"),
        ("/stories", "校友风采"),
        ("/alumni-news", "校友动态"),
    ],
)
def test_each_community_page_opens_and_passes_axe(desktop, office_user, path, heading):
    console_login(desktop, path, office_user, STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(desktop.get_by_role("alert")).to_have_count(0)
    assert_accessible(desktop, f"console{path.replace('/', '-')}")


def test_the_office_records_a_contact_in_the_distinguished_archive(desktop, office, office_user):
    department = office.post(
        "/api/v1/departments", json={"name": unique("档案测试学院"), "code": unique("D")}
    ).json()
    name = "赵" + random.choice("一二三四五六七八九") + random.choice("明华强伟")
    graduation = {
        "department_id": department["id"],
        "class_year": 1995,
        "degree": "bachelor",
        "major": "机械工程",
    }
    alumnus = office.post("/api/v1/alumni", json={"name": name, "graduations": [graduation]})
    assert alumnus.status_code == 201, alumnus.text
    nominated = office.post(
        "/api/v1/distinguished/nominations",
        json={"alumnus_id": alumnus.json()["id"], "reasons": "长期支持母校建设。"},
    )
    assert nominated.status_code == 201, nominated.text
    approved = office.post(f"/api/v1/distinguished/nominations/{nominated.json()['id']}/approve")
    assert approved.status_code == 200, approved.text

    console_login(desktop, "/distinguished", office_user, STAFF_PASSWORD)
    row = desktop.locator(".el-table__body tr", has_text="长期支持母校建设")
    row.first.get_by_role("button", name="详情").click()
    drawer = desktop.get_by_role("dialog")
    expect(drawer.get_by_role("heading", name="联系记录")).to_be_visible()
    fill(drawer, {"联系日期": "2026-11-30"})
    drawer.get_by_label("联系日期").press("Enter")
    fill(drawer, {"联系内容": "登门拜访，商谈设立奖学金。"})
    drawer.get_by_role("button", name="记录联系").click()
    expect(drawer.get_by_text("登门拜访，商谈设立奖学金。")).to_be_visible()
    assert_accessible(desktop, "console-distinguished-entry")
    logged = office.get(f"/api/v1/distinguished/{nominated.json()['id']}/interactions").json()
    assert [item["summary"] for item in logged["items"]] == ["登门拜访，商谈设立奖学金。"]


def test_the_office_reviews_a_liaisons_changes(desktop, portal, office, office_user):
    department = office.post(
        "/api/v1/departments", json={"name": unique("审核测试学院"), "code": unique("D")}
    ).json()
    liaison_name = unique("liai")
    made = office.post(
        "/api/v1/accounts",
        json={
            "username": liaison_name,
            "password": STAFF_PASSWORD,
            "role": "liaison",
            "department_id": department["id"],
        },
    )
    assert made.status_code == 201, made.text
    liaison = portal.client().login(liaison_name, STAFF_PASSWORD)
    graduation = {
        "department_id": department["id"],
        "class_year": 2008,
        "degree": "master",
        "major": "材料科学",
    }
    alumnus = office.post("/api/v1/alumni", json={"name": "钱审核", "graduations": [graduation]})
    assert alumnus.status_code == 201, alumnus.text
    path = f"/api/v1/alumni/{alumnus.json()['id']}"
    employer = unique("新单位")
    asked = liaison.patch(path, json={"employer": employer})
    assert asked.status_code == 202, asked.text
    wrong = liaison.patch(path, json={"city": "错误城市"})
    assert wrong.status_code == 202, wrong.text

    console_login(desktop, "/change-requests", office_user, STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name="信息变更审核")).to_be_visible()
    approve_row = desktop.locator(".el-table__body tr", has_text=employer)
    expect(approve_row).to_have_count(1)
    assert_accessible(desktop, "console-change-requests-pending")
    save(desktop, "通过", "已通过", within=approve_row)
    assert office.get(path).json()["employer"] == employer

    reject_row = desktop.locator(".el-table__body tr", has_text="错误城市").filter(
        has=desktop.get_by_role("button", name="驳回")
    )
    reject_row.get_by_role("button", name="驳回").click()
    dialog = desktop.get_by_role("dialog")
    dialog.get_by_role("textbox").fill("城市与学籍档案不符。")
    save(desktop, "驳回", "已驳回", within=dialog)
    assert office.get(path).json()["city"] != "错误城市"
    mine = liaison.get("/api/v1/alumni/change-requests", params={"status": "rejected"}).json()
    assert [item["reason"] for item in mine["items"]] == ["城市与学籍档案不符。"]


def test_the_office_confirms_a_chapter_and_changes_a_members_role(desktop, office, office_user):
    chapter_name = unique("济南校友会")
    chapter = office.post(
        "/api/v1/chapters",
        json={"name": chapter_name, "kind": "regional", "city": "济南", "founded_on": "2020-05-01"},
    )
    assert chapter.status_code == 201, chapter.text
    department = office.post(
        "/api/v1/departments", json={"name": unique("分会测试学院"), "code": unique("D")}
    ).json()
    graduation = {
        "department_id": department["id"],
        "class_year": 2012,
        "degree": "bachelor",
        "major": "土木工程",
    }
    alumnus = office.post("/api/v1/alumni", json={"name": "孙会员", "graduations": [graduation]})
    members = f"/api/v1/chapters/{chapter.json()['id']}/members"
    joined = office.post(members, json={"alumnus_id": alumnus.json()["id"]})
    assert joined.status_code == 201, joined.text

    console_login(desktop, "/chapters", office_user, STAFF_PASSWORD)
    row = desktop.locator(".el-table__body tr", has_text=chapter_name)
    expect(row).to_contain_text("未确认")
    row.get_by_role("button", name="确认").click()
    save(desktop, "确认", "已确认", within=desktop.get_by_role("dialog"))
    expect(row).to_contain_text("已确认")
    assert office.get(f"/api/v1/chapters/{chapter.json()['id']}").json()["confirmed"] is True

    row.get_by_role("button", name="会员").click()
    drawer = desktop.get_by_role("dialog", name=f"{chapter_name}：会员")
    expect(drawer.get_by_text("孙会员")).to_be_visible()
    assert_accessible(desktop, "console-chapter-members")
    # Element Plus draws the chosen value over the select's input: the select is clicked.
    drawer.locator(".el-select").filter(has=desktop.get_by_label("孙会员的角色")).click()
    click_option(desktop, "积极分子")
    for _ in range(50):
        if office.get(members).json()["items"][0]["role"] == "volunteer":
            break
        desktop.wait_for_timeout(200)
    assert office.get(members).json()["items"][0]["role"] == "volunteer"
