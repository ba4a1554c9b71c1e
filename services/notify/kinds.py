"""What the service sends: every message kind, its purpose, channels and sample data, and
the texts it starts with (zh-CN and English) before the office edits them.

A kind's `sample` is the context its templates are rendered with in a preview and when a
template is saved: it has exactly the names that the real context (built in
services/notify/triggers.py) has, which a unit test keeps true.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.notify.templating import EMAIL, INBOX, SMS

TRANSACTIONAL, MARKETING = "transactional", "marketing"
PURPOSES = (TRANSACTIONAL, MARKETING)
ZH, EN = "zh-CN", "en"
LOCALES = (ZH, EN)

RECIPIENT = {"name": "张伟"}
EVENT = {"title": "2026 届校友返校日", "venue": "校友会堂", "starts_at_text": "2026年10月1日 14:00"}


@dataclass(frozen=True)
class Kind:
    name: str
    purpose: str
    channels: tuple[str, ...]
    description: str
    sample: dict[str, Any] = field(default_factory=dict)

    def sample_context(self) -> dict[str, Any]:
        return {
            "recipient": RECIPIENT,
            "preferences_url": "https://alumni.example.edu.cn/api/v1/me/notification-preferences",
            "unsubscribe_url": "https://alumni.example.edu.cn/api/v1/unsubscribe?token=…",
            **self.sample,
        }


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("welcome", TRANSACTIONAL, (EMAIL, INBOX), "新校友登记后的欢迎信"),
        Kind(
            "registration_confirmed",
            TRANSACTIONAL,
            (EMAIL, SMS, INBOX),
            "活动报名成功",
            {"event": EVENT, "registration": {"guests": 1, "position": None}},
        ),
        Kind(
            "registration_waitlisted",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "活动报名进入候补",
            {"event": EVENT, "registration": {"guests": 0, "position": 3}},
        ),
        Kind(
            "registration_promoted",
            TRANSACTIONAL,
            (EMAIL, SMS, INBOX),
            "候补转为报名成功",
            {"event": EVENT, "registration": {"guests": 0, "position": None}},
        ),
        Kind(
            "event_cancelled",
            TRANSACTIONAL,
            (EMAIL, SMS, INBOX),
            "活动取消",
            {"event": EVENT, "reason": "天气原因"},
        ),
        Kind(
            "event_reminder",
            TRANSACTIONAL,
            (EMAIL, SMS, INBOX),
            "活动前一天的提醒",
            {"event": EVENT},
        ),
        Kind(
            "visit_decided",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "返校接待申请的答复",
            {
                "visit": {"visit_date": "2026-10-01", "group_size": 20, "purpose": "参观校史馆"},
                "approved": True,
                "host": "王老师",
                "note": None,
            },
        ),
        Kind(
            "suggestion_answered",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "建议的答复",
            {"suggestion": {"subject": "多办讲座", "answer": "感谢建议，已列入明年计划。"}},
        ),
        Kind(
            "service_request_progressed",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "服务请求的进展",
            {
                "request": {
                    "company": "星辰科技有限公司",
                    "status": "resolved",
                    "status_text": "已办结",
                    "note": "已推荐三名实习生。",
                }
            },
        ),
        Kind(
            "task_overdue",
            TRANSACTIONAL,
            (INBOX,),
            "工作计划任务逾期（给负责人）",
            {
                "task": {"title": "走访校友企业", "due_date": "2026-06-30"},
                "plan": {"title": "2026 年度工作计划", "year": 2026},
            },
        ),
        Kind(
            "activity_reported",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "院系活动通报送达校友会办公室",
            {
                "event": EVENT,
                "report": {"summary": "活动顺利举行。", "attendance": 120, "filed_by": "liaison1"},
            },
        ),
        Kind(
            "gift_thanks",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "捐赠感谢信（附捐赠收据）",
            {
                "gift": {
                    "id": "3f1e0a52-9d1c-4c5e-8f7a-2b6c1d0e9a47",
                    "amount_text": "¥1,000.00",
                    "received_on": "2026-09-10",
                    "funds_text": "教育基金",
                },
                "receipt": {"number": "2026-000001"},
            },
        ),
        Kind(
            "pledge_reminder",
            TRANSACTIONAL,
            (EMAIL, SMS, INBOX),
            "认捐分期款提醒",
            {"instalment": {"due_on": "2026-09-30", "amount_text": "¥5,000.00"}},
        ),
        Kind(
            "naming_renewal",
            TRANSACTIONAL,
            (EMAIL, INBOX),
            "冠名/认养期满续期提醒",
            {"naming": {"title": "银杏树 12 号", "term_ends_on": "2026-12-31"}},
        ),
        Kind(
            "claim_code",
            TRANSACTIONAL,
            (EMAIL, SMS),
            "校友认证的一次性验证码（设置登录密码）",
            {"code": "123456", "ttl_minutes": 15},
        ),
        Kind(
            "newsletter_notice",
            MARKETING,
            (SMS, INBOX),
            "学校发展近况通报（短信与站内信提示）",
            {"newsletter": {"subject": "学校发展近况（2026 年秋）"}},
        ),
    )
}
NEWSLETTER = "newsletter"
"""The kind of a newsletter's own e-mails, whose text is the newsletter's, not a template's."""
NEWSLETTER_SAMPLE = Kind(NEWSLETTER, MARKETING, (EMAIL,), "学校发展近况通报").sample_context()


# ---- the texts every template starts with ------------------------------------------------
# Per kind and locale: a subject, the lines of the body (a paragraph each in the mail, a
# line each in the inbox), and for SMS the provider's template code and registered text.

TEXTS: dict[str, dict[str, dict[str, Any]]] = {
    "welcome": {
        ZH: {
            "subject": "欢迎回家，{{ recipient.name }}校友",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "您的校友信息已登记在册。学校的活动、通知和发展近况，今后将按您选择的方式告诉您。",
                "修改联系方式或通知偏好，请登录校友平台。",
            ],
        },
        EN: {
            "subject": "Welcome home, {{ recipient.name }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "Your alumni record is now on file. We will keep you informed of events, "
                "notices and news of the university the way you choose.",
            ],
        },
    },
    "registration_confirmed": {
        ZH: {
            "subject": "报名成功：{{ event.title }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "您已成功报名“{{ event.title }}”。时间：{{ event.starts_at_text }}；地点：{{ event.venue }}。"
                "{% if registration.guests %}同行人数：{{ registration.guests }}。{% endif %}",
                "签到二维码可在校友平台“我的报名”中查看。",
            ],
            "sms": ("SMS_460001", "您已报名${title}，时间${time}，地点${venue}。"),
            "params": {
                "title": "{{ event.title }}",
                "time": "{{ event.starts_at_text }}",
                "venue": "{{ event.venue }}",
            },
        },
        EN: {
            "subject": "You are registered: {{ event.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "You are registered for {{ event.title }} at {{ event.venue }}, {{ event.starts_at_text }}.",
            ],
            "sms": ("SMS_460101", "You are registered for ${title}, ${time}, ${venue}."),
            "params": {
                "title": "{{ event.title }}",
                "time": "{{ event.starts_at_text }}",
                "venue": "{{ event.venue }}",
            },
        },
    },
    "registration_waitlisted": {
        ZH: {
            "subject": "已进入候补：{{ event.title }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "“{{ event.title }}”名额已满，您已进入候补，当前第 {{ registration.position }} 位。有名额空出时会第一时间通知您。",
            ],
        },
        EN: {
            "subject": "On the waiting list: {{ event.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "{{ event.title }} is full; you are number {{ registration.position }} on the waiting list.",
            ],
        },
    },
    "registration_promoted": {
        ZH: {
            "subject": "候补成功：{{ event.title }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "“{{ event.title }}”有名额空出，您已由候补转为报名成功。时间：{{ event.starts_at_text }}；地点：{{ event.venue }}。",
            ],
            "sms": ("SMS_460002", "您候补的${title}已转为报名成功，时间${time}。"),
            "params": {"title": "{{ event.title }}", "time": "{{ event.starts_at_text }}"},
        },
        EN: {
            "subject": "A place for you: {{ event.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "A place came free: you are now registered for {{ event.title }}, {{ event.starts_at_text }}.",
            ],
            "sms": ("SMS_460102", "A place came free: you are registered for ${title}, ${time}."),
            "params": {"title": "{{ event.title }}", "time": "{{ event.starts_at_text }}"},
        },
    },
    "event_cancelled": {
        ZH: {
            "subject": "活动取消：{{ event.title }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "很抱歉，原定于 {{ event.starts_at_text }} 举行的“{{ event.title }}”已取消。"
                "{% if reason %}原因：{{ reason }}。{% endif %}",
            ],
            "sms": ("SMS_460003", "很抱歉，原定${time}的${title}已取消。"),
            "params": {"title": "{{ event.title }}", "time": "{{ event.starts_at_text }}"},
        },
        EN: {
            "subject": "Cancelled: {{ event.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "We are sorry: {{ event.title }} ({{ event.starts_at_text }}) is cancelled."
                "{% if reason %} Reason: {{ reason }}.{% endif %}",
            ],
            "sms": ("SMS_460103", "We are sorry: ${title} (${time}) is cancelled."),
            "params": {"title": "{{ event.title }}", "time": "{{ event.starts_at_text }}"},
        },
    },
    "event_reminder": {
        ZH: {
            "subject": "明日活动提醒：{{ event.title }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "您报名的“{{ event.title }}”将于 {{ event.starts_at_text }} 在{{ event.venue }}举行，期待与您相见。",
            ],
            "sms": ("SMS_460004", "提醒：您报名的${title}将于${time}在${venue}举行。"),
            "params": {
                "title": "{{ event.title }}",
                "time": "{{ event.starts_at_text }}",
                "venue": "{{ event.venue }}",
            },
        },
        EN: {
            "subject": "Tomorrow: {{ event.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "A reminder: {{ event.title }} takes place {{ event.starts_at_text }} at {{ event.venue }}.",
            ],
            "sms": ("SMS_460104", "Reminder: ${title}, ${time}, ${venue}."),
            "params": {
                "title": "{{ event.title }}",
                "time": "{{ event.starts_at_text }}",
                "venue": "{{ event.venue }}",
            },
        },
    },
    "visit_decided": {
        ZH: {
            "subject": "返校接待申请{% if approved %}已批准{% else %}未获批准{% endif %}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "您于 {{ visit.visit_date }} 返校（{{ visit.group_size }} 人，{{ visit.purpose }}）的申请"
                "{% if approved %}已批准{% if host %}，接待人：{{ host }}{% endif %}。{% else %}未获批准。{% endif %}"
                "{% if note %}说明：{{ note }}{% endif %}",
            ],
        },
        EN: {
            "subject": "Your campus visit request was {% if approved %}approved{% else %}declined{% endif %}",
            "lines": [
                "Dear {{ recipient.name }},",
                "Your visit on {{ visit.visit_date }} ({{ visit.group_size }} people) was "
                "{% if approved %}approved{% else %}declined{% endif %}.{% if note %} {{ note }}{% endif %}",
            ],
        },
    },
    "suggestion_answered": {
        ZH: {
            "subject": "您的建议有了答复：{{ suggestion.subject }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "关于“{{ suggestion.subject }}”，答复如下：",
                "{{ suggestion.answer }}",
            ],
        },
        EN: {
            "subject": "A reply to your suggestion: {{ suggestion.subject }}",
            "lines": ["Dear {{ recipient.name }},", "{{ suggestion.answer }}"],
        },
    },
    "service_request_progressed": {
        ZH: {
            "subject": "您的服务请求{{ request.status_text }}",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "“{{ request.company }}”提交的服务请求{{ request.status_text }}。",
                "{% if request.note %}说明：{{ request.note }}{% endif %}",
            ],
        },
        EN: {
            "subject": "Your service request: {{ request.status }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "The service request of {{ request.company }} is now {{ request.status }}."
                "{% if request.note %} {{ request.note }}{% endif %}",
            ],
        },
    },
    "task_overdue": {
        ZH: {
            "subject": "任务逾期：{{ task.title }}",
            "lines": [
                "“{{ plan.title }}”中的任务“{{ task.title }}”已过截止日期（{{ task.due_date }}），请尽快落实。"
            ],
        },
        EN: {
            "subject": "Overdue: {{ task.title }}",
            "lines": [
                "The task {{ task.title }} of {{ plan.title }} was due on {{ task.due_date }}."
            ],
        },
    },
    "activity_reported": {
        ZH: {
            "subject": "活动通报：{{ event.title }}",
            "lines": [
                "{{ report.filed_by }} 提交了“{{ event.title }}”的活动通报，参加人数 {{ report.attendance }}。",
                "{{ report.summary }}",
            ],
        },
        EN: {
            "subject": "Activity report: {{ event.title }}",
            "lines": [
                "{{ report.filed_by }} reported on {{ event.title }} ({{ report.attendance }} attended).",
                "{{ report.summary }}",
            ],
        },
    },
    "gift_thanks": {
        ZH: {
            "subject": "感谢您的捐赠",
            "lines": [
                "尊敬的{{ recipient.name }}校友：",
                "您于 {{ gift.received_on }} 捐赠的 {{ gift.amount_text }}（{{ gift.funds_text }}）已经收到。感谢您对母校教育事业的支持！",
                "{% if receipt %}捐赠收据（编号 {{ receipt.number }}）见附件。{% endif %}",
            ],
        },
        EN: {
            "subject": "Thank you for your gift",
            "lines": [
                "Dear {{ recipient.name }},",
                "We received your gift of {{ gift.amount_text }} on {{ gift.received_on }}. Thank you!",
                "{% if receipt %}Your receipt ({{ receipt.number }}) is attached.{% endif %}",
            ],
        },
    },
    "pledge_reminder": {
        ZH: {
            "subject": "认捐分期款提醒",
            "lines": [
                "尊敬的{{ recipient.name }}校友：",
                "您认捐的分期款 {{ instalment.amount_text }} 应于 {{ instalment.due_on }} 到账，目前尚未收到。如已汇出，请忽略本提醒。",
            ],
            "sms": ("SMS_460005", "您认捐的分期款${amount}应于${due}到账，如已汇出请忽略。"),
            "params": {"amount": "{{ instalment.amount_text }}", "due": "{{ instalment.due_on }}"},
        },
        EN: {
            "subject": "Your pledge instalment",
            "lines": [
                "Dear {{ recipient.name }},",
                "Your pledge instalment of {{ instalment.amount_text }} was due on {{ instalment.due_on }}.",
            ],
            "sms": ("SMS_460105", "Your pledge instalment of ${amount} was due on ${due}."),
            "params": {"amount": "{{ instalment.amount_text }}", "due": "{{ instalment.due_on }}"},
        },
    },
    "naming_renewal": {
        ZH: {
            "subject": "冠名期满提醒：{{ naming.title }}",
            "lines": [
                "尊敬的{{ recipient.name }}校友：",
                "您冠名/认养的“{{ naming.title }}”将于 {{ naming.term_ends_on }} 期满。如需续期，请与校友会办公室联系。",
            ],
        },
        EN: {
            "subject": "Naming term ending: {{ naming.title }}",
            "lines": [
                "Dear {{ recipient.name }},",
                "The term of {{ naming.title }} ends on {{ naming.term_ends_on }}.",
            ],
        },
    },
    "claim_code": {
        ZH: {
            "subject": "校友认证验证码",
            "lines": [
                "{{ recipient.name }}校友，您好：",
                "您正在开通校友平台账号，验证码为 {{ code }}，{{ ttl_minutes }} 分钟内有效。",
                "如非本人操作，请忽略本邮件，并告知校友会办公室。",
            ],
            "sms": (
                "SMS_460007",
                "您的校友认证验证码为${code}，${minutes}分钟内有效，请勿告诉他人。",
            ),
            "params": {"code": "{{ code }}", "minutes": "{{ ttl_minutes }}"},
        },
        EN: {
            "subject": "Your alumni verification code",
            "lines": [
                "Dear {{ recipient.name }},",
                "Your code to open your alumni account is {{ code }}; it expires in "
                "{{ ttl_minutes }} minutes. If this was not you, please ignore this message.",
            ],
            "sms": ("SMS_460107", "Your alumni verification code is ${code} (${minutes} min)."),
            "params": {"code": "{{ code }}", "minutes": "{{ ttl_minutes }}"},
        },
    },
    "newsletter_notice": {
        ZH: {
            "subject": "{{ newsletter.subject }}",
            "lines": ["学校发展近况《{{ newsletter.subject }}》已发布，详见邮件或校友平台。"],
            "sms": ("SMS_460006", "学校发展近况《${subject}》已发布，详见邮件。回T退订"),
            "params": {"subject": "{{ newsletter.subject }}"},
        },
        EN: {
            "subject": "{{ newsletter.subject }}",
            "lines": ["News from the university: {{ newsletter.subject }}."],
            "sms": ("SMS_460106", "News from the university: ${subject}. 回T退订"),
            "params": {"subject": "{{ newsletter.subject }}"},
        },
    },
}


def default_content(kind: str, channel: str, locale: str) -> dict[str, Any]:
    """The first version of a template: the fields of a TemplateVersion."""
    text = TEXTS[kind][locale]
    lines = text["lines"]
    if channel == EMAIL:
        return {"subject": text["subject"], "body": "".join(f"<p>{line}</p>" for line in lines)}
    if channel == INBOX:
        return {"subject": text["subject"], "body": "\n".join(lines)}
    code, registered = text["sms"]
    return {"subject": None, "body": registered, "sms_code": code, "sms_params": text["params"]}
