"""The portal's files (web/dist, built by `make run` from web/): the alumni site at `/`,
the staff console at `/console/`, and their bundled assets at `/assets/`.

The portal is a client of the public API and nothing else: these answers are files.
Vite names every asset by a hash of its content, so an asset may be cached for good
(`immutable`); the two HTML pages name the current assets and are revalidated on every
load (`no-cache`), so a new build reaches users on their next visit.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from gateway.errors import error_response
from services.common.errors import NotFound, ServiceUnavailable

DEFAULT_DIST_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
PAGES = {"site": "index.html", "console": "console/index.html"}


def dist_dir() -> Path:
    return Path(os.environ.get("PORTAL_DIST_DIR") or DEFAULT_DIST_DIR)


def portal_page(which: str) -> Response:
    path = dist_dir() / PAGES[which]
    if not path.is_file():
        return error_response(
            ServiceUnavailable(
                "门户页面尚未构建：请运行 make run（或在 web/ 中运行 npm run build）。",
                reason="portal_not_built",
            )
        )
    return Response(
        path.read_bytes(),
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": REVALIDATE},
    )


def portal_asset(name: str) -> Response:
    assets = dist_dir() / "assets"
    joined = safe_join(str(assets), name)
    if joined is None or not os.path.isfile(joined):
        return error_response(NotFound("没有这个文件。", {"path": f"/assets/{name}"}))
    content_type = mimetypes.guess_type(joined)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    return Response(
        Path(joined).read_bytes(),
        content_type=content_type,
        headers={"Cache-Control": IMMUTABLE},
    )
