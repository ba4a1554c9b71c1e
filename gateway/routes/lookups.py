"""Checks against the registry that routes of any service make: does the department or the
alumnus a body names exist (422 naming the field otherwise)."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import check_acts_for, unknown_alumnus
from services.common.errors import NotFound, ValidationFailed


class RegistryLookups:
    registry: Any

    def _known_department(self, department_id: Any, field: str) -> None:
        """A department named in a body exists (422 naming the field otherwise)."""
        if department_id is None:
            return
        try:
            self.registry.get_department(str(department_id))
        except NotFound:
            raise ValidationFailed(
                "请求数据校验失败。", {"fields": {field: ["院系不存在。"]}}
            ) from None

    def _known_chapter(self, chapter_id: Any, field: str) -> None:
        """A chapter named in a body exists (422 naming the field otherwise)."""
        try:
            self.registry.get_chapter(str(chapter_id))
        except NotFound:
            raise ValidationFailed(
                "请求数据校验失败。", {"fields": {field: ["分会不存在。"]}}
            ) from None

    def _known_alumnus(self, principal: Principal, alumnus_id: str, field: str) -> None:
        """An alumnus staff name exists, and is one the caller may act for (a liaison: their
        own department's, gateway/authz/base.py `check_acts_for`); 422 naming the field
        otherwise."""
        try:
            alumnus = self.registry.get_alumnus(alumnus_id)
        except NotFound:
            raise unknown_alumnus(field) from None
        check_acts_for(principal, alumnus, field)
