"""The API's documentation page, served from this service alone.

FastAPI's Swagger UI loads its scripts and styles from a CDN, which the service's CSP (and an
offline deployment) forbids, and no installed package ships those assets. This page lists
every operation from the OpenAPI document, server-rendered without scripts; the document
itself is at /openapi.json for any OpenAPI tool.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

METHODS = ("get", "post", "put", "patch", "delete")


def _operation_rows(schema: dict[str, Any]) -> list[str]:
    rows = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            summary = op.get("summary") or op.get("operationId") or ""
            description = (op.get("description") or "").strip().split("\n\n")[0]
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                f'<td>{escape(summary)}<br><span class="hint">{escape(description)}</span></td></tr>'
            )
    return rows


def docs_page(app: FastAPI) -> HTMLResponse:
    schema = app.openapi()
    title = escape(str(schema.get("info", {}).get("title", "API")))
    rows = "\n".join(_operation_rows(schema))
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: API</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main>
<h1>{title}: JSON API</h1>
<p>The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>. Send a bearer token
(<code>Authorization: Bearer ...</code>) with every request.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</main></body></html>"""
    return HTMLResponse(html)


def install(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return docs_page(app)
