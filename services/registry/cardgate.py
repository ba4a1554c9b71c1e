"""A gate's or the library's card check, offline: `python -m services.registry.cardgate`.

    python -m services.registry.cardgate --public-key card-key.pem \\
        [--revocations revocations.json] TOKEN

The public key is what GET /api/v1/cards/public-key publishes (its `pem`, or the whole JWK
document saved as JSON); the revocation list is the last GET /api/v1/cards/revocations the
gate fetched (its signature is checked with the same key). Nothing is asked of the
platform: a gate keeps working while the network is down, with the list it has. Prints
the card's holder and privileges and exits 0 when the card is honoured; prints the reason
and exits 1 when it is not (2 for a key or list that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.registry.cards import CardTokenInvalid, verify_card_token, verify_revocation_list


def check(token: str, public_key_text: str, revocations_text: str | None = None) -> dict:
    """The card's claims, or CardTokenInvalid (a list whose signature fails included)."""
    document = json.loads(public_key_text) if public_key_text.lstrip().startswith("{") else None
    key = document.get("pem", document) if isinstance(document, dict) else public_key_text
    revoked: set[str] = set()
    if revocations_text is not None:
        revoked = verify_revocation_list(json.loads(revocations_text), key)
    return verify_card_token(token.strip(), key, revoked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="校友卡离线核验")
    parser.add_argument("--public-key", required=True, type=Path, help="公钥文件（PEM 或 JWK）")
    parser.add_argument("--revocations", type=Path, help="最近一次获取的注销名单（JSON）")
    parser.add_argument("token", help="二维码中的令牌")
    args = parser.parse_args(argv)
    try:
        public_key = args.public_key.read_text(encoding="utf-8")
        revocations = args.revocations.read_text(encoding="utf-8") if args.revocations else None
        card = check(args.token, public_key, revocations)
    except CardTokenInvalid as refusal:
        print(f"拒绝：{refusal.message}（{refusal.reason}）")
        return 2 if refusal.reason == "bad_list" else 1
    except (OSError, ValueError) as error:
        print(f"无法读取公钥或注销名单：{error}", file=sys.stderr)
        return 2
    privileges = "、".join(card["privileges"]) or "无"
    print(
        f"通过：{card['name']}（卡号 {card['card_id']}），"
        f"权益：{privileges}，有效期至 {card['expires_at']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
