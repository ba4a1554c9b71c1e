"""The export of everything held on an alumnus as a readable zh-CN HTML page (PIPL art. 45).

Plain HTML, escaped throughout, no script and no outside resource: a person can save it,
print it, or open it years later.
"""

from __future__ import annotations

import html
from typing import Any

SECTIONS = {
    "registry": "校友信息库",
    "events": "活动与联络",
    "donations": "捐赠",
    "notify": "通知",
}
PARTS = {
    "record": "个人档案",
    "history": "变更记录",
    "account": "登录账号",
    "erasure_requests": "删除申请",
    "roster": "活动名单中的联系信息",
    "registrations": "活动报名",
    "visits": "返校接待申请",
    "suggestions": "建议",
    "service_requests": "服务需求",
    "projects": "合作项目中的联系信息",
    "activity_reports": "活动通报中的记录",
    "alumni_copy": "捐赠系统中的姓名副本",
    "gifts": "捐赠记录",
    "receipts": "捐赠收据",
    "pledges": "认捐",
    "agreements": "捐赠协议",
    "payment_orders": "在线支付订单",
    "inkind_gifts": "实物捐赠",
    "namings": "冠名",
    "contact": "通讯录中的联系方式",
    "consents": "当前的通知同意情况",
    "consent_history": "同意记录的变更",
    "messages": "发送给您的消息",
    "inbox": "站内信",
}

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>个人信息副本 · 校友工作平台</title>
<style>
body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0}}
th,td{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}
th{{background:#f4f4f4;font-weight:normal}}
</style></head>
<body>
<h1>个人信息副本</h1>
<p>以下是校友工作平台各系统于 {generated_at}（UTC）保存的关于您的全部个人信息。
依据《个人信息保护法》第四十五条，您有权查阅、复制这些信息；如发现有误，可在“我的信息”中更正，
或提出删除申请。</p>
{body}
</body></html>"""


def render(export: dict[str, Any]) -> str:
    body = []
    for service, title in SECTIONS.items():
        parts = export.get(service) or {}
        body.append(f"<h2>{html.escape(title)}</h2>")
        for key, value in parts.items():
            body.append(f"<h3>{html.escape(PARTS.get(key, key))}</h3>")
            body.append(_value(value))
    return PAGE.format(generated_at=html.escape(export["generated_at"]), body="\n".join(body))


def _value(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "<p>（无）</p>"
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_value(v)}</td></tr>" for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return "".join(_value(item) for item in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return html.escape(str(value))
