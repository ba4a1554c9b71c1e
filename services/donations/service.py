"""The donations service's nameko entrypoints: thin wrappers over its domain modules.

Money writes (gifts, refunds, disbursements) take the caller's `Idempotency-Key`: the
key, a hash of the request and the answer are stored in the record's own transaction
(services/donations/idempotency.py). The payment provider and the e-bill platform are
reached through their adapters (services/donations/adapters/), never inside a database
transaction. Timers flag overdue pledge instalments and naming terms due for renewal
(`DONATIONS_SCAN_SECONDS`) and expire unpaid online orders
(`PAYMENT_EXPIRY_SCAN_SECONDS`). A local copy of the registry's alumni (names, departments,
class years) is kept from its events, for receipts, the honour roll and participation.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.common import config
from services.common.caller import Caller
from services.common.chinatime import CHINA_TZ, china_date
from services.common.columns import utcnow
from services.common.contracts import donations as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.dependencies import Adapter, Database
from services.common.entrypoints import HealthMixin, configured_timer, consumes, rpc
from services.common.errors import BadRequest, Conflict, ServiceUnavailable
from services.common.rpc import TimedRpcProxy
from services.common.visibility import require_self_or_service
from services.donations import (
    agreements,
    donors,
    funds,
    gifts,
    idempotency,
    inkind,
    ledger,
    merges,
    naming,
    payments,
    person,
    pledges,
    receipts,
    reports,
)
from services.donations.adapters.ebill import EBillUnavailable, HttpEBillPlatform
from services.donations.adapters.payment import (
    BadNotification,
    HttpPaymentProvider,
    ProviderOrder,
    ProviderUnavailable,
)
from services.donations.documents import certificate_pdf, receipt_pdf
from services.donations.identity import IdNumberCipher
from services.donations.models import Base

log = logging.getLogger(__name__)

IDEMPOTENCY_ATTEMPTS = 3
PROVIDER_ACTOR = {
    "account_id": "payment-provider",
    "username": "online-payment",
    "role": "system",
    "department_id": None,
}


@dataclass(frozen=True)
class Rules:
    """The foundation's rules and secrets, read once per container from configuration."""

    foundation: str
    agreement_threshold_fen: int
    receipt_rules: receipts.ReceiptRules
    order_ttl_seconds: int
    notify_url: str
    cipher: IdNumberCipher


def load_rules(settings: Mapping[str, Any]) -> Rules:
    return Rules(
        foundation=config.get("FOUNDATION_NAME", settings) or "",
        agreement_threshold_fen=config.get_int("DONATION_AGREEMENT_THRESHOLD_FEN", settings),
        receipt_rules=receipts.ReceiptRules(
            config.get_int("DONATION_CERTIFICATE_MIN_FEN", settings)
        ),
        order_ttl_seconds=config.get_int("PAYMENT_ORDER_TTL_SECONDS", settings),
        notify_url=config.payment_notify_url(settings),
        cipher=IdNumberCipher.from_setting(config.secret("DONOR_ID_KEY", settings)),
    )


def payment_provider(settings: Mapping[str, Any]) -> HttpPaymentProvider:
    return HttpPaymentProvider(
        config.base_url(config.get("PAYMENT_PROVIDER_ADDRESS", settings) or ""),
        mchid=config.get("PAYMENT_MCHID", settings) or "",
        appid=config.get("PAYMENT_APPID", settings) or "",
        api_key=config.secret("PAYMENT_API_KEY", settings),
    )


def ebill_platform(settings: Mapping[str, Any]) -> HttpEBillPlatform:
    return HttpEBillPlatform(
        config.base_url(config.get("EBILL_PLATFORM_ADDRESS", settings) or ""),
        api_key=config.secret("EBILL_API_KEY", settings),
    )


class DonationsService(HealthMixin):
    name = "donations"

    db = Database(Base)
    registry = TimedRpcProxy("registry")
    rules = Adapter(load_rules)
    payment = Adapter(payment_provider)
    ebill = Adapter(ebill_platform)

    # ---- funds, campaigns, disbursements ----------------------------------------------

    @rpc(caller=True)
    def create_fund(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.FundInput, data)
        with self.db.transaction() as session:
            return funds.create_fund(session, payload)

    @rpc
    def get_fund(self, fund_id: str) -> dict[str, Any]:
        return funds.get_fund(self.db.session, fund_id)

    @rpc
    def list_funds(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return funds.list_funds(
            self.db.session, load_or_raise(contract.FundListQuery, params or {})
        )

    @rpc(caller=True)
    def close_fund(self, fund_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return funds.close_fund(session, fund_id, utcnow())

    @rpc(caller=True)
    def disburse(
        self,
        fund_id: str,
        data: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        caller: Caller,
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.DisbursementInput, data)
        who = caller.as_actor()
        today = china_date(utcnow())
        return self._money_write(
            f"disburse:{fund_id}",
            who,
            idempotency_key,
            data,
            lambda session: funds.disburse(session, fund_id, payload, who, today),
        )

    @rpc(caller=True)
    def create_campaign(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.CampaignInput, data)
        with self.db.transaction() as session:
            return funds.create_campaign(session, payload)

    @rpc
    def get_campaign(self, campaign_id: str) -> dict[str, Any]:
        return funds.get_campaign(self.db.session, campaign_id)

    @rpc
    def list_campaigns(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return funds.list_campaigns(self.db.session, load_or_raise(PageQuery, params or {}))

    # ---- gifts and refunds ----------------------------------------------------------------

    @rpc(caller=True)
    def record_gift(
        self, data: dict[str, Any], idempotency_key: str | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.GiftInput, data)
        ctx = self._recording(caller.as_actor())
        return self._money_write(
            "gift",
            ctx.actor,
            idempotency_key,
            data,
            lambda session: gifts.record_gift(session, payload, ctx),
        )

    @rpc(caller=True)
    def refund_gift(
        self,
        gift_id: str,
        data: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        caller: Caller,
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.RefundInput, data)
        ctx = self._recording(caller.as_actor())
        return self._money_write(
            f"refund:{gift_id}",
            ctx.actor,
            idempotency_key,
            data,
            lambda session: gifts.refund_gift(session, gift_id, payload, ctx),
        )

    @rpc(caller=True)
    def get_gift(self, gift_id: str) -> dict[str, Any]:
        return gifts.get_gift(self.db.session, gift_id)

    @rpc(caller=True)
    def list_gifts(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return gifts.list_gifts(self.db.session, load_or_raise(contract.GiftSearch, params or {}))

    # ---- receipts -----------------------------------------------------------------------

    @rpc(caller=True)
    def get_receipt(self, number: str) -> dict[str, Any]:
        session = self.db.session
        return receipts.to_dict(
            session, receipts.get_row(session, number), self.rules.receipt_rules
        )

    @rpc(caller=True)
    def receipt_pdf(self, number: str) -> dict[str, str]:
        receipt = self.get_receipt(number)
        return _pdf(f"receipt-{number}.pdf", receipt_pdf(receipt, self.rules.foundation))

    @rpc(caller=True)
    def certificate_pdf(self, number: str) -> dict[str, str]:
        receipt = self.get_receipt(number)
        if receipt["status"] != receipts.ISSUED:
            raise Conflict("收据已作废，不能出具证书。", {"number": number}, reason="receipt_void")
        if not receipt["certificate_eligible"]:
            raise Conflict(
                "捐赠金额未达到出具证书的最低额。",
                {"number": number, "minimum_fen": self.rules.receipt_rules.certificate_minimum_fen},
                reason="below_certificate_minimum",
            )
        return _pdf(f"certificate-{number}.pdf", certificate_pdf(receipt, self.rules.foundation))

    @rpc(caller=True)
    def void_receipt(self, number: str, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.ReceiptVoid, data)
        who = caller.as_actor()
        now = utcnow()
        with self.db.transaction() as session:
            receipt = receipts.void(
                session,
                number,
                payload["reason"],
                who["username"],
                now,
                reissue_on=china_date(now) if payload["reissue"] else None,
            )
            return receipts.to_dict(session, receipt, self.rules.receipt_rules)

    @rpc(caller=True)
    def issue_ebill(self, number: str) -> dict[str, Any]:
        """Ask the e-bill platform for the receipt's official e-bill and keep its fields; the
        platform is called outside any transaction, and answers the same bill again."""
        session = self.db.session
        receipt = receipts.get_row(session, number)
        if receipt.status != receipts.ISSUED:
            raise Conflict(
                "收据已作废，不能开具电子票据。", {"number": number}, reason="receipt_void"
            )
        if receipt.ebill_number is None:
            request = receipts.ebill_request(session, receipt, self.rules.cipher)
            session.rollback()
            try:
                bill = self.ebill.issue(request)
            except EBillUnavailable:
                raise ServiceUnavailable(
                    "财政电子票据平台暂不可用，请稍后重试。", reason="ebill_unavailable"
                ) from None
            with self.db.transaction() as session:
                receipt = receipts.record_ebill(session, number, bill.as_dict())
        return receipts.to_dict(session, receipt, self.rules.receipt_rules)

    # ---- agreements and pledges ---------------------------------------------------------

    @rpc(caller=True)
    def create_agreement(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.AgreementInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return agreements.create(session, payload, who, self._lookup)

    @rpc(caller=True)
    def get_agreement(self, agreement_id: str) -> dict[str, Any]:
        return agreements.get(self.db.session, agreement_id)

    @rpc(caller=True)
    def list_agreements(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return agreements.list_agreements(self.db.session, load_or_raise(PageQuery, params or {}))

    @rpc(caller=True)
    def create_pledge(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.PledgeInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return pledges.create_pledge(session, payload, who, self._lookup)

    @rpc(caller=True)
    def get_pledge(self, pledge_id: str) -> dict[str, Any]:
        return pledges.get_pledge(self.db.session, pledge_id)

    @rpc(caller=True)
    def list_pledges(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return pledges.list_pledges(
            self.db.session, load_or_raise(contract.PledgeSearch, params or {})
        )

    # ---- online giving ------------------------------------------------------------------

    @rpc(caller=True)
    def create_payment_order(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The order is written, then made at the provider, then given its QR code content;
        an order the provider never took is expired at once (503)."""
        payload = load_or_raise(contract.PaymentOrderInput, data)
        ctx = self._recording(caller.as_actor())
        with self.db.transaction() as session:
            order = payments.create_order(
                session, payload, ctx, self.payment.name, self.rules.order_ttl_seconds
            )
        try:
            code_url = self.payment.create_order(
                ProviderOrder(
                    out_trade_no=order["out_trade_no"],
                    description="校友捐赠",
                    amount_fen=order["amount_fen"],
                    currency=order["currency"],
                    notify_url=self.rules.notify_url,
                    expires_at=datetime.fromisoformat(order["expires_at"]).astimezone(CHINA_TZ),
                )
            )
        except ProviderUnavailable as error:
            log.warning("payment provider refused order %s: %s", order["out_trade_no"], error)
            with self.db.transaction() as session:
                payments.abandon(session, order["id"])
            raise ServiceUnavailable(
                "支付渠道暂不可用，请稍后重试。", reason="provider_unavailable"
            ) from None
        with self.db.transaction() as session:
            return payments.attach_code_url(session, order["id"], code_url)

    @rpc(caller=True)
    def get_payment_order(self, order_id: str) -> dict[str, Any]:
        return payments.get_order(self.db.session, order_id)

    @rpc
    def payment_notification(self, data: dict[str, Any]) -> dict[str, str]:
        """The provider's notification (headers and raw body): verified, then the gift
        recorded once; refusals are logged and answered with an error, so that the
        provider retries as it does for any answer but SUCCESS."""
        payload = load_or_raise(contract.PaymentNotification, data)
        try:
            notice = self.payment.verify_notification(payload["headers"], payload["body"].encode())
        except BadNotification as error:
            with self.db.transaction() as session:
                payments.log_notification(session, "bad_signature", str(error))
            raise BadRequest(
                "通知签名无效。", {"detail": str(error)}, reason="bad_signature"
            ) from None
        ctx = self._recording(PROVIDER_ACTOR)
        outcome = self._in_transaction(lambda session: payments.receive(session, notice, ctx))
        if outcome.refusal is not None:
            raise outcome.refusal
        return {"code": "SUCCESS", "message": "成功"}

    @rpc
    def expire_payment_orders(self) -> dict[str, int]:
        """The expiry timer's pass on demand (operators, tests)."""
        return self._expire_payment_orders()

    @configured_timer("PAYMENT_EXPIRY_SCAN_SECONDS")
    def expiry_timer(self) -> None:
        self._expire_payment_orders()

    def _expire_payment_orders(self) -> dict[str, int]:
        with self.db.transaction() as session:
            numbers = payments.expire_orders(session, utcnow())
        for number in numbers:
            try:
                self.payment.close_order(number)
            except ProviderUnavailable as error:
                # Closing is a courtesy: a payment that still arrives is recorded anyway.
                log.warning("could not close expired order %s: %s", number, error)
        return {"expired": len(numbers)}

    # ---- in-kind gifts and naming ---------------------------------------------------------

    @rpc(caller=True)
    def receive_inkind(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.InkindInput, data)
        who = caller.as_actor()
        now = utcnow()
        with self.db.transaction() as session:
            return inkind.receive(session, payload, who, china_date(now), now, self._lookup)

    @rpc(caller=True)
    def advance_inkind(
        self, inkind_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.InkindStepInput, data)
        who = caller.as_actor()
        now = utcnow()
        with self.db.transaction() as session:
            return inkind.advance(session, inkind_id, payload, who, china_date(now), now)

    @rpc(caller=True)
    def get_inkind(self, inkind_id: str) -> dict[str, Any]:
        return inkind.get(self.db.session, inkind_id)

    @rpc(caller=True)
    def list_inkind(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return inkind.list_inkind(
            self.db.session, load_or_raise(contract.InkindSearch, params or {})
        )

    @rpc(caller=True)
    def create_naming(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.NamingInput, data)
        with self.db.transaction() as session:
            return naming.create(session, payload)

    @rpc(caller=True)
    def reserve_naming(self, naming_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.NamingReservation, data)
        with self.db.transaction() as session:
            return naming.reserve(session, naming_id, payload, self._lookup)

    @rpc(caller=True)
    def complete_naming(self, naming_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.NamingGifts, data)
        today = china_date(utcnow())
        with self.db.transaction() as session:
            return naming.complete(session, naming_id, payload["gift_ids"], today)

    @rpc(caller=True)
    def renew_naming(self, naming_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.NamingGifts, data)
        with self.db.transaction() as session:
            return naming.renew(session, naming_id, payload["gift_ids"])

    @rpc(caller=True)
    def release_naming(self, naming_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return naming.release(session, naming_id)

    @rpc(caller=True)
    def get_naming(self, naming_id: str) -> dict[str, Any]:
        return naming.get(self.db.session, naming_id)

    @rpc(caller=True)
    def list_namings(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return naming.list_namings(
            self.db.session, load_or_raise(contract.NamingSearch, params or {})
        )

    # ---- scans ----------------------------------------------------------------------------

    @rpc
    def run_scans(self) -> dict[str, int]:
        """The daily scans on demand: overdue instalments, naming renewals and expiries."""
        return self._run_scans()

    @configured_timer("DONATIONS_SCAN_SECONDS")
    def scan_timer(self) -> None:
        self._run_scans()

    def _run_scans(self) -> dict[str, int]:
        now = utcnow()
        today = china_date(now)
        with self.db.transaction() as session:
            overdue = pledges.flag_overdue(session, today, now)
            namings = naming.flag_renewals_and_expire(session, today)
        return {"overdue_instalments": overdue, **namings}

    # ---- honour roll and reports ----------------------------------------------------------

    @rpc
    def honour_roll(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return reports.honour_roll(
            self.db.session, load_or_raise(contract.HonourRollQuery, params or {})
        )

    @rpc(caller=True)
    def participation(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return reports.participation(
            self.db.session, load_or_raise(contract.ParticipationQuery, params or {})
        )

    @rpc(caller=True)
    def disclosure_report(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.YearQuery, params)
        return reports.disclosure(self.db.session, query["year"])

    @rpc(caller=True)
    def disclosure_csv(self, params: dict[str, Any]) -> dict[str, str]:
        report = self.disclosure_report(params)
        return {
            "filename": f"disclosure-{report['year']}.csv",
            "csv": reports.disclosure_csv(report),
        }

    @rpc(caller=True)
    def reconciliation(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.ReconciliationQuery, params)
        return reports.reconciliation(self.db.session, query["date"])

    @rpc(caller=True)
    def trial_balance(self) -> dict[str, Any]:
        return ledger.trial_balance(self.db.session)

    # ---- the local copy of the registry -------------------------------------------------

    @consumes("registry", "alumnus_registered")
    def on_alumnus_registered(self, session: Session, event: dict[str, Any]) -> None:
        donors.upsert_alumnus(session, event["data"])

    @consumes("registry", "alumnus_updated")
    def on_alumnus_updated(self, session: Session, event: dict[str, Any]) -> None:
        donors.upsert_alumnus(session, event["data"]["alumnus"])

    @consumes("registry", "alumnus_erased")
    def on_alumnus_erased(self, session: Session, event: dict[str, Any]) -> None:
        data = event["data"]
        person.erase_alumnus(session, data["id"], datetime.fromisoformat(data["erased_at"]))

    @consumes("registry", "alumni_merged")
    def on_alumni_merged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_to_survivor(session, event["data"])

    @consumes("registry", "alumni_unmerged")
    def on_alumni_unmerged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_back(session, event["data"])

    @rpc(caller=True)
    def export_person(self, alumnus_id: str, *, caller: Caller) -> dict[str, Any]:
        """All this service holds on one alumnus (GET /api/v1/me/export)."""
        require_self_or_service(caller, str(alumnus_id))
        return person.export_person(self.db.session, str(alumnus_id))

    # ---- plumbing -------------------------------------------------------------------------

    def _lookup(self, alumnus_id: str) -> dict[str, Any]:
        return self.registry.get_alumnus(alumnus_id)

    def _recording(self, actor: dict[str, Any]) -> gifts.Recording:
        now = utcnow()
        return gifts.Recording(
            actor=actor,
            today=china_date(now),
            now=now,
            lookup=self._lookup,
            cipher=self.rules.cipher,
            agreement_threshold_fen=self.rules.agreement_threshold_fen,
        )

    def _in_transaction(self, operation: Callable[[Session], Any]) -> Any:
        with self.db.transaction() as session:
            return operation(session)

    def _money_write(
        self,
        scope: str,
        actor: dict[str, Any],
        key: str | None,
        request: dict[str, Any],
        operation: Callable[[Session], dict[str, Any]],
    ) -> dict[str, Any]:
        """`operation` in a transaction, once per Idempotency-Key: a request that lost the
        race for its key runs again and gets the winner's stored answer."""
        for _ in range(IDEMPOTENCY_ATTEMPTS):
            try:
                return self._in_transaction(
                    lambda session: idempotency.run(
                        session, scope, actor["account_id"], key, request, operation
                    )
                )
            except idempotency.KeyTaken:
                continue
        raise Conflict(
            "同一 Idempotency-Key 的请求正在处理，请稍后重试。",
            {"idempotency_key": key},
            reason="idempotency_in_progress",
        )


def _pdf(filename: str, content: bytes) -> dict[str, str]:
    return {"filename": filename, "pdf_base64": base64.b64encode(content).decode("ascii")}
