"""Rendering and checking message templates: Jinja2, sandboxed, strict about names.

Templates are written by the office, so they run in Jinja's sandbox (no reach into Python
internals) with `StrictUndefined` (a misspelt variable is an error when the template is
saved, not an empty gap in ten thousand letters). HTML is autoescaped: a name or a
suggestion's text containing `<` arrives as text, never as markup. Plain-text parts (the
text part of a mail, inbox messages, SMS parameters) are rendered without escaping, since
they are not HTML; nothing in them is interpreted by a browser.

Compiled templates are kept per source text, so a newsletter to 100,000 people compiles
its text once.

Standard library, Jinja2 and MarkupSafe only.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from services.common.errors import ValidationFailed

EMAIL, SMS, INBOX = "email", "sms", "inbox"
CHANNELS = (EMAIL, SMS, INBOX)
SMS_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
SMS_PARAM_MAX_CHARS = 35  # what the Chinese providers allow in one template variable
OPT_OUT_LINE = "回T退订"

RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError)
"""What rendering a template that parses may raise with the data at hand."""

_html_env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_text_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@functools.lru_cache(maxsize=512)
def _compiled(source: str, as_html: bool):
    return (_html_env if as_html else _text_env).from_string(source)


def render(source: str, context: dict[str, Any], as_html: bool = False) -> str:
    return _compiled(source, as_html).render(context)


@dataclass(frozen=True)
class Content:
    """What a template version says, whatever the channel (see models.TemplateVersion)."""

    subject: str | None
    body: str
    text_body: str | None = None
    sms_code: str | None = None
    sms_params: dict[str, str] | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class RenderedSms:
    code: str
    params: dict[str, str]
    text: str  # the registered text with the parameters filled in, for the log and previews


def render_email(content: Content, context: dict[str, Any]) -> RenderedEmail:
    subject = " ".join(render(content.subject or "", context).split())
    body = render(content.body, context, as_html=True)
    text = render(content.text_body, context) if content.text_body else html_to_text(body)
    return RenderedEmail(subject, body, text)


def render_inbox(content: Content, context: dict[str, Any]) -> tuple[str, str]:
    title = " ".join(render(content.subject or "", context).split())
    return title[:200], render(content.body, context).strip()


def render_sms(content: Content, context: dict[str, Any]) -> RenderedSms:
    params = {}
    for name, source in (content.sms_params or {}).items():
        value = " ".join(render(source, context).split())
        # Providers refuse longer variables; a shortened one still reads.
        if len(value) > SMS_PARAM_MAX_CHARS:
            value = value[: SMS_PARAM_MAX_CHARS - 1] + "…"
        params[name] = value
    text = SMS_PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), content.body)
    return RenderedSms(content.sms_code or "", params, text)


def render_any(channel: str, content: Content, context: dict[str, Any]) -> dict[str, Any]:
    """A rendering as JSON, for previews and the delivery log."""
    if channel == EMAIL:
        mail = render_email(content, context)
        return {"subject": mail.subject, "html": mail.html, "text": mail.text}
    if channel == INBOX:
        title, body = render_inbox(content, context)
        return {"subject": title, "text": body}
    sms = render_sms(content, context)
    return {"sms_code": sms.code, "sms_params": sms.params, "text": sms.text}


def check(channel: str, purpose: str, content: Content, sample: dict[str, Any]) -> dict[str, Any]:
    """The rendering of `content` with `sample`; ValidationFailed naming the field and the
    reason when it does not parse, does not render, or breaks the channel's rules."""
    fields = {"subject": content.subject, "body": content.body, "text_body": content.text_body}
    fields.update({f"sms_params.{k}": v for k, v in (content.sms_params or {}).items()})
    for field, source in fields.items():
        if source is None:
            continue
        try:
            _compiled(source, field == "body" and channel == EMAIL)
        except TemplateSyntaxError as error:
            raise _refused(
                field, f"模板语法错误（第 {error.lineno} 行）：{error.message}", "template_syntax"
            ) from None
    if channel == SMS:
        _check_sms(purpose, content)
    elif not (content.subject or "").strip():
        raise _refused("subject", "标题不能为空。", "template_incomplete")
    try:
        return render_any(channel, content, sample)
    except RENDER_ERRORS as error:
        raise _refused("body", f"模板无法用示例数据渲染：{error}", "template_render") from None


def _check_sms(purpose: str, content: Content) -> None:
    if not content.sms_code:
        raise _refused("sms_code", "短信须填写服务商备案的模板编号。", "template_incomplete")
    placeholders = set(SMS_PLACEHOLDER.findall(content.body))
    params = set(content.sms_params or {})
    if placeholders != params:
        raise _refused(
            "sms_params",
            "短信参数须与备案模板中的变量一一对应。",
            "sms_params_mismatch",
            missing=sorted(placeholders - params),
            unknown=sorted(params - placeholders),
        )
    if purpose == "marketing" and not content.body.rstrip().endswith(OPT_OUT_LINE):
        raise _refused("body", f"营销短信须以“{OPT_OUT_LINE}”结尾。", "missing_opt_out")


def _refused(field: str, message: str, reason: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        "模板校验失败。", {"fields": {field: [message]}, **details}, reason=reason
    )


_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table|ul|ol|blockquote)\s*>|<br\s*/?>", re.I)
_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """A readable plain-text part from a mail's HTML: blocks on lines, links with their
    address, tags gone, entities decoded."""
    text = _LINK.sub(lambda m: f"{m.group(2)}（{m.group(1)}）", markup)
    text = re.sub(r"<li[^>]*>", "- ", text, flags=re.I)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
