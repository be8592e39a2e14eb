"""``--web.config.file``: TLS, client certificates, basic auth, headers and a rate limit, in
the format of Prometheus' exporter-toolkit.

Every key of that format is either applied as the Go exporters apply it, or refused at load
with a line saying why (README "TLS and basic auth" lists which and why). The modules:

- :mod:`.model`: the file's strict models and Go's names (versions, suites, curves, headers);
- :mod:`.loader`: reading the file into a :class:`WebConfig`, with ``file:LINE`` errors;
- :mod:`.tls`: the ``ssl`` context, rebuilt when the certificate files change;
- :mod:`.guard`: the config applied to the HTTP server, replaceable at reload.
"""

from exporter.webconfig.guard import HEALTH_PATHS, WebGuard
from exporter.webconfig.loader import (
    RateLimit,
    WebConfig,
    WebConfigError,
    load_web_config,
    parse_web_config,
)

__all__ = [
    "HEALTH_PATHS",
    "RateLimit",
    "WebConfig",
    "WebConfigError",
    "WebGuard",
    "load_web_config",
    "parse_web_config",
]
