"""Notify routes: the inbox and preferences of the caller, templates, newsletters, the
delivery log, and the one-click unsubscribe link (no login)."""

from __future__ import annotations

import html
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.auth import Principal
from gateway.authz import notify as rules
from gateway.authz.base import ALL_ROLES, ALUMNUS, COMMITTEE, LIAISON, OFFICE, own_alumnus_id
from gateway.http import api
from services.common.contracts import notify as contract

INBOX = "/api/v1/me/notifications"
PREFERENCES = "/api/v1/me/notification-preferences"
TEMPLATE = "/api/v1/notification-templates/{template_id}"
NEWSLETTER = "/api/v1/newsletters/{newsletter_id}"
UNSUBSCRIBE = "/api/v1/unsubscribe"
CHANNEL_NAMES = {"email": "电子邮件", "sms": "短信", "inbox": "站内信"}
PURPOSE_NAMES = {"marketing": "学校发展近况等通报", "transactional": "事务通知"}

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>退订 · 校友工作平台</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:3em auto;line-height:1.6">
{body}</body></html>"""


def _page(body: str) -> Response:
    return Response(PAGE.format(body=body), content_type="text/html; charset=utf-8")


class Routes:
    notify: Any

    # ---- the caller's own inbox and preferences ------------------------------------------

    @api(
        "GET",
        INBOX,
        "My notifications (in-app inbox), newest first, with the unread count.",
        "notifications",
        ALL_ROLES,
        query=contract.InboxQuery,
        response=contract.InboxPage,
    )
    def my_notifications(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.notify.list_inbox(query)

    @api(
        "POST",
        INBOX + "/{notification_id}/read",
        "Mark one of my notifications read.",
        "notifications",
        ALL_ROLES,
        response=contract.InboxEntry,
    )
    def mark_notification_read(self, request: Request, principal: Principal, notification_id: str):
        return self.notify.mark_read(notification_id)

    @api(
        "POST",
        INBOX + "/read-all",
        "Mark all my notifications read.",
        "notifications",
        ALL_ROLES,
        response=contract.MarkedRead,
    )
    def mark_all_notifications_read(self, request: Request, principal: Principal):
        return self.notify.mark_all_read()

    @api(
        "GET",
        PREFERENCES,
        "My notification preferences: consent per channel and purpose.",
        "notifications",
        (ALUMNUS,),
        response=contract.Preferences,
    )
    def my_preferences(self, request: Request, principal: Principal):
        return self.notify.get_preferences(own_alumnus_id(principal))

    @api(
        "PATCH",
        PREFERENCES,
        "Change my notification preferences (and the language of my messages).",
        "notifications",
        (ALUMNUS,),
        body=contract.PreferencesInput,
        response=contract.Preferences,
    )
    def change_my_preferences(self, request: Request, principal: Principal, body: dict[str, Any]):
        alumnus_id = own_alumnus_id(principal)
        return self.notify.update_preferences(alumnus_id, body)

    @api(
        "GET",
        "/api/v1/alumni/{alumnus_id}/notification-preferences",
        "An alumnus's notification preferences, with where each answer came from.",
        "notifications",
        (OFFICE,),
        response=contract.Preferences,
    )
    def alumnus_preferences(self, request: Request, principal: Principal, alumnus_id: str):
        return self.notify.get_preferences(alumnus_id)

    @api(
        "PATCH",
        "/api/v1/alumni/{alumnus_id}/notification-preferences",
        "Record what an alumnus answered elsewhere (a paper form, a sign-up sheet).",
        "notifications",
        (OFFICE,),
        body=contract.ConsentRecord,
        response=contract.Preferences,
    )
    def record_consent(
        self, request: Request, principal: Principal, alumnus_id: str, body: dict[str, Any]
    ):
        return self.notify.update_preferences(alumnus_id, body)

    # ---- one-click unsubscribe (RFC 8058), no login ---------------------------------------

    @api(
        "GET",
        UNSUBSCRIBE,
        "The page of an unsubscribe link: what it withdraws, and a button to do it.",
        "notifications",
        None,
        query=contract.UnsubscribeQuery,
        content_type="text/html",
    )
    def unsubscribe_page(self, request: Request, query: dict[str, Any]) -> Response:
        what = self.notify.unsubscribe(query["token"], False)
        return _page(
            f"<h1>退订</h1><p>不再通过{self._what(what)}？</p>"
            f'<form method="post" action="{html.escape(request.full_path)}">'
            '<button type="submit">确认退订</button></form>'
        )

    @api(
        "POST",
        UNSUBSCRIBE,
        "Unsubscribe (the link's button, or a mail client's one-click POST, RFC 8058); "
        "the body is ignored. Again is harmless.",
        "notifications",
        None,
        query=contract.UnsubscribeQuery,
        content_type="text/html",
    )
    def unsubscribe(self, request: Request, query: dict[str, Any]) -> Response:
        what = self.notify.unsubscribe(query["token"], True)
        return _page(f"<h1>已退订</h1><p>今后不再通过{self._what(what)}。</p>")

    @staticmethod
    def _what(answer: dict[str, Any]) -> str:
        channel = CHANNEL_NAMES.get(answer["channel"], answer["channel"])
        purpose = PURPOSE_NAMES.get(answer["purpose"], answer["purpose"])
        return f"{html.escape(channel)}收到{html.escape(purpose)}"

    # ---- templates --------------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/notification-templates",
        "Message templates, the current version of each (kind × channel × locale).",
        "notification-templates",
        (OFFICE,),
        query=contract.TemplateSearch,
        response=contract.Template,
        many=True,
    )
    def list_templates(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.notify.list_templates(query)

    @api(
        "GET",
        TEMPLATE,
        "A template's current version and its history.",
        "notification-templates",
        (OFFICE,),
        response=contract.TemplateDetail,
    )
    def get_template(self, request: Request, principal: Principal, template_id: str):
        return self.notify.get_template(template_id)

    @api(
        "PUT",
        TEMPLATE,
        "Save a new version; refused (422, nothing stored) when it does not render.",
        "notification-templates",
        (OFFICE,),
        body=contract.TemplateInput,
        response=contract.TemplateDetail,
    )
    def save_template(
        self, request: Request, principal: Principal, template_id: str, body: dict[str, Any]
    ):
        return self.notify.save_template(template_id, body)

    @api(
        "POST",
        TEMPLATE + "/preview",
        "Render the template (or an unsaved draft) with sample data; sends nothing.",
        "notification-templates",
        (OFFICE,),
        body=contract.PreviewInput,
        body_optional=True,
        response=contract.Preview,
    )
    def preview_template(
        self, request: Request, principal: Principal, template_id: str, body: dict[str, Any]
    ):
        return self.notify.preview_template(template_id, body)

    # ---- newsletters --------------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/newsletters",
        "Newsletters, newest first; a liaison's department's only.",
        "newsletters",
        (OFFICE, COMMITTEE, LIAISON),
        query=contract.NewsletterSearch,
        response=contract.NewsletterSummary,
        many=True,
    )
    def list_newsletters(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.notify.list_newsletters(rules.scope_newsletters(principal, query))

    @api(
        "POST",
        "/api/v1/newsletters",
        "Compose a newsletter to a segment (a liaison: their department's alumni only).",
        "newsletters",
        (OFFICE, LIAISON),
        body=contract.NewsletterInput,
        response=contract.Newsletter,
        status=201,
    )
    def create_newsletter(self, request: Request, principal: Principal, body: dict[str, Any]):
        data = rules.newsletter_segment(principal, body)
        return self.notify.create_newsletter(data)

    @api(
        "GET",
        NEWSLETTER,
        "A newsletter with its progress (queued, sent, failed, skipped and why).",
        "newsletters",
        (OFFICE, COMMITTEE, LIAISON),
        response=contract.Newsletter,
    )
    def get_newsletter(self, request: Request, principal: Principal, newsletter_id: str):
        newsletter = self.notify.get_newsletter(newsletter_id)
        rules.check_newsletter(principal, newsletter)
        return newsletter

    @api(
        "POST",
        NEWSLETTER + "/send",
        "Send a newsletter now, or at `send_at`; once.",
        "newsletters",
        (OFFICE, LIAISON),
        body=contract.NewsletterSend,
        body_optional=True,
        response=contract.Newsletter,
    )
    def send_newsletter(
        self, request: Request, principal: Principal, newsletter_id: str, body: dict[str, Any]
    ):
        rules.check_newsletter(principal, self.notify.get_newsletter(newsletter_id))
        return self.notify.send_newsletter(newsletter_id, body)

    # ---- the delivery log -----------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/notifications",
        "The delivery log: every message with its recipient, channel, template version, "
        "status and attempts, newest first.",
        "notifications",
        (OFFICE,),
        query=contract.MessageSearch,
        response=contract.MessageLine,
        many=True,
    )
    def list_messages(self, request: Request, principal: Principal, query: dict[str, Any]):
        # The notify service masks addresses the caller may not see, and logs the rest.
        return self.notify.list_messages(query, "GET /api/v1/notifications")

    @api(
        "GET",
        "/api/v1/notifications/stats",
        "Messages by kind and channel and their status.",
        "notifications",
        (OFFICE,),
        query=contract.StatsQuery,
        response=contract.Stats,
    )
    def message_statistics(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.notify.statistics(query)
