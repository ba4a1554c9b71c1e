"""Printable zh-CN documents: the donation receipt (捐赠收据) and the donation certificate
(捐赠证书), as PDF.

reportlab's built-in CID font STSong-Light (Adobe's Song typeface for simplified Chinese,
which every PDF reader carries) renders Chinese with no font file to ship. Documents are
built with `invariant=1`, so the same receipt renders to the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from services.donations.money import chinese_amount, yuan_text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def receipt_pdf(receipt: dict[str, Any], foundation: str) -> bytes:
    """A receipt (contract Receipt) on one A5 landscape page."""
    width, height = landscape(A5)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(width, height), invariant=1)
    page.setTitle(f"捐赠收据 {receipt['number']}")
    page.setAuthor(foundation)
    page.setFont(FONT, 20)
    page.drawCentredString(width / 2, height - 50, "捐 赠 收 据")
    page.setFont(FONT, 10)
    page.drawRightString(width - 40, height - 72, f"No. {receipt['number']}")
    page.drawString(40, height - 72, f"开具日期：{receipt['issued_on']}")
    lines = [
        ("捐赠人", receipt["name"]),
        ("捐赠项目", "、".join(receipt["fund_names"]) or "—"),
        ("金额（小写）", f"¥{yuan_text(receipt['amount_fen'])}"),
        ("金额（大写）", f"人民币{chinese_amount(receipt['amount_fen'])}"),
    ]
    if receipt.get("donor_id_number_masked"):
        lines.append(("身份证号码", receipt["donor_id_number_masked"]))
    if receipt.get("replaces"):
        lines.append(("备注", f"本收据替代已作废的收据 {receipt['replaces']}"))
    if receipt.get("ebill"):
        bill = receipt["ebill"]
        lines.append(
            (
                "财政电子票据",
                f"代码 {bill['code']}  号码 {bill['number']}  校验码 {bill['check_code']}",
            )
        )
    page.setFont(FONT, 12)
    y = height - 110
    for label, value in lines:
        page.drawString(60, y, f"{label}：")
        page.drawString(160, y, str(value))
        y -= 26
    page.setFont(FONT, 10)
    page.drawString(60, 60, "感谢您对学校教育事业的慷慨支持！")
    page.drawRightString(width - 60, 60, f"收款单位：{foundation}（盖章）")
    if receipt["status"] == "void":
        _void_stamp(page, width, height, receipt.get("void_reason"))
    page.showPage()
    page.save()
    return buffer.getvalue()


def certificate_pdf(receipt: dict[str, Any], foundation: str) -> bytes:
    """A donation certificate for a receipt at or above the certificate minimum."""
    width, height = landscape(A4)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(width, height), invariant=1)
    page.setTitle(f"捐赠证书 {receipt['number']}")
    page.setFont(FONT, 36)
    page.drawCentredString(width / 2, height - 120, "捐 赠 证 书")
    page.setFont(FONT, 18)
    page.drawCentredString(width / 2, height - 200, f"{receipt['name']}：")
    funds = "、".join(receipt["fund_names"]) or "学校教育发展"
    page.drawCentredString(
        width / 2,
        height - 250,
        f"承蒙惠赠人民币{chinese_amount(receipt['amount_fen'])}（¥{yuan_text(receipt['amount_fen'])}），",
    )
    page.drawCentredString(width / 2, height - 285, f"用于{funds}。特发此证，以志谢忱。")
    page.setFont(FONT, 14)
    page.drawRightString(width - 100, 120, foundation)
    page.drawRightString(width - 100, 95, receipt["issued_on"])
    page.setFont(FONT, 10)
    page.drawString(60, 60, f"收据编号：{receipt['number']}")
    page.showPage()
    page.save()
    return buffer.getvalue()


def _void_stamp(page: canvas.Canvas, width: float, height: float, reason: str | None) -> None:
    page.saveState()
    page.setFillColorRGB(0.8, 0.1, 0.1)
    page.setFont(FONT, 60)
    page.translate(width / 2, height / 2)
    page.rotate(20)
    page.drawCentredString(0, 0, "作 废")
    page.setFont(FONT, 12)
    page.drawCentredString(0, -30, reason or "")
    page.restoreState()
