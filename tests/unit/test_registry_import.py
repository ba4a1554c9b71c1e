"""Parsing registrar exports (services/registry/importing): files, columns, rows, the report."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from services.common.contracts.registry import AlumnusInput
from services.registry import sample_import
from services.registry.importing import (
    FileTooLarge,
    ImportOptions,
    ImportRejected,
    Limits,
    open_import,
    write_report,
)
from services.registry.importing.source import GB18030_2022

TODAY = date(2025, 6, 30)
CS = "4f1c2a9e-0000-4000-8000-000000000001"
ME = "4f1c2a9e-0000-4000-8000-000000000002"
DEPARTMENTS = {"计算机学院": CS, "CS": CS, "计算机系": CS, "机械学院": ME}
HEADER = [
    "学号",
    "姓名",
    "性别",
    "出生日期",
    "院系",
    "专业",
    "学历",
    "毕业年份",
    "班级",
    "手机",
    "邮箱",
]
GOOD = ["2012010101", "单雄信", "男", "1994-03-05", "计算机学院", "软件工程", "本科", "2016",
        "软件1201", "13800138000", "shan@example.cn"]  # fmt: skip


def csv_bytes(rows, encoding="utf-8", header=HEADER, delimiter=","):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def options(**overrides):
    return ImportOptions(resolve_department=DEPARTMENTS.get, today=TODAY, **overrides)


def parse(data, **overrides):
    registrar_file = open_import(data, options(**overrides))
    return registrar_file, list(registrar_file)


def rejected(data, **overrides) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        parse(data, **overrides)
    return caught.value


def row_with(**changes):
    row = list(GOOD)
    for header, value in changes.items():
        row[HEADER.index(header)] = value
    return row


# ---- encodings ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_every_encoding_a_registrar_saves_in_reads_the_same(encoding):
    delimiter = "\t" if encoding == "utf-16" else ","  # Excel's "Unicode text" is tab-separated
    registrar_file, results = parse(csv_bytes([GOOD], encoding, delimiter=delimiter))

    assert [r.record.name for r in results] == ["单雄信"]
    assert results[0].record.graduation.department_id == CS
    assert registrar_file.format == "csv"
    assert (
        registrar_file.encoding
        == {
            "utf-8": "UTF-8",
            "utf-8-sig": "UTF-8",
            "gbk": "GBK/GB 18030",
            "gb18030": "GBK/GB 18030",
            "utf-16": "UTF-16",
        }[encoding]
    )


def test_gb18030_with_its_own_byte_order_mark():
    registrar_file, results = parse(b"\x84\x31\x95\x33" + csv_bytes([GOOD], "gb18030"))
    assert registrar_file.encoding == "GBK/GB 18030"
    assert results[0].record.graduation.student_number == "2012010101"


def test_gb18030_four_byte_characters_and_the_2022_mappings_survive():
    rare = "李\U0002b5ae"  # 𫖮, extension C: four bytes in GB 18030
    data = csv_bytes([row_with(姓名=rare)], "gb18030")
    # FE59 is U+9FB4 in GB 18030-2022 (Python's codec still gives the 2005 private-use U+E81E).
    data = data.replace("软件1201".encode("gb18030"), "软件".encode("gb18030") + b"\xfe\x59")

    _, results = parse(data)

    assert results[0].record.name == rare
    assert results[0].record.graduation.class_name == "软件\u9fb4"
    assert "\ue81e".translate(GB18030_2022) == "\u9fb4"


def test_big5_text_is_refused_although_it_decodes_as_gbk():
    traditional = ["學號", "姓名", "性別", "出生日期", "院系", "專業", "學歷", "畢業年份", "班級"]
    row = ["2012010101", "陳大文", "男", "1994-03-05", "資訊工程學系", "軟體工程", "本科",
           "2016", "軟體工程一班"]  # fmt: skip
    data = csv_bytes([row] * 6, "big5", header=traditional)
    data.decode("gb18030")  # it does decode, as nonsense

    assert rejected(data).reason == "wrong_encoding"


def test_undecodable_bytes_are_refused_with_the_line():
    data = csv_bytes([GOOD, GOOD], "utf-8").replace(b"\xe5\x8d\x95", b"\xff\xfe\xfd", 1)
    error = rejected(data)
    assert error.reason == "wrong_encoding"
    assert error.details["line"] == 2


def test_nul_bytes_mean_utf16_without_its_bom_or_no_text_at_all():
    assert rejected(csv_bytes([GOOD], "utf-16-le")).reason == "wrong_encoding"
    _, results = parse(csv_bytes([row_with(姓名="张\x00伟")]))
    assert [p.reason for p in results[0].errors] == ["bad_characters"]


def test_a_bom_that_lies_is_refused():
    error = rejected(b"\xef\xbb\xbf" + csv_bytes([GOOD], "gbk"))
    assert (error.reason, error.details["line"]) == ("wrong_encoding", 1)


# ---- the file as a whole -------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf", b",,,\r\n"])
def test_an_empty_file_is_refused(data):
    assert rejected(data).reason == "empty_file"


def test_a_header_without_rows_is_refused():
    assert rejected(csv_bytes([]) + b",,,\r\n\r\n").reason == "no_data_rows"


def test_a_file_over_the_limit_is_refused_with_the_limit_stated():
    data = csv_bytes([GOOD] * 100)
    with pytest.raises(FileTooLarge) as caught:
        parse(data, limits=Limits(max_bytes=2048))
    assert caught.value.reason == "file_too_large"
    assert caught.value.details["limit_bytes"] == 2048
    assert "2 KB" in caught.value.message


def test_too_many_rows_are_refused_with_the_limit_stated():
    error = rejected(csv_bytes([GOOD] * 20), limits=Limits(max_rows=10))
    assert (error.reason, error.details["limit_rows"]) == ("too_many_rows", 10)


@pytest.mark.parametrize(
    "tail",
    [b'2012,"unterminated,\r\n', b'2012,"a"b,c\r\n', b"2012,a\rb,c\r\n"],
    ids=["open quote", "stray quote", "bare CR"],
)
def test_a_malformed_csv_is_refused_with_the_line(tail):
    error = rejected(csv_bytes([GOOD]) + tail)
    assert error.reason == "malformed_file"
    assert error.details["line"] >= 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unsupported_format"),
        (b"%PDF-1.7\n" + b"x" * 100, "unsupported_format"),
    ],
    ids=["xls", "pdf"],
)
def test_files_that_are_not_spreadsheets_are_refused(data, reason):
    assert rejected(data).reason == reason


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert rejected(buffer.getvalue()).reason == "unsupported_format"


# ---- Excel ---------------------------------------------------------------------------


def xlsx_bytes(rows, header=HEADER, *, title=None, hidden_first=False, sheet="名单"):
    workbook = Workbook()
    first = workbook.active
    if hidden_first:
        first.title = "说明"
        first.sheet_state = "hidden"
        first.append(["这张表是说明，不是数据"])
        data_sheet = workbook.create_sheet(sheet)
    else:
        first.title = sheet
        data_sheet = first
    if title:
        data_sheet.append([title])
    data_sheet.append(header)
    for row in rows:
        data_sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_is_read_with_its_typed_cells():
    typed = row_with(
        学号=2012010101, 出生日期=datetime(1994, 3, 5), 毕业年份=2016, 手机=13800138000
    )
    data = xlsx_bytes([typed, [None] * 3, row_with(姓名="曾国藩", 学号=2012010102)],
                      title="2016届毕业生名单", hidden_first=True)  # fmt: skip

    registrar_file, results = parse(data)

    assert (registrar_file.format, registrar_file.source.sheet) == ("xlsx", "名单")
    assert registrar_file.mapping.header_row == 2
    assert [r.row_number for r in results] == [3, 5]
    record = results[0].record
    assert (record.graduation.student_number, record.birth_date) == ("2012010101", date(1994, 3, 5))
    assert (record.phone, record.graduation.class_year) == ("13800138000", 2016)
    assert registrar_file.progress.blank_rows == 1


def test_an_excel_date_serial_and_a_scientific_student_number():
    _, results = parse(xlsx_bytes([row_with(出生日期=34398, 学号="2.01201E+09")]))
    assert [(p.field, p.reason) for p in results[0].errors] == [
        ("student_number", "invalid_student_number")
    ]
    _, results = parse(xlsx_bytes([row_with(出生日期=34398)]))
    assert results[0].record.birth_date == date(1994, 3, 5)


def test_a_sheet_can_be_named_and_an_unknown_one_is_refused():
    data = xlsx_bytes([GOOD], sheet="2016届")
    assert len(parse(data, sheet="2016届")[1]) == 1
    error = rejected(data, sheet="2017届")
    assert (error.reason, error.details["sheets"]) == ("unknown_sheet", ["2016届"])


def test_a_truncated_xlsx_is_refused_as_malformed():
    data = xlsx_bytes([GOOD] * 50)
    assert rejected(data[: len(data) // 2]).reason == "malformed_file"


def test_an_xlsx_that_unpacks_over_the_limit_is_refused():
    data = xlsx_bytes([GOOD] * 200)
    with pytest.raises(FileTooLarge) as caught:
        parse(data, limits=Limits(max_unpacked_bytes=20_000))
    assert caught.value.details["limit_unpacked_bytes"] == 20_000


# ---- columns -------------------------------------------------------------------------


def test_english_and_decorated_headers_are_recognised():
    header = ["Student No.", "Name*", "Gender", "Date of Birth", "Department", "Major",
              "Degree", "Class of", "Class", "Mobile Phone", "E-mail"]  # fmt: skip
    registrar_file, results = parse(csv_bytes([GOOD], header=header))
    assert results[0].accepted
    assert registrar_file.mapping.fields() >= {"student_number", "name", "birth_date", "email"}

    header = ["学号", "姓名（必填）", "性别", "出生日期(YYYY-MM-DD)", "院(系)", "专业名称",
              "学历层次", "届别", "班级", "手机号码", "电子邮箱", "备注"]  # fmt: skip
    registrar_file, results = parse(csv_bytes([[*GOOD, "无"]], header=header))
    assert results[0].accepted
    assert registrar_file.mapping.ignored == ("备注",)


def test_a_given_mapping_overrides_the_guess_and_can_ignore_a_column():
    header = ["编号", *HEADER[1:]]
    mapping = {"编号": "student_number", "手机": None}
    registrar_file, results = parse(csv_bytes([GOOD], header=header), mapping=mapping)
    assert results[0].record.graduation.student_number == "2012010101"
    assert results[0].record.phone is None
    described = {d["header"]: d["field"] for d in registrar_file.mapping.describe()}
    assert (described["编号"], described["手机"], described["姓名"]) == (
        "student_number",
        None,
        "name",
    )


@pytest.mark.parametrize(
    ("header", "mapping", "reason"),
    [
        (HEADER, {"学号": "student_id"}, "unknown_field"),
        (HEADER, {"学生证号": "student_number"}, "unknown_column"),
        ([*HEADER, "联系电话"], None, "duplicate_columns"),
        ([h for h in HEADER if h not in ("专业", "学历")], None, "missing_columns"),
        (["序号", "备注", "其他"], None, "no_header"),
    ],
)
def test_column_problems_refuse_the_file(header, mapping, reason):
    error = rejected(csv_bytes([GOOD[: len(header)]], header=header), mapping=mapping)
    assert error.reason == reason
    if reason == "missing_columns":
        assert error.details["missing"] == ["major", "degree"]
        assert "专业、学历" in error.message


def test_a_field_the_file_lacks_can_be_given_for_every_row():
    header = [h for h in HEADER if h != "学历"]
    row = [v for h, v in zip(HEADER, GOOD, strict=True) if h != "学历"]
    _, results = parse(csv_bytes([row], header=header), defaults={"degree": "硕士"})
    assert results[0].record.graduation.degree == "master"


# ---- rows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"姓名": ""}, "name", "required"),
        ({"姓名": "张\u200b伟"}, "name", "bad_characters"),
        ({"姓名": "张\u202e伟"}, "name", "bad_characters"),
        ({"姓名": "·艾力"}, "name", "invalid_name"),
        ({"性别": "男生"}, "gender", "invalid_choice"),
        ({"出生日期": "1994-02-30"}, "birth_date", "invalid_date"),
        ({"出生日期": "三月五日"}, "birth_date", "invalid_date"),
        ({"出生日期": "2031-01-01"}, "birth_date", "implausible_date"),
        ({"出生日期": "2010-01-01"}, "birth_date", "implausible_date"),
        ({"院系": "火星学院"}, "department", "unknown_department"),
        ({"院系": ""}, "department", "required"),
        ({"专业": ""}, "major", "required"),
        ({"学历": "博士后"}, "degree", "invalid_choice"),
        ({"毕业年份": "1850"}, "class_year", "implausible_year"),
        ({"毕业年份": "2031"}, "class_year", "implausible_year"),
        ({"毕业年份": "2016级"}, "class_year", "invalid_year"),
        ({"毕业年份": "明年"}, "class_year", "invalid_year"),
        ({"毕业年份": ""}, "class_year", "required"),
        ({"手机": "1380013800"}, "phone", "invalid_phone"),
        ({"手机": "010-62751234"}, "phone", "invalid_phone"),
        ({"手机": "13800138000\n"}, None, None),
        ({"邮箱": "shan#example.cn"}, "email", "invalid_email"),
        ({"学号": "2012 01/01"}, "student_number", "invalid_student_number"),
        ({"班级": "软" * 101}, "class_name", "too_long"),
    ],
)
def test_each_bad_field_refuses_the_row_with_its_reason(changes, field, reason):
    _, results = parse(csv_bytes([row_with(**changes)]))
    if reason is None:
        assert results[0].accepted
        return
    assert not results[0].accepted
    assert [(p.field, p.reason) for p in results[0].errors] == [(field, reason)]
    assert results[0].errors[0].message  # Chinese, for people


def test_the_formats_registrars_mix_are_read():
    rows = [
        row_with(学号="", 出生日期="1994/3/5", 手机="+86 138 0013 8000", 毕业年份="2016届"),
        row_with(学号="", 姓名="曾 国藩", 出生日期="19940305", 手机="138-0013-8000", 性别="1"),
        row_with(学号="", 姓名="阿卜杜拉•艾力", 出生日期="1994年3月5日", 邮箱="A@EXAMPLE.CN"),
        row_with(学号="", 姓名="王Anna", 出生日期="1994-03-05 00:00:00", 性别="女", 学历="学士"),
        row_with(学号="'=cmd", 姓名="覃振"),
    ]
    _, results = parse(csv_bytes(rows))
    records = [r.record for r in results[:4]]
    assert [r.name for r in records[:4]] == ["单雄信", "曾国藩", "阿卜杜拉·艾力", "王Anna"]
    assert {r.birth_date for r in records} == {date(1994, 3, 5)}
    assert {r.phone for r in records} == {"13800138000"}
    assert records[2].email == "a@example.cn"
    assert [r.gender for r in records[:4]] == ["male", "male", "male", "female"]
    assert {r.graduation.class_year for r in records} == {2016}
    assert [p.reason for p in results[4].errors] == [
        "invalid_student_number"
    ]  # '=cmd is read back as =cmd, not a student number


def test_a_class_year_is_derived_from_the_enrolment_year_with_a_warning():
    header = [*HEADER[:7], "入学年份", *HEADER[8:]]
    _, results = parse(csv_bytes([row_with(毕业年份="2012级")], header=header))
    assert results[0].record.graduation.class_year == 2016
    assert results[0].record.graduation.enrolment_year == 2012
    assert [w.reason for w in results[0].warnings] == ["class_year_derived"]

    header = [*HEADER, "入学年份"]
    _, results = parse(csv_bytes([[*GOOD, "2017"]], header=header))
    assert [p.reason for p in results[0].errors] == ["inconsistent_years"]


def test_a_birth_month_without_a_day_is_dropped_with_a_warning():
    _, results = parse(csv_bytes([row_with(出生日期="1994.03")]))
    assert results[0].accepted
    assert results[0].record.birth_date is None
    assert [(w.field, w.reason) for w in results[0].warnings] == [("birth_date", "partial_date")]


def test_a_private_use_character_in_a_name_is_kept_with_a_warning():
    _, results = parse(csv_bytes([row_with(姓名="王\ue816")]))
    assert results[0].record.name == "王\ue816"
    assert [w.reason for w in results[0].warnings] == ["private_use_character"]


def test_cells_beyond_the_header_mean_a_shifted_row():
    _, results = parse(csv_bytes([[*GOOD, "多出来的"]]))
    assert [(p.field, p.reason) for p in results[0].errors] == [(None, "extra_cells")]


def test_the_same_student_number_or_person_twice_in_a_file_is_refused_the_second_time():
    rows = [
        GOOD,
        row_with(姓名="李四"),  # the same student number, department and class year
        row_with(姓名="李四", 毕业年份="2017"),  # another class year: allowed
        row_with(学号=""),  # the first row's person again: name, birth date, class
        row_with(学号="", 班级="软件1202"),  # another class: another graduation
    ]
    _, results = parse(csv_bytes(rows))
    assert [[p.reason for p in r.errors] for r in results] == [
        [],
        ["duplicate_student_number"],
        [],
        ["duplicate_row"],
        [],
    ]
    assert "第 2 行" in results[1].errors[0].message


def test_a_refused_row_does_not_block_its_corrected_twin():
    rows = [row_with(手机="123"), GOOD]
    _, results = parse(csv_bytes(rows))
    assert [r.accepted for r in results] == [False, True]


def test_the_department_lookup_is_asked_once_per_spelling():
    asked = []

    def lookup(text):
        asked.append(text)
        return DEPARTMENTS.get(text)

    rows = [
        row_with(学号=str(2012010100 + i), 院系=d) for i, d in enumerate(["CS", "计算机系"] * 5)
    ]
    registrar_file = open_import(csv_bytes(rows), ImportOptions(lookup, today=TODAY))
    assert all(r.record.graduation.department_id == CS for r in registrar_file)
    assert asked == ["CS", "计算机系"]


def test_progress_counts_as_rows_stream():
    rows = [GOOD, row_with(学号="2", 手机="1"), [], row_with(学号="3", 出生日期="1994-03")]
    registrar_file = open_import(csv_bytes(rows), options())
    seen = []
    for _ in registrar_file:
        seen.append(registrar_file.progress.rows_read)
    assert seen == [1, 2, 3]
    assert registrar_file.progress.as_dict() == {
        "rows_read": 3,
        "accepted": 2,
        "rejected": 1,
        "with_warnings": 1,
        "blank_rows": 1,
    }


# ---- the records ---------------------------------------------------------------------


def test_idempotency_keys_follow_the_student_number_else_name_birth_date_and_class():
    _, first = parse(csv_bytes([GOOD, row_with(学号="", 姓名="曾国藩")]))
    _, again = parse(csv_bytes([row_with(手机="13900139000"), row_with(学号="", 姓名="曾国藩")]))
    assert [r.record.idempotency_key for r in first] == [r.record.idempotency_key for r in again]

    keys = set()
    for changes in [{}, {"毕业年份": "2017"}, {"院系": "机械学院"}, {"学号": "2012010199"}]:
        keys.add(parse(csv_bytes([row_with(**changes)]))[1][0].record.idempotency_key)
    assert len(keys) == 4
    for changes in [{}, {"出生日期": "1994-03-06"}, {"班级": "软件1202"}, {"姓名": "单雄"}]:
        keys.add(parse(csv_bytes([row_with(学号="", **changes)]))[1][0].record.idempotency_key)
    assert len(keys) == 8
    assert all(len(k) == 32 and "单" not in k for k in keys)


def test_every_accepted_row_of_a_sample_export_is_valid_registry_input():
    export = sample_import.generate(600, bad=30, duplicates=30, seed=5, encoding="gb18030")
    lookup = sample_import.department_lookup()
    registrar_file = open_import(
        export.encode("csv", "gb18030"), ImportOptions(lookup, today=TODAY)
    )
    schema = AlumnusInput()
    refused = {}
    for result in registrar_file:
        if result.accepted:
            assert schema.validate(result.record.alumnus_input()) == {}
            graduation = result.record.graduation_input()
            assert graduation["department_id"] in {d["id"] for d in sample_import.departments()}
        else:
            refused[result.row_number] = [(p.field, p.reason) for p in result.errors]
    assert refused == {row: [defect] for row, defect in export.bad.items()}
    assert registrar_file.progress.accepted == 570


def test_a_sample_export_reads_the_same_as_xlsx():
    export = sample_import.generate(200, bad=10, duplicates=10, seed=9)
    lookup = sample_import.department_lookup()
    from_csv = list(open_import(export.encode("csv", "gbk"), ImportOptions(lookup, today=TODAY)))
    from_xlsx = list(open_import(export.encode("xlsx"), ImportOptions(lookup, today=TODAY)))
    assert [(r.row_number, r.record) for r in from_csv] == [
        (r.row_number, r.record) for r in from_xlsx
    ]


def test_the_graduation_carries_the_student_number_for_phase_2():
    _, results = parse(csv_bytes([GOOD]))
    record = results[0].record
    assert record.graduation_input() == {
        "department_id": CS,
        "major": "软件工程",
        "degree": "bachelor",
        "class_year": 2016,
        "class_name": "软件1201",
        "student_number": "2012010101",
    }
    assert "student_number" not in record.alumnus_input()["graduations"][0]
    assert "wechat" not in record.alumnus_input(), "a blank cell is left out, never null"


# ---- the report ----------------------------------------------------------------------


def test_the_report_opens_in_excel_and_can_be_fixed_and_imported_again():
    rows = [
        GOOD,
        row_with(学号="2", 手机='=HYPERLINK("x")'),
        row_with(学号="3", 出生日期="1994-03"),
    ]
    registrar_file, results = parse(csv_bytes(rows))
    out = io.BytesIO()

    written = write_report(results, registrar_file.mapping.headers, out)

    data = out.getvalue()
    assert written == 2
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0][:4] == ["行号", "结果", "问题说明", "学号"]
    assert [line[:2] for line in lines[1:]] == [["3", "未导入"], ["4", "已导入（有提示）"]]
    assert "手机：" in lines[1][2]
    assert lines[1][3 + HEADER.index("手机")] == '\'=HYPERLINK("x")'

    fixed = data.replace('\'=HYPERLINK("x")'.replace('"', '""').encode(), b"13900139000")
    _, again = parse(fixed)
    assert [r.accepted for r in again] == [True, True]
    assert again[0].record.phone == "13900139000"


def test_the_report_can_list_every_row():
    registrar_file, results = parse(csv_bytes([GOOD]))
    out = io.BytesIO()
    assert write_report(results, registrar_file.mapping.headers, out, include_accepted=True) == 1
    assert "已导入" in out.getvalue().decode("utf-8-sig")
