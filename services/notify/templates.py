"""The templates the office edits: one per kind, channel and locale, each save a new
version (never edited), checked by rendering it with the kind's sample data before it is
stored. A message names the version it was rendered with.

SQLAlchemy only.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.notify.kinds import EN, KINDS, LOCALES, ZH, default_content
from services.notify.models import Template, TemplateVersion
from services.notify.templating import RENDER_ERRORS, Content, check, render_any

SYSTEM = "system"


def ensure_defaults(session: Session, now: datetime) -> int:
    """Create the first version of every template that does not exist yet; how many."""
    existing = set(session.execute(select(Template.kind, Template.channel, Template.locale)))
    created = 0
    for kind in KINDS.values():
        for channel in kind.channels:
            for locale in LOCALES:
                if (kind.name, channel, locale) in existing:
                    continue
                template = Template(
                    kind=kind.name, channel=channel, locale=locale, current_version=1
                )
                session.add(template)
                session.flush()
                session.add(
                    TemplateVersion(
                        template_id=template.id,
                        version=1,
                        created_by=SYSTEM,
                        created_at=now,
                        **default_content(kind.name, channel, locale),
                    )
                )
                created += 1
    session.flush()
    return created


def content_of(version: TemplateVersion) -> Content:
    return Content(
        subject=version.subject,
        body=version.body,
        text_body=version.text_body,
        sms_code=version.sms_code,
        sms_params=version.sms_params,
    )


@functools.lru_cache(maxsize=256)
def _cached_content(version_id: str, subject, body, text_body, sms_code, params) -> Content:
    return Content(subject, body, text_body, sms_code, dict(params) if params else None)


def content_by_version(session: Session, version_id: str) -> Content:
    """A version's content; versions never change, so a sender may keep it."""
    version = session.get(TemplateVersion, version_id)
    if version is None:
        raise NotFound("模板版本不存在。", {"version_id": version_id})
    params = tuple(sorted((version.sms_params or {}).items()))
    return _cached_content(
        version.id, version.subject, version.body, version.text_body, version.sms_code, params
    )


def current_version(session: Session, kind: str, channel: str, locale: str) -> TemplateVersion:
    """The version to send `kind` on `channel` with: in the recipient's locale, else zh-CN,
    else English."""
    for candidate in dict.fromkeys((locale, ZH, EN)):
        row = session.execute(
            select(TemplateVersion)
            .join(Template, Template.id == TemplateVersion.template_id)
            .where(
                Template.kind == kind,
                Template.channel == channel,
                Template.locale == candidate,
                TemplateVersion.version == Template.current_version,
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise NotFound("没有可用的模板。", {"kind": kind, "channel": channel}, reason="no_template")


def _template(session: Session, template_id: str) -> Template:
    template = session.get(Template, str(template_id))
    if template is None:
        raise NotFound("模板不存在。", {"template_id": str(template_id)})
    return template


def _version(session: Session, template: Template, number: int | None = None) -> TemplateVersion:
    return session.execute(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == (number or template.current_version),
        )
    ).scalar_one()


def template_to_dict(template: Template, version: TemplateVersion) -> dict[str, Any]:
    kind = KINDS[template.kind]
    return {
        "id": template.id,
        "kind": template.kind,
        "description": kind.description,
        "purpose": kind.purpose,
        "channel": template.channel,
        "locale": template.locale,
        "version": version.version,
        "version_id": version.id,
        "subject": version.subject,
        "body": version.body,
        "text_body": version.text_body,
        "sms_code": version.sms_code,
        "sms_params": version.sms_params,
        "created_by": version.created_by,
        "created_at": iso_utc(version.created_at),
    }


def list_templates(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = (
        select(Template, TemplateVersion)
        .join(TemplateVersion, TemplateVersion.template_id == Template.id)
        .where(TemplateVersion.version == Template.current_version)
        .order_by(Template.kind, Template.channel, Template.locale)
    )
    for name in ("kind", "channel", "locale"):
        if params.get(name):
            query = query.where(getattr(Template, name) == params[name])
    return {
        "items": [template_to_dict(t, v) for t, v in session.execute(query)],
        "next_cursor": None,
    }


def get_template(session: Session, template_id: str) -> dict[str, Any]:
    template = _template(session, template_id)
    versions = session.execute(
        select(TemplateVersion.version, TemplateVersion.created_by, TemplateVersion.created_at)
        .where(TemplateVersion.template_id == template.id)
        .order_by(TemplateVersion.version.desc())
    )
    return {
        **template_to_dict(template, _version(session, template)),
        "versions": [
            {"version": number, "created_by": who, "created_at": iso_utc(when)}
            for number, who, when in versions
        ],
    }


def _content_from(fields: dict[str, Any]) -> Content:
    return Content(
        subject=fields.get("subject"),
        body=fields["body"],
        text_body=fields.get("text_body"),
        sms_code=fields.get("sms_code"),
        sms_params=fields.get("sms_params"),
    )


def save_version(
    session: Session, template_id: str, fields: dict[str, Any], actor: str, now: datetime
) -> dict[str, Any]:
    """A new version from `fields`, refused (422, nothing stored) unless it renders."""
    template = _template(session, template_id)
    kind = KINDS[template.kind]
    content = _content_from(fields)
    check(template.channel, kind.purpose, content, kind.sample_context())
    number = (
        session.scalar(
            select(func.max(TemplateVersion.version)).where(
                TemplateVersion.template_id == template.id
            )
        )
        or 0
    ) + 1
    version = TemplateVersion(
        template_id=template.id,
        version=number,
        subject=content.subject,
        body=content.body,
        text_body=content.text_body,
        sms_code=content.sms_code,
        sms_params=content.sms_params,
        created_by=actor,
        created_at=now,
    )
    session.add(version)
    template.current_version = number
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("模板刚被他人修改，请刷新后重试。", reason="concurrent_edit") from None
    return get_template(session, template.id)


def preview(
    session: Session, template_id: str, draft: dict[str, Any] | None, sample: dict[str, Any] | None
) -> dict[str, Any]:
    """The template (or an unsaved `draft` of it) rendered with the kind's sample data, with
    `sample` merged over it; nothing is stored or sent."""
    template = _template(session, template_id)
    kind = KINDS[template.kind]
    content = _content_from(draft) if draft else content_of(_version(session, template))
    context = {**kind.sample_context(), **(sample or {})}
    check(template.channel, kind.purpose, content, kind.sample_context())
    try:
        rendered = render_any(template.channel, content, context)
    except RENDER_ERRORS as error:  # the caller's sample data; the template itself is sound
        raise ValidationFailed(
            "示例数据无法渲染该模板。",
            {"fields": {"sample": [str(error)]}},
            reason="template_render",
        ) from None
    return {"template_id": template.id, "channel": template.channel, **rendered}
