"""Demo data: a few thousand realistic zh-CN alumni loaded into the running registry.

    make demo                                  # 3000 alumni
    python -m services.registry.demo --count 500 --seed 7

The records go through the registry's public RPC interface (`create_department`,
`list_departments`, `create_alumnus`) exactly as an import would, so they are
validated, get their change history and publish `alumnus_registered` events.
Departments that do not exist yet are created first.

`generate_alumni(count, departments, seed)` is pure (no I/O, deterministic for a
seed) and yields dicts that `AlumnusInput` accepts; the benchmark reuses it.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from faker import Faker

from services.common.caller import HEADER, SERVICE_ROLE, Caller, caller_key, sign
from services.common.contracts.base import CHINA_MOBILE

DEFAULT_COUNT = 3000
DEFAULT_SEED = 20180035
CONCURRENCY = 20
FIRST_CLASS_YEAR = 1985
LAST_CLASS_YEAR = 2024
RPC_TIMEOUT_SECONDS = 30
PROBE_TIMEOUT_SECONDS = 5

# The loader signs its calls as a service (history source `import`), with the caller key
# of the local setup (var/), for as long as a large load may take.
DEMO_CALLER = Caller("demo", "demo-import", SERVICE_ROLE, None)
DEMO_CALLER_TTL_SECONDS = 6 * 3600

# ---- the university's departments --------------------------------------------
# name, code, majors, industries their graduates tend to work in, typical job
# titles, well-known employers, and the suffix of a made-up company in the field.

DEPARTMENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "计算机科学与技术学院",
        "code": "CS",
        "short": "计科",
        "majors": ["计算机科学与技术", "软件工程", "网络工程", "数据科学与大数据技术", "人工智能"],
        "industries": ["信息传输、软件和信息技术服务业", "互联网", "金融业", "教育"],
        "titles": [
            "软件工程师",
            "高级开发工程师",
            "架构师",
            "测试工程师",
            "产品经理",
            "技术总监",
            "算法工程师",
            "运维工程师",
            "数据分析师",
            "信息中心主任",
        ],
        "employers": [
            "华为技术有限公司",
            "腾讯科技（深圳）有限公司",
            "阿里巴巴（中国）有限公司",
            "浪潮集团有限公司",
            "百度在线网络技术（北京）有限公司",
            "中国银行山东省分行",
            "海尔集团",
            "中国移动通信集团山东有限公司",
        ],
        "company_suffix": [
            "软件有限公司",
            "信息技术有限公司",
            "网络科技有限公司",
            "数据科技有限公司",
        ],
    },
    {
        "name": "机械工程学院",
        "code": "ME",
        "short": "机械",
        "majors": [
            "机械设计制造及其自动化",
            "车辆工程",
            "材料成型及控制工程",
            "工业设计",
            "机械电子工程",
        ],
        "industries": ["制造业", "汽车制造业", "装备制造", "能源"],
        "titles": [
            "机械工程师",
            "工艺工程师",
            "生产经理",
            "质量工程师",
            "设备主管",
            "研发工程师",
            "总工程师",
            "项目经理",
        ],
        "employers": [
            "中国重型汽车集团有限公司",
            "潍柴动力股份有限公司",
            "山推工程机械股份有限公司",
            "三一重工股份有限公司",
            "徐工集团工程机械股份有限公司",
            "中国中车青岛四方机车车辆股份有限公司",
        ],
        "company_suffix": [
            "机械制造有限公司",
            "智能装备股份有限公司",
            "精密机械有限公司",
            "汽车零部件有限公司",
        ],
    },
    {
        "name": "电气与电子工程学院",
        "code": "EE",
        "short": "电气",
        "majors": ["电气工程及其自动化", "电子信息工程", "通信工程", "自动化", "微电子科学与工程"],
        "industries": [
            "电力、热力、燃气及水生产和供应业",
            "制造业",
            "信息传输、软件和信息技术服务业",
        ],
        "titles": [
            "电气工程师",
            "硬件工程师",
            "嵌入式工程师",
            "调度员",
            "变电运维工程师",
            "项目经理",
            "技术主管",
            "通信工程师",
        ],
        "employers": [
            "国网山东省电力公司",
            "南方电网广东电网有限责任公司",
            "中兴通讯股份有限公司",
            "海信集团控股股份有限公司",
            "中国电信股份有限公司济南分公司",
            "山东电力建设第三工程有限公司",
        ],
        "company_suffix": [
            "电气有限公司",
            "电子科技有限公司",
            "自动化设备有限公司",
            "通信技术有限公司",
        ],
    },
    {
        "name": "经济与管理学院",
        "code": "EM",
        "short": "经管",
        "majors": ["会计学", "金融学", "国际经济与贸易", "工商管理", "市场营销", "财务管理"],
        "industries": ["金融业", "批发和零售业", "租赁和商务服务业", "公共管理"],
        "titles": [
            "会计",
            "财务经理",
            "审计师",
            "客户经理",
            "投资经理",
            "市场总监",
            "人力资源经理",
            "总经理",
            "科员",
            "风控专员",
        ],
        "employers": [
            "中国工商银行山东省分行",
            "中国建设银行济南分行",
            "齐鲁银行股份有限公司",
            "中信证券股份有限公司",
            "普华永道中天会计师事务所",
            "国家税务总局济南市税务局",
            "银座集团股份有限公司",
        ],
        "company_suffix": [
            "投资管理有限公司",
            "商贸有限公司",
            "企业管理咨询有限公司",
            "供应链管理有限公司",
        ],
    },
    {
        "name": "外国语学院",
        "code": "FL",
        "short": "外语",
        "majors": ["英语", "日语", "翻译", "商务英语", "朝鲜语"],
        "industries": ["教育", "批发和零售业", "文化、体育和娱乐业", "租赁和商务服务业"],
        "titles": [
            "英语教师",
            "翻译",
            "外贸业务员",
            "国际业务经理",
            "教研组长",
            "海外市场专员",
            "培训讲师",
        ],
        "employers": [
            "山东省实验中学",
            "济南外国语学校",
            "新东方教育科技集团有限公司",
            "山东省对外经济贸易合作厅",
            "中国国际航空股份有限公司",
        ],
        "company_suffix": [
            "国际贸易有限公司",
            "翻译服务有限公司",
            "教育科技有限公司",
            "文化传播有限公司",
        ],
    },
    {
        "name": "化学化工学院",
        "code": "CH",
        "short": "化工",
        "majors": ["化学工程与工艺", "应用化学", "制药工程", "环境工程", "高分子材料与工程"],
        "industries": ["化学原料和化学制品制造业", "医药制造业", "生态保护和环境治理业", "制造业"],
        "titles": [
            "工艺工程师",
            "研发员",
            "质检主管",
            "安全环保主管",
            "车间主任",
            "注册药师",
            "生产技术部经理",
            "环评工程师",
        ],
        "employers": [
            "万华化学集团股份有限公司",
            "鲁南制药集团股份有限公司",
            "齐鲁制药有限公司",
            "中国石化齐鲁石化公司",
            "山东省生态环境监测中心",
        ],
        "company_suffix": [
            "化工有限公司",
            "生物医药有限公司",
            "新材料股份有限公司",
            "环保科技有限公司",
        ],
    },
    {
        "name": "文学与新闻传播学院",
        "code": "LJ",
        "short": "文传",
        "majors": ["汉语言文学", "新闻学", "广告学", "网络与新媒体", "秘书学"],
        "industries": ["文化、体育和娱乐业", "教育", "公共管理", "信息传输、软件和信息技术服务业"],
        "titles": [
            "记者",
            "编辑",
            "语文教师",
            "新媒体运营",
            "文案策划",
            "办公室主任",
            "主任科员",
            "品牌经理",
        ],
        "employers": [
            "大众报业集团",
            "山东广播电视台",
            "济南日报报业集团",
            "山东师范大学附属中学",
            "字节跳动有限公司",
            "山东省人民政府办公厅",
        ],
        "company_suffix": [
            "文化传媒有限公司",
            "广告有限公司",
            "影视文化有限公司",
            "出版传媒有限公司",
        ],
    },
    {
        "name": "土木建筑学院",
        "code": "CE",
        "short": "土木",
        "majors": ["土木工程", "建筑学", "给排水科学与工程", "工程管理", "道路桥梁与渡河工程"],
        "industries": ["建筑业", "房地产业", "交通运输、仓储和邮政业", "公共管理"],
        "titles": [
            "结构工程师",
            "项目经理",
            "建筑设计师",
            "造价工程师",
            "施工员",
            "监理工程师",
            "总工程师",
            "规划科科长",
        ],
        "employers": [
            "中国建筑第八工程局有限公司",
            "中铁十局集团有限公司",
            "山东高速集团有限公司",
            "山东省建筑设计研究院有限公司",
            "济南城市建设集团有限公司",
            "万科企业股份有限公司",
        ],
        "company_suffix": [
            "建筑工程有限公司",
            "建设集团有限公司",
            "工程咨询有限公司",
            "规划设计有限公司",
        ],
    },
)
GENERIC_PROFILE: dict[str, Any] = {
    "short": "",
    "majors": ["综合"],
    "industries": ["制造业", "教育", "公共管理"],
    "titles": ["职员", "经理", "教师", "工程师"],
    "employers": [],
    "company_suffix": ["科技有限公司", "有限公司"],
}
PROFILES_BY_NAME = {d["name"]: d for d in DEPARTMENTS}
PROFILES_BY_CODE = {d["code"]: d for d in DEPARTMENTS}

# Real provinces and their cities; the school is in Shandong, so many alumni stay there.
CITIES: tuple[tuple[str, str, int], ...] = (
    ("山东省", "济南", 18),
    ("山东省", "青岛", 10),
    ("山东省", "济宁", 6),
    ("山东省", "烟台", 5),
    ("山东省", "潍坊", 5),
    ("山东省", "淄博", 4),
    ("山东省", "临沂", 4),
    ("山东省", "泰安", 3),
    ("山东省", "威海", 2),
    ("山东省", "菏泽", 2),
    ("山东省", "德州", 2),
    ("山东省", "聊城", 2),
    ("北京市", "北京", 8),
    ("上海市", "上海", 7),
    ("广东省", "深圳", 6),
    ("广东省", "广州", 4),
    ("浙江省", "杭州", 4),
    ("江苏省", "南京", 3),
    ("江苏省", "苏州", 3),
    ("天津市", "天津", 2),
    ("河北省", "石家庄", 1),
    ("河南省", "郑州", 2),
    ("湖北省", "武汉", 2),
    ("四川省", "成都", 2),
    ("陕西省", "西安", 2),
    ("辽宁省", "大连", 1),
    ("福建省", "厦门", 1),
    ("湖南省", "长沙", 1),
    ("重庆市", "重庆", 1),
    ("安徽省", "合肥", 1),
    ("江西省", "南昌", 1),
    ("云南省", "昆明", 1),
)
BRANDS = (
    "恒通",
    "鑫源",
    "华瑞",
    "盛达",
    "鲁信",
    "泰和",
    "齐力",
    "海川",
    "金桥",
    "众诚",
    "宏远",
    "博远",
    "锐新",
    "天元",
    "中科",
    "明德",
    "瑞丰",
    "嘉禾",
    "正阳",
    "永信",
    "同创",
    "九州",
    "东岳",
    "佳和",
    "新泉",
    "联创",
    "汇智",
    "弘毅",
    "德润",
    "信达",
)
TAGS = (
    "校友会理事",
    "志愿者",
    "创业者",
    "捐赠人",
    "校友导师",
    "海外校友",
    "校友信使",
    "返校聚会联系人",
    "行业专家",
    "企业家",
    "党员",
    "退役军人",
    "杰出校友候选",
    "讲堂嘉宾",
)
DEGREE_WEIGHTS = (("bachelor", 72), ("master", 16), ("associate", 7), ("doctor", 5))
GRADUATION_AGE = {"associate": 21, "bachelor": 22, "master": 25, "doctor": 28}
WECHAT_ALLOWED = re.compile(r"[^-_a-zA-Z0-9]")


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def profile_for(department: dict[str, Any]) -> dict[str, Any]:
    """The catalogue entry of a department, by name or code; a generic one if unknown."""
    return (
        PROFILES_BY_NAME.get(department.get("name"))
        or PROFILES_BY_CODE.get(department.get("code"))
        or GENERIC_PROFILE
    )


def _class_name(profile: dict[str, Any], major: str, degree: str, class_year: int, rng) -> str:
    if degree == "bachelor":
        # Chinese undergraduate classes are named by enrolment year: 软件工程1602班.
        return f"{major}{(class_year - 4) % 100:02d}{rng.randint(1, 4):02d}班"
    if degree == "associate":
        return f"{major}专科{(class_year - 3) % 100:02d}{rng.randint(1, 2):02d}班"
    label = "硕士" if degree == "master" else "博士"
    return f"{profile['short'] or major}{label}{class_year}届"


def _wechat(fake: Faker, rng: random.Random) -> str:
    handle = WECHAT_ALLOWED.sub("", fake.user_name()) or "alumni"
    if not handle[0].isalpha():
        handle = "wx" + handle
    handle = (handle + str(rng.randint(10, 9999)))[:20]
    while len(handle) < 6:
        handle += str(rng.randint(0, 9))
    return handle


def _phone(fake: Faker) -> str:
    while True:
        number = fake.phone_number()
        if CHINA_MOBILE.match(number):
            return number


def _graduations(
    department: dict[str, Any],
    departments: Sequence[dict[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    profile = profile_for(department)
    degree = _weighted(rng, DEGREE_WEIGHTS)
    years = range(FIRST_CLASS_YEAR, LAST_CLASS_YEAR + 1)
    # Intake grew over the decades: recent classes are larger.
    class_year = rng.choices(years, weights=[1 + (y - FIRST_CLASS_YEAR) for y in years])[0]
    first = {
        "department_id": str(department["id"]),
        "major": rng.choice(profile["majors"]),
        "degree": degree,
        "class_year": class_year,
    }
    first["class_name"] = _class_name(profile, first["major"], degree, class_year, rng)
    records = [first]
    # Some bachelors stayed for a master's, usually in the same school, sometimes in another.
    if degree == "bachelor" and class_year <= LAST_CLASS_YEAR - 3 and rng.random() < 0.15:
        other = department if rng.random() < 0.8 else rng.choice(list(departments))
        other_profile = profile_for(other)
        major = rng.choice(other_profile["majors"])
        year = class_year + 3
        records.append(
            {
                "department_id": str(other["id"]),
                "major": major,
                "degree": "master",
                "class_year": year,
                "class_name": _class_name(other_profile, major, "master", year, rng),
            }
        )
    return records


def generate_alumni(
    count: int, departments: Sequence[dict[str, Any]], seed: int = DEFAULT_SEED
) -> Iterator[dict[str, Any]]:
    """`count` alumni spread over `departments` (dicts with `id` and `name`/`code`).

    Each yielded dict is JSON-native and loads with `AlumnusInput`; the same seed
    and departments give the same records.
    """
    if not departments:
        raise ValueError("generate_alumni needs at least one department")
    departments = list(departments)
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    for _ in range(count):
        department = rng.choice(departments)
        profile = profile_for(department)
        graduations = _graduations(department, departments, rng)
        first = graduations[0]
        gender = _weighted(rng, (("male", 52), ("female", 47), ("unknown", 1)))
        given = fake.first_name_female() if gender == "female" else fake.first_name_male()
        birth_year = first["class_year"] - GRADUATION_AGE[first["degree"]] + rng.randint(-1, 1)
        province, city = _weighted(rng, [((p, c), w) for p, c, w in CITIES])
        if profile["employers"] and rng.random() < 0.35:
            employer = rng.choice(profile["employers"])
        else:
            employer = f"{city}{rng.choice(BRANDS)}{rng.choice(profile['company_suffix'])}"
        record: dict[str, Any] = {
            "name": fake.last_name() + given,
            "gender": gender,
            "birth_date": date(birth_year, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
            "phone": _phone(fake),
            "email": fake.email(),
            "province": province,
            "city": city,
            "employer": employer,
            "industry": rng.choice(profile["industries"]),
            "title": rng.choice(profile["titles"]),
            "tags": sorted(rng.sample(TAGS, k=_weighted(rng, ((0, 50), (1, 30), (2, 15), (3, 5))))),
            "graduations": graduations,
        }
        if rng.random() < 0.6:
            record["wechat"] = _wechat(fake, rng)
        yield record


# ---- loading into the running system -------------------------------------------


class RegistryNotRunning(Exception):
    pass


def ensure_departments(registry) -> list[dict[str, Any]]:
    """The catalogue's departments in the registry, creating the missing ones."""
    from services.common.errors import Conflict

    existing = registry.list_departments()
    by_name = {d["name"]: d for d in existing}
    by_code = {d["code"]: d for d in existing}
    result = []
    for entry in DEPARTMENTS:
        found = by_name.get(entry["name"]) or by_code.get(entry["code"])
        if found is None:
            try:
                found = registry.create_department({"name": entry["name"], "code": entry["code"]})
                print(f"  新建院系 {entry['name']}（{entry['code']}）", flush=True)
            except Conflict:
                # Created meanwhile by someone else: take theirs.
                found = next(
                    d
                    for d in registry.list_departments()
                    if d["name"] == entry["name"] or d["code"] == entry["code"]
                )
        result.append(found)
    return result


def _not_running_message(amqp_uri: str, reason: str) -> str:
    return (
        f"无法连接校友登记服务（registry）：{reason}\n"
        f"请先运行 make run 启动平台（消息代理：{_redact(amqp_uri)}），再执行 make demo。"
    )


def _redact(uri: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)


def probe_registry(amqp_uri: str) -> None:
    """Raise RegistryNotRunning with a Chinese explanation unless the registry answers."""
    from kombu.exceptions import OperationalError
    from nameko.exceptions import RpcTimeout, UnknownService
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=PROBE_TIMEOUT_SECONDS) as cluster:
            cluster.registry.health()
    except UnknownService:
        raise RegistryNotRunning(_not_running_message(amqp_uri, "服务从未启动。")) from None
    except RpcTimeout:
        raise RegistryNotRunning(
            _not_running_message(amqp_uri, f"{PROBE_TIMEOUT_SECONDS} 秒内没有应答。")
        ) from None
    except (OperationalError, OSError) as error:
        raise RegistryNotRunning(
            _not_running_message(amqp_uri, f"消息代理不可达（{error}）。")
        ) from None


def load(count: int, seed: int, concurrency: int, amqp_uri: str) -> int:
    """Create `count` alumni over RPC; returns the process exit code."""
    import eventlet
    from eventlet.queue import LightQueue
    from nameko.standalone.rpc import ClusterRpcProxy

    probe_registry(amqp_uri)
    rpc_config = {"AMQP_URI": amqp_uri}
    signed = {HEADER: sign(DEMO_CALLER, caller_key(), "registry", ttl=DEMO_CALLER_TTL_SECONDS)}
    print(f"连接到 registry（{_redact(amqp_uri)}），准备院系……", flush=True)
    with ClusterRpcProxy(rpc_config, timeout=RPC_TIMEOUT_SECONDS, context_data=signed) as cluster:
        departments = ensure_departments(cluster.registry)
    names = {d["id"]: d["name"] for d in departments}

    # A standalone proxy serves one green thread at a time, so each worker owns one.
    proxies: list[ClusterRpcProxy] = []
    idle: LightQueue = LightQueue()
    created: Counter = Counter()
    failures: list[str] = []
    done = 0
    started = time.monotonic()
    step = max(1, count // 10)

    def create(record: dict[str, Any]) -> None:
        nonlocal done
        cluster = idle.get()
        try:
            cluster.registry.create_alumnus(record)
            created[record["graduations"][0]["department_id"]] += 1
        except Exception as error:  # one bad record does not stop the import
            failures.append(f"{record['name']}: {type(error).__name__}: {error}")
        finally:
            idle.put(cluster)
            done += 1
            if done % step == 0 or done == count:
                elapsed = time.monotonic() - started
                print(
                    f"  {done * 100 // count:3d}%  {done}/{count}  "
                    f"{done / elapsed:7.1f} 条/秒  失败 {len(failures)}",
                    flush=True,
                )

    print(f"导入 {count} 名校友（并发 {concurrency}）……", flush=True)
    try:
        for _ in range(concurrency):
            proxy = ClusterRpcProxy(rpc_config, timeout=RPC_TIMEOUT_SECONDS, context_data=signed)
            proxies.append(proxy)
            idle.put(proxy.start())
        pool = eventlet.GreenPool(concurrency)
        for record in generate_alumni(count, departments, seed):
            pool.spawn_n(create, record)
        pool.waitall()
    finally:
        for proxy in proxies:
            proxy.stop()

    elapsed = time.monotonic() - started
    ok = sum(created.values())
    print(
        f"\n完成：成功 {ok} 名，失败 {len(failures)} 名，用时 {elapsed:.1f} 秒，"
        f"平均 {ok / elapsed:.1f} 条/秒。"
    )
    print("各院系新增校友（按第一学历）：")
    for department_id, n in created.most_common():
        print(f"  {names.get(department_id, department_id)}  {n}")
    if failures:
        print("失败示例：", file=sys.stderr)
        for line in failures[:5]:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="向运行中的平台导入演示校友数据 / load demo alumni into the running system."
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="校友人数（默认 3000）")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子（可复现）")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="并发 RPC 调用数")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count 至少为 1")

    import logging

    import eventlet

    # amqp warns about the returned probe message when the registry is not running.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    # nameko's standalone proxies and the green pool need green sockets.
    eventlet.monkey_patch()
    from services.common import config

    try:
        return load(args.count, args.seed, max(1, args.concurrency), config.operator_amqp_uri())
    except RegistryNotRunning as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n已中断。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
