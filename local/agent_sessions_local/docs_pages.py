"""The local runtime's own pages: `/` leads to the console, Swagger UI over `/openapi.json` at `/docs`, offline.

Swagger UI's files come from a pinned package installed with the runtime (drf-spectacular-sidecar
ships swagger-ui-dist as plain static files; only its Django integration needs Django, which is
not installed), so the docs work with no network. The deployed API has none of these routes.
"""

from __future__ import annotations

import importlib.util
import mimetypes
from collections.abc import Callable
from pathlib import Path

from werkzeug.wrappers import Request, Response

ASSET_NAMES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")

_DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>agent-sessions API</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-init.js"></script>
</body></html>
"""
# A file, not inline, so the page works under a Content-Security-Policy without 'unsafe-inline'.
_INIT_SCRIPT = 'SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: false});\n'


def swagger_ui_dir() -> Path | None:
    """Where the pinned swagger-ui-dist files are, if the package is installed (found, not imported)."""
    spec = importlib.util.find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = (
        Path(next(iter(spec.submodule_search_locations))) / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
    )
    return folder if folder.is_dir() else None


def local_page(request: Request) -> Response | None:
    """The answer to one of the runtime's own pages, or None for an API route."""
    if request.method != "GET":
        return None
    page = _PAGES.get(request.path)
    if page is not None:
        return page()
    if request.path.startswith("/docs/assets/"):
        return _asset(request.path.removeprefix("/docs/assets/"))
    return None


def _root() -> Response:
    return Response(status=302, headers={"Location": "/console"})


def _docs() -> Response:
    if swagger_ui_dir() is None:
        return Response(
            "Swagger UI's files are not installed: run `make run` (it installs them), or read /openapi.json.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return Response(_DOCS_PAGE, status=200, content_type="text/html; charset=utf-8")


def _openapi_document() -> Response:
    from agent_sessions_local.openapi import OPENAPI_PATH

    return Response(OPENAPI_PATH.read_bytes(), status=200, content_type="application/json")


def _asset(name: str) -> Response:
    if name == "swagger-init.js":
        return Response(_INIT_SCRIPT, status=200, content_type="text/javascript; charset=utf-8")
    folder = swagger_ui_dir()
    if name not in ASSET_NAMES or folder is None:  # a fixed list: no path from the URL reaches the disk
        return Response('{"message":"Not Found"}', status=404, content_type="application/json")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response((folder / name).read_bytes(), status=200, content_type=content_type)


_PAGES: dict[str, Callable[[], Response]] = {"/": _root, "/docs": _docs, "/openapi.json": _openapi_document}
