"""Schemas that exist only at the HTTP edge (the rest are the services' contracts)."""

from __future__ import annotations

from marshmallow import fields

from services.common.contracts.base import StrictSchema, length


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=length(1, 50))
    password = fields.String(required=True, load_only=True, validate=length(1, 200))


class RefreshRequest(StrictSchema):
    refresh_token = fields.String(required=True, validate=length(1, 4096))


class TokenResponse(StrictSchema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "bearer"})
    expires_in = fields.Integer(required=True, metadata={"example": 900})


class Health(StrictSchema):
    status = fields.String(required=True)


class Readiness(StrictSchema):
    status = fields.String(required=True, metadata={"example": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class ErrorDetail(StrictSchema):
    code = fields.String(required=True, metadata={"example": "VALIDATION_ERROR"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class Error(StrictSchema):
    error = fields.Nested(ErrorDetail, required=True)
