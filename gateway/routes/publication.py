"""Statistics and publication routes (docs/stewardship.md, item 6): counts, the alumni
map, export of a search, the yearly report. Mixed into the registry's `Routes`."""

from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.auth import Principal
from gateway.authz import publication as rules
from gateway.authz.base import COMMITTEE, OFFICE, STAFF_ROLES
from gateway.http import api
from services.common.contracts import registry as contract

EXPORT_ROUTE = "GET /api/v1/alumni/export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PublicationRoutes:
    registry: Any

    @api(
        "GET",
        "/api/v1/alumni/statistics",
        "Counts of alumni by department (merged ones under their successor), class year, "
        "degree, province, city or industry (`by`), within optional filters. A liaison "
        "counts their own department only.",
        "statistics",
        STAFF_ROLES,
        query=contract.StatisticsQuery,
        response=contract.StatisticsOut,
    )
    def alumni_statistics(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.registry.alumni_statistics(rules.scope_statistics(principal, query))

    @api(
        "GET",
        "/api/v1/alumni/map",
        "The alumni map by province and city, public: no place under k alumni "
        "(REGISTRY_MAP_MIN_COUNT, default 5) is shown; smaller cities are the province's "
        "其他, smaller provinces the national 其他/未公开.",
        "statistics",
        None,
        response=contract.AlumniMapOut,
    )
    def alumni_map(self, request: Request):
        return self.registry.alumni_map()

    @api(
        "GET",
        "/api/v1/alumni/export.csv",
        "The search (same filters and scope as GET /api/v1/alumni) as a CSV for Excel "
        "(UTF-8 with BOM), contacts masked as for the search; formulas neutralised.",
        "statistics",
        STAFF_ROLES,
        query=contract.AlumniExportFilters,
        content_type="text/csv",
        extra_statuses=(422,),
    )
    def export_csv(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self._export_search(principal, query, "csv")

    @api(
        "GET",
        "/api/v1/alumni/export.xlsx",
        "The search as an Excel workbook (.xlsx), as export.csv.",
        "statistics",
        STAFF_ROLES,
        query=contract.AlumniExportFilters,
        content_type=XLSX,
        extra_statuses=(422,),
    )
    def export_xlsx(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self._export_search(principal, query, "xlsx")

    def _export_search(self, principal: Principal, query: dict[str, Any], fmt: str) -> Response:
        params = rules.scope_alumni_search(principal, query)
        result = self.registry.export_alumni({**params, "format": fmt}, EXPORT_ROUTE)
        return Response(
            base64.b64decode(result["data"]),
            content_type=result["content_type"],
            headers={
                "Content-Disposition": f'attachment; filename="{result["filename"]}"',
                "X-Export-Rows": str(result["count"]),
            },
        )

    @api(
        "POST",
        "/api/v1/reports/alumni",
        'Ask for the yearly alumni report of a past year (`{"year": 2025}`): 202 queued '
        "(the registry generates it within seconds), 200 when it is ready. A report is "
        "generated once; last year's is also generated on a schedule "
        "(REGISTRY_REPORT_PUBLISH_ON).",
        "statistics",
        (OFFICE,),
        body=contract.ReportYear,
        response=contract.ReportStatusOut,
        status=202,
        extra_success=(200,),
    )
    def request_report(self, request: Request, principal: Principal, body: dict[str, Any]):
        answer = self.registry.request_yearly_report(body["year"])
        return (200 if answer["status"] == "ready" else 202), answer

    @api(
        "GET",
        "/api/v1/reports/alumni/{year}.pdf",
        "The yearly alumni report as PDF, with its charts (k-anonymous as the map); 404 "
        "(reason report_not_generated or report_generating) until it is generated.",
        "statistics",
        (OFFICE, COMMITTEE),
        content_type="application/pdf",
        extra_statuses=(404,),
    )
    def report_pdf(self, request: Request, principal: Principal, year: str):
        report = self.registry.yearly_report(rules.report_year(year), "pdf")
        return Response(
            base64.b64decode(report["content"]),
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="alumni-report-{year}.pdf"'},
        )

    @api(
        "GET",
        "/api/v1/reports/alumni/{year}.html",
        "The yearly alumni report as an HTML page with its charts inline; 404 as the PDF.",
        "statistics",
        (OFFICE, COMMITTEE),
        content_type="text/html",
        extra_statuses=(404,),
    )
    def report_html(self, request: Request, principal: Principal, year: str):
        report = self.registry.yearly_report(rules.report_year(year), "html")
        return Response(report["content"], content_type="text/html; charset=utf-8")
