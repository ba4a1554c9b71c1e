"""Money as integers of fen, and the ways people read it.

No float anywhere: amounts are `int` fen from the wire to the database and back, and
the texts printed on receipts and reports are made from them with integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))
GROUP_UNITS = ("", "万", "亿", "万亿")


def yuan_text(fen: int) -> str:
    """`1000000` → `10,000.00` (yuan with thousands separators, two decimals)."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{rest:02d}"


def yuan_plain(fen: int) -> str:
    """`1000000` → `10000.00`: for CSV cells that spreadsheets read as numbers."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{rest:02d}"


def chinese_amount(fen: int) -> str:
    """The amount in Chinese capitals as receipts write it (大写): 1000000 → 壹万元整,
    1000550 → 壹万零伍元伍角整, 5 → 伍分."""
    if fen < 0:
        raise ValueError("amounts in capitals are never negative")
    if fen == 0:
        return "零元整"
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    text = _integer_capitals(yuan) + "元" if yuan else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    if cents:
        text += ("零" if yuan and not jiao else "") + DIGITS[cents] + "分"
    else:
        text += "整"
    return text


def _integer_capitals(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10_000)
        groups.append(group)
    if len(groups) > len(GROUP_UNITS):
        raise ValueError("amount too large to write in capitals")
    text, zero_pending = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            zero_pending = bool(text)
            continue
        if text and group < 1000:
            zero_pending = True
        if zero_pending:
            text += "零"
            zero_pending = False
        text += _group_capitals(group) + GROUP_UNITS[index]
    return text


def _group_capitals(group: int) -> str:
    text, zero_pending, started = "", False, False
    for place, unit in PLACES:
        digit = group // place % 10
        if digit == 0:
            zero_pending = started
            continue
        if zero_pending:
            text += "零"
            zero_pending = False
        text += DIGITS[digit] + unit
        started = True
    return text


def split_proportionally(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` in integer shares proportional to `weights` (largest remainder first, ties
    to the earlier), each share at most its weight; `amount` ≤ sum(weights)."""
    total = sum(weights)
    if amount > total or amount < 0 or any(w < 0 for w in weights):
        raise ValueError("cannot split more than the weights hold")
    if total == 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    short = amount - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        shares[index] += 1
    return shares
