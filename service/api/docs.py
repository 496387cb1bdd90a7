"""`GET /docs`: the API reference as one self-contained page (static/docs.html).

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a public CDN: a blank page behind a firewall
or in an air gap, and a third-party request from every reader. This page needs nothing but the
server's /openapi.json.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse, Response

PAGE = (Path(__file__).parent / "static" / "docs.html").read_bytes()
# The browser enforces it too: the page's own inline script and style, requests to this server only.
POLICY = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"


async def page() -> Response:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache", "Content-Security-Policy": POLICY})
