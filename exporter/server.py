"""The HTTP side: /metrics from memory, a landing page, health, readiness and reload.

Knows nothing of Pushwoosh: it is handed callables that render the exposition, say
whether the exporter is ready, list the targets' states and reload the config.
"""

import html
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from exporter import __version__


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One line of the landing page's target table."""

    collector: str
    target: str
    up: bool
    last_success: float | None
    last_error: str | None
    last_error_body: str | None = None
    """The start of an answer that could not be read, shown under the error."""


@dataclass(frozen=True, slots=True)
class WebHooks:
    """What the server calls into."""

    render: Callable[[str | None, str | None], Awaitable[tuple[bytes, str, bool]]]
    """(Accept, Accept-Encoding) -> (body, content type, gzipped)."""
    ready: Callable[[], bool]
    targets: Callable[[], Sequence[TargetRow]]
    reload: Callable[[], Awaitable[str | None]]
    """Reload the config; returns None when applied, else the error text."""


def create_app(
    hooks: WebHooks,
    telemetry_path: str = "/metrics",
    middlewares: Sequence[Middleware] = (),
) -> web.Application:
    """The aiohttp application serving every endpoint the README lists."""

    async def metrics(request: web.Request) -> web.Response:
        body, content_type, gzipped = await hooks.render(
            request.headers.get("Accept"), request.headers.get("Accept-Encoding")
        )
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
        return response

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="Healthy.\n")

    async def ready(request: web.Request) -> web.Response:
        if hooks.ready():
            return web.Response(text="Ready.\n")
        return web.Response(status=503, text="Not ready: a target has not been polled yet.\n")

    async def reload(request: web.Request) -> web.Response:
        error = await hooks.reload()
        if error is None:
            return web.Response(text="Config reloaded.\n")
        return web.Response(status=500, text=f"failed to reload config: {error}\n")

    async def landing(request: web.Request) -> web.Response:
        return web.Response(
            text=render_landing(hooks.targets(), telemetry_path), content_type="text/html"
        )

    app = web.Application(middlewares=list(middlewares))
    app.router.add_get(telemetry_path, metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    if telemetry_path != "/":
        app.router.add_get("/", landing)
    return app


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _error_cell(row: TargetRow) -> str:
    """The last error, escaped, and under it the start of the unreadable answer, if any."""
    cell = html.escape(row.last_error or "")
    if row.last_error_body is not None:
        cell += f'<br><code class="body">body: {html.escape(row.last_error_body)}</code>'
    return cell


def render_landing(rows: Sequence[TargetRow], telemetry_path: str) -> str:
    """The landing page: version, links, and each target's state."""
    esc = html.escape
    lines = [
        f"<tr><td>{esc(r.collector)}</td><td>{esc(r.target)}</td>"
        f"<td>{'up' if r.up else 'down'}</td><td>{_when(r.last_success)}</td>"
        f"<td>{_error_cell(r)}</td></tr>"
        for r in rows
    ]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Pushwoosh Exporter</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;text-align:left}}
code.body{{white-space:pre-wrap;word-break:break-all}}</style></head>
<body><h1>Pushwoosh Exporter</h1>
<p>Version {esc(__version__)}</p>
<ul><li><a href="{esc(telemetry_path)}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li><li><a href="/-/ready">Readiness</a></li></ul>
<h2>Targets</h2>
<table><tr><th>Collector</th><th>Target</th><th>State</th><th>Last success</th>
<th>Last error</th></tr>
{chr(10).join(lines)}
</table></body></html>
"""
