"""A newsletter to a few thousand alumni whose notify process is SIGKILLed in the middle of
its fan-out and started again: nobody has two copies in the mailbox, nobody without consent
has any, every consenting recipient has one but at most the round the kill interrupted
(docs/notify.md, "Exactly once"), and the newsletter's progress adds up.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from services.common import config
from services.common.db import make_engine
from services.notify.models import Consent, Contact
from tests.support.mailbox import wait_for
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import token_pair

RECIPIENTS = 3000
# Messages a round sends at once: one per SMTP connection.
SMTP_CONNECTIONS = int(config.DEFAULTS["NOTIFY_SMTP_CONNECTIONS"])
SUBJECT = "学校发展近况（压力测试）"


@pytest.fixture(scope="module")
def system(fresh_system):
    """Notify killed, and a newsletter to everyone in its directory: a system of the
    module's own."""
    return fresh_system


def seed_directory(database_url: str) -> set[str]:
    """RECIPIENTS contacts, two in three of whom consented to newsletters by e-mail; the
    addresses of those."""
    now = datetime.now(UTC)
    contacts, consents, consenting = [], [], set()
    for number in range(RECIPIENTS):
        alumnus_id, email = str(uuid.uuid4()), f"crash{number:05d}@example.com"
        contacts.append(
            {
                "alumnus_id": alumnus_id,
                "name": f"校友{number}",
                "email": email,
                "locale": "zh-CN",
                "updated_at": now,
            }
        )
        if number % 3:
            consenting.add(email)
            consents.append(
                {
                    "alumnus_id": alumnus_id,
                    "channel": "email",
                    "purpose": "marketing",
                    "granted": True,
                    "source": "import",
                    "changed_at": now,
                }
            )
    engine = make_engine(database_url, pool_size=1)
    with sessionmaker(engine)() as session:
        session.execute(insert(Contact), contacts)
        session.execute(insert(Consent), consents)
        session.commit()
    engine.dispose()
    return consenting


def recipients_of(mailbox: Path) -> Counter:
    """How many copies of the newsletter each address got (headers read only)."""
    copies: Counter = Counter()
    for path in mailbox.glob("*.eml"):
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        fields = dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)
        if "=?utf-8?" in fields.get("Subject", "") and fields.get("Precedence") == "bulk":
            copies[fields["X-Sink-Rcpt-To"]] += 1
    return copies


def test_a_newsletter_killed_mid_fan_out_sends_nobody_twice_and_loses_at_most_one_round(system):
    system.stop("notify")
    consenting = seed_directory(system.database_urls["notify"])
    system.start("notify")
    system.wait_rpc_ready("notify")
    token = token_pair(system.base_url, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        "subject": SUBJECT,
        "body": "<p>{{ recipient.name }}：学校新建了图书馆。</p>",
        "segment": {},
    }
    created = requests.post(
        f"{system.base_url}/api/v1/newsletters", json=body, headers=auth, timeout=30
    )
    assert created.status_code == 201, created.text
    newsletter_id = created.json()["id"]
    sent = requests.post(
        f"{system.base_url}/api/v1/newsletters/{newsletter_id}/send",
        json={},
        headers=auth,
        timeout=30,
    )
    assert sent.status_code == 200, sent.text

    mailbox = system.var_dir / "mailbox"
    wait_for(
        lambda: sum(recipients_of(mailbox).values()) >= len(consenting) // 4, 120, "a quarter sent"
    )
    system.kill("notify")
    at_kill = sum(recipients_of(mailbox).values())
    assert at_kill < len(consenting), "killed too late to test anything"

    system.start("notify")

    def finished() -> dict | None:
        response = requests.get(
            f"{system.base_url}/api/v1/newsletters/{newsletter_id}", headers=auth, timeout=30
        )
        return (
            response.json()
            if response.status_code == 200 and response.json()["status"] == "sent"
            else None
        )

    newsletter = wait_for(finished, 240, "the newsletter finished after the restart")
    copies = recipients_of(mailbox)
    assert max(copies.values()) == 1, [a for a, n in copies.items() if n > 1][:5]
    assert set(copies) <= consenting, "nobody without consent"
    # The one window the design leaves (docs/notify.md, "Exactly once"): a kill between a
    # round's commit and the ends of its messages loses that round rather than sending it
    # twice. Every other consenting recipient has their one copy.
    lost = consenting - set(copies)
    assert len(lost) <= SMTP_CONNECTIONS, f"{len(lost)} lost, more than the round a kill cuts"
    progress = newsletter["progress"]
    assert progress["sent"] == len(consenting)
    assert progress["skipped_by_reason"] == {"no_consent": RECIPIENTS - len(consenting)}
    assert progress["queued"] == progress["failed"] == 0
