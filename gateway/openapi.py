"""/openapi.json generated from the declared routes and their marshmallow schemas; /docs from
the Swagger UI files that the swagger-ui-bundle package ships (no CDN)."""

from __future__ import annotations

import copy
import mimetypes
import re
from functools import cache
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

from gateway import schemas as edge
from gateway.http import ROUTES, Route, is_id_parameter

ERROR_DESCRIPTIONS = {
    400: "请求格式错误（例如 JSON 无效）",
    401: "未登录或令牌无效、过期",
    403: "当前角色无权执行此操作",
    404: "资源不存在",
    409: "与现有数据冲突",
    413: "请求体过大（上限 1 MiB）",
    415: "请求体不是 JSON（Content-Type 应为 application/json）",
    422: "字段校验失败",
    429: "请求过于频繁（见 Retry-After 头）",
    503: "依赖的服务或消息代理不可用",
    504: "依赖的服务应答超时",
}
DOCS_ASSETS = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
}


# The page's own start-up script (gateway/static/): the page's CSP allows no inline script.
OWN_ASSETS_DIR = Path(__file__).resolve().parent / "static"
OWN_ASSETS = {"docs-init.js"}


# Text the gateway refuses anywhere (400, gateway/http.py `UNSTORABLE_TEXT`): stated on
# every string that has no pattern or choices of its own. No `$`: see contracts/base.py.
NO_NUL_PATTERN = "^(?![\\s\\S]*\\x00)"


def no_nul_in_text(self, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    if ret.get("type") == "string" and not {"pattern", "enum", "format"} & set(ret):
        return {"pattern": NO_NUL_PATTERN}
    return {}


@cache
def openapi_document() -> dict[str, Any]:
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title="校友工作平台 API",
        version="1.0.0",
        openapi_version="3.0.3",
        info={
            "description": "Alumni-relations platform: registry of alumni, departments and "
            "accounts; events and registrations, visits, work plans, suggestions, service "
            "requests and cooperation projects; donations: funds, gifts (amounts in integer "
            "fen, Idempotency-Key), refunds, receipts, pledges, online giving, in-kind gifts, "
            "naming, the honour roll and reports. Errors use one body: "
            '{"error": {"code", "message", "details"}}.'
        },
        plugins=[marshmallow_plugin],
    )
    marshmallow_plugin.converter.add_attribute_function(no_nul_in_text)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=edge.Error)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        for method in route.method.split(","):
            paths.setdefault(route.path, {})[method.lower()] = _operation(route)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "成功"}
    if route.content_type != "application/json":
        success["content"] = {
            route.content_type: {"schema": {"type": "string", "format": "binary"}}
        }
    elif route.response is not None:
        item = route.response
        schema: Any = item
        if route.many:
            schema = {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": item},
                    "next_cursor": {"type": "string", "nullable": True},
                },
            }
        success["content"] = {"application/json": {"schema": schema}}
    responses: dict[Any, Any] = {str(route.status): success}
    for status in route.extra_success:
        responses[str(status)] = copy.deepcopy(success)
    for status, other in route.other_success:
        responses[str(status)] = {
            "description": "已受理" if status == 202 else "成功",
            "content": {"application/json": {"schema": other}},
        }
    for status in route.error_statuses():
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "错误"),
            "content": {"application/json": {"schema": "Error"}},
        }
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": _path_schema(name)}
            for name in re.findall(r"{(\w+)}", route.path)
        ],
    }
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": route.form}},
        }
    if route.body is not None:
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": route.body}},
        }
    if route.roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["description"] = "角色 / roles: " + ", ".join(route.roles)
    elif route.optional_auth:
        operation["security"] = [{}, {"bearer": []}]
        operation["description"] = "公开；登录后可见更多 / public; more for a signed-in caller"
    return operation


def _path_schema(name: str) -> dict[str, str]:
    if is_id_parameter(name):
        return {"type": "string", "format": "uuid"}
    return {"type": "string", "pattern": NO_NUL_PATTERN}


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>校友工作平台 API 文档</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/static/docs-init.js"></script>
</body>
</html>
"""


def docs_page() -> Response:
    return Response(DOCS_PAGE, content_type="text/html; charset=utf-8")


def docs_asset(name: str) -> Response:
    if name in OWN_ASSETS:
        path = OWN_ASSETS_DIR / name
    elif name in DOCS_ASSETS:
        path = Path(swagger_ui_path) / name
    else:
        return Response("not found", status=404, content_type="text/plain; charset=utf-8")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        path.read_bytes(),
        content_type=content_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
