"""Schemas that exist only at the HTTP edge (the rest are the services' contracts)."""

from __future__ import annotations

from marshmallow import fields, validates_schema

from services.common.contracts.base import StrictSchema, in_range, length
from services.common.contracts.events import feedback, plans, registrations, visits


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


# ---- events: what clients send where the gateway fills in who they are ----------------


class SignUpRequest(StrictSchema):
    """An alumnus signs up as themselves (leave `alumnus_id` out); staff name the alumnus."""

    alumnus_id = fields.UUID(allow_none=True, load_default=None)
    guests = fields.Integer(
        load_default=0, strict=True, validate=in_range(0, registrations.MAX_GUESTS)
    )


class SuggestionRequest(feedback.SuggestionInput):
    """`alumnus_id`: left out by an alumnus (it is theirs); the office names the alumnus."""

    alumnus_id = fields.UUID(allow_none=True, load_default=None)


class ServiceRequestRequest(feedback.ServiceRequestInput):
    """`alumnus_id`: left out by an alumnus (it is theirs); the office names the alumnus."""

    alumnus_id = fields.UUID(allow_none=True, load_default=None)


class VisitRequest(visits.VisitInput):
    """A visit request; an alumnus asking for themselves leaves `requester_alumnus_id` out."""

    @validates_schema
    def _requester(self, data, **kwargs) -> None:  # replaces the contract's check of that name
        is_class = data.get("class_year") is not None or data.get("class_name") is not None
        if is_class or data.get("requester_alumnus_id") is not None:
            super()._requester(data, **kwargs)


# ---- events: what the gateway answers ---------------------------------------------------


class RegistrationView(registrations.RegistrationSummary):
    checkin_token = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "null unless the caller runs the event's check-in (the office, the "
            "organising department's liaison) or holds the registration"
        },
    )


class RosterLineView(registrations.RosterLine):
    registration = fields.Nested(RegistrationView, required=True)


class CheckInAnswer(StrictSchema):
    registration = fields.Nested(registrations.Registration, required=True)
    already_recorded = fields.Boolean(
        required=True, metadata={"description": "true on a second scan of the same code (200)"}
    )


class PlanDetail(plans.Plan):
    tasks = fields.List(fields.Nested(plans.Task), required=True)


class PlanQuery(plans.PlanSearch):
    year = fields.Integer(validate=in_range(2000, 2100))


class SummaryParams(StrictSchema):
    year = fields.Integer(required=True, validate=in_range(2000, 2100))
