"""Money in fen at the edge and on paper, ID numbers, and the payment provider's signatures."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import time
from datetime import UTC, datetime

import pypdf
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from services.common.contracts import donations as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import ValidationFailed
from services.donations.adapters.payment import (
    BadNotification,
    InMemoryPaymentProvider,
    NotificationVerifier,
    ProviderOrder,
    ProviderUnavailable,
    signed_notification,
    transaction,
)
from services.donations.documents import certificate_pdf, receipt_pdf
from services.donations.identity import IdNumberCipher, mask_id_number
from services.donations.money import chinese_amount, split_proportionally, yuan_text
from tests.support.donations_data import BAD_CHECKSUM_ID_NUMBER, VALID_ID_NUMBER, gift_body

FUND = "7af56db0-347c-4173-9a4d-1610e39eb184"


# ---- amounts at the edge -------------------------------------------------------------------


@pytest.mark.parametrize("amount", [100.0, 99.5, "100", True, None, 0, -1, 10**12 + 1])
def test_amounts_must_be_positive_integers_of_fen(amount):
    body = gift_body(FUND, 100)
    body["amount_fen"] = amount
    with pytest.raises(ValidationFailed) as error:
        load_or_raise(contract.GiftInput, body)
    assert "amount_fen" in error.value.details["fields"]


def test_allocations_must_sum_to_the_amount_and_name_each_fund_once():
    body = gift_body(FUND, 100)
    body["allocations"] = [{"fund_id": FUND, "amount_fen": 60}, {"fund_id": FUND, "amount_fen": 40}]
    with pytest.raises(ValidationFailed) as twice:
        load_or_raise(contract.GiftInput, body)
    assert twice.value.details["fields"]["allocations"] == ["同一基金只能分配一次。"]
    body["allocations"] = [{"fund_id": FUND, "amount_fen": 99}]
    with pytest.raises(ValidationFailed) as short:
        load_or_raise(contract.GiftInput, body)
    assert "allocations" in short.value.details["fields"]


def test_only_cny_and_only_offline_channels_are_recorded_by_hand():
    for change in ({"currency": "USD"}, {"channel": "online"}):
        with pytest.raises(ValidationFailed):
            load_or_raise(contract.GiftInput, {**gift_body(FUND), **change})


# ---- ID numbers ---------------------------------------------------------------------------------


def test_id_numbers_need_a_valid_check_character_and_separate_consent():
    donor = {"type": "alumnus", "alumnus_id": FUND}
    body = gift_body(FUND, donor=donor, donor_id_number=VALID_ID_NUMBER)
    with pytest.raises(ValidationFailed) as no_consent:
        load_or_raise(contract.GiftInput, body)
    assert "id_number_consent" in no_consent.value.details["fields"]
    with pytest.raises(ValidationFailed) as bad:
        load_or_raise(
            contract.GiftInput,
            {**body, "donor_id_number": BAD_CHECKSUM_ID_NUMBER, "id_number_consent": True},
        )
    assert "donor_id_number" in bad.value.details["fields"]
    with pytest.raises(ValidationFailed) as organisation:
        load_or_raise(
            contract.GiftInput,
            {
                **body,
                "donor": {"type": "organisation", "name": "某公司"},
                "id_number_consent": True,
            },
        )
    assert "donor_id_number" in organisation.value.details["fields"]
    assert contract.id_number_is_valid("11010519491231002X")
    assert not contract.id_number_is_valid("1101051949123100")


def test_id_numbers_are_masked_and_sealed_under_the_key():
    assert mask_id_number("370802199001011234") == "3708**********1234"
    cipher = IdNumberCipher([secrets.token_urlsafe(32)])
    sealed = cipher.encrypt(VALID_ID_NUMBER, "gift-1")
    assert sealed.startswith(cipher.current_prefix()) and VALID_ID_NUMBER not in sealed
    assert sealed != cipher.encrypt(VALID_ID_NUMBER, "gift-1")  # a fresh nonce each time
    assert cipher.decrypt(sealed, "gift-1") == VALID_ID_NUMBER
    with pytest.raises(ValueError):
        IdNumberCipher([secrets.token_urlsafe(32)]).decrypt(sealed, "gift-1")
    setting = "a-long-random-secret-of-the-deployment-0123456789"
    sealed = IdNumberCipher.from_setting(setting).encrypt(VALID_ID_NUMBER, "gift-1")
    assert IdNumberCipher.from_setting(setting).decrypt(sealed, "gift-1") == VALID_ID_NUMBER
    with pytest.raises(ValueError):
        IdNumberCipher.from_setting("too-short")


def test_id_numbers_of_the_first_format_and_under_an_older_key_still_decrypt():
    old, new = "an-older-secret-of-the-deployment-0123456789", "a-newer-secret-0123456789abcdefghij"
    # The first format: "v1:" and AES-GCM under the SHA-256 of the secret.
    nonce = os.urandom(12)
    sealed = AESGCM(hashlib.sha256(old.encode()).digest()).encrypt(
        nonce, VALID_ID_NUMBER.encode(), b"gift-1"
    )
    legacy = "v1:" + base64.b64encode(nonce + sealed).decode()
    under_old = IdNumberCipher.from_setting(old).encrypt(VALID_ID_NUMBER, "gift-1")
    rotated = IdNumberCipher.from_setting(f"{new},{old}")

    assert rotated.decrypt(legacy, "gift-1") == VALID_ID_NUMBER
    assert rotated.decrypt(under_old, "gift-1") == VALID_ID_NUMBER
    assert rotated.encrypt(VALID_ID_NUMBER, "gift-1").startswith(rotated.current_prefix())
    with pytest.raises(ValueError):
        IdNumberCipher.from_setting(new).decrypt(legacy, "gift-1")


# ---- amounts on paper -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "capitals"),
    [
        (1_000_000, "壹万元整"),
        (1_000_550, "壹万零伍元伍角整"),
        (800_000, "捌仟元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (10_005, "壹佰元零伍分"),
        (100_050_000, "壹佰万零伍佰元整"),
        (1_000_000_000_00, "壹拾亿元整"),
        (123_456_789, "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ],
)
def test_amounts_in_chinese_capitals(fen, capitals):
    assert chinese_amount(fen) == capitals


def test_yuan_text_is_integer_arithmetic():
    assert yuan_text(1_000_000) == "10,000.00"
    assert yuan_text(5) == "0.05"
    assert yuan_text(-12_345) == "-123.45"


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8).flatmap(
        lambda weights: st.tuples(st.just(weights), st.integers(0, sum(weights)))
    )
)
def test_proportional_split_is_exact_and_within_each_weight(case):
    weights, amount = case
    shares = split_proportionally(amount, weights)
    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


def test_the_receipt_pdf_carries_its_chinese_text():
    receipt = {
        "number": "2026-000001",
        "name": "张伟",
        "fund_names": ["校友奖学金"],
        "amount_fen": 1_000_000,
        "issued_on": "2026-03-15",
        "status": "issued",
        "donor_id_number_masked": "1101**********002X",
        "replaces": None,
        "ebill": {"code": "11010126", "number": "0000000001", "check_code": "A1B2C3"},
    }
    text = _pdf_text(receipt_pdf(receipt, "校友教育发展基金会"))
    for expected in ("捐 赠 收 据", "2026-000001", "张伟", "¥10,000.00", "人民币壹万元整"):
        assert expected in text
    assert "1101**********002X" in text and "0000000001" in text
    assert "作 废" in _pdf_text(receipt_pdf({**receipt, "status": "void"}, "基金会"))
    assert "捐 赠 证 书" in _pdf_text(certificate_pdf(receipt, "校友教育发展基金会"))


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


# ---- the payment provider's notifications --------------------------------------------------------


def test_a_notification_is_verified_by_signature_freshness_and_key():
    paid = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    headers, body = signed_notification("merchant-key", transaction("DN123456", 5_000, paid))
    notice = NotificationVerifier("merchant-key").verify(headers, body)
    assert (notice.out_trade_no, notice.amount_fen, notice.trade_state) == (
        "DN123456",
        5_000,
        "SUCCESS",
    )
    assert notice.success_time == paid

    with pytest.raises(BadNotification):
        NotificationVerifier("another-key").verify(headers, body)
    tampered = body.replace(b'"summary"', b'"Summary"')
    with pytest.raises(BadNotification):
        NotificationVerifier("merchant-key").verify(headers, tampered)
    with pytest.raises(BadNotification):
        NotificationVerifier("merchant-key").verify(headers, body, now=time.time() + 301)
    with pytest.raises(BadNotification):
        NotificationVerifier("merchant-key").verify({}, body)


def test_a_float_amount_in_a_notification_is_not_taken():
    record = transaction("DN123456", 5_000, datetime.now(UTC))
    record["amount"]["total"] = 50.0
    headers, body = signed_notification("merchant-key", record)
    with pytest.raises(BadNotification):
        NotificationVerifier("merchant-key").verify(headers, body)


def test_the_fake_provider_records_orders_and_can_fail():
    provider = InMemoryPaymentProvider()
    order = ProviderOrder(
        "DN123456", "校友捐赠", 5_000, "CNY", "http://x/notify", datetime.now(UTC)
    )
    assert provider.create_order(order).startswith("weixin://")
    assert provider.orders["DN123456"] == order
    provider.fail = True
    with pytest.raises(ProviderUnavailable):
        provider.close_order("DN123456")
    assert json.loads(provider.notify("DN1", 1, datetime.now(UTC))[1])["resource"]["algorithm"]
