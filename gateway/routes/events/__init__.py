"""Routes of the events service, one module per area of it (the areas of services/events/).

`Routes` is what the gateway mixes in (gateway/service.py).
"""

from __future__ import annotations

from gateway.routes.events.events import EventRoutes
from gateway.routes.events.feedback import FeedbackRoutes
from gateway.routes.events.plans import PlanRoutes
from gateway.routes.events.projects import ProjectRoutes
from gateway.routes.events.registrations import RegistrationRoutes
from gateway.routes.events.reports import ReportRoutes
from gateway.routes.events.visits import VisitRoutes


class Routes(
    EventRoutes,
    RegistrationRoutes,
    ReportRoutes,
    VisitRoutes,
    PlanRoutes,
    FeedbackRoutes,
    ProjectRoutes,
):
    pass
