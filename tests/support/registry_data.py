"""A registry alumnus record as the registry returns it and its events carry it."""

from __future__ import annotations

import uuid
from typing import Any


def alumnus_snapshot(**overrides: Any) -> dict[str, Any]:
    """A complete, valid `Alumnus` (services/common/contracts/registry.py); fields overridable."""
    record: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "王小明",
        "gender": None,
        "birth_date": None,
        "phone": None,
        "email": None,
        "wechat": None,
        "province": None,
        "city": None,
        "employer": None,
        "industry": None,
        "title": None,
        "tags": [],
        "graduations": [
            {
                "department_id": str(uuid.uuid4()),
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": 2010,
                "class_name": None,
            }
        ],
        "created_at": "2024-01-01T00:00:00+00:00",
        "updated_at": "2024-01-01T00:00:00+00:00",
    }
    record.update(overrides)
    return record
