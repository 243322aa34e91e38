"""Logs an operator can use, with nothing in them that identifies anyone.

``serve`` writes one access line per request: the method, the route's *pattern* (for
example ``/cases/<uid>``: never the path with its ids, never the query string), the status,
the time taken and the request id (the id the error page quotes and the audit rows carry).
Nothing else of the request is logged: no addresses, user names, form fields or cookies.

``--log-level`` (``FORMSENGINE_LOG_LEVEL``, default ``info``) chooses what is written and
``--log-format`` (``FORMSENGINE_LOG_FORMAT``: ``text`` or ``json``, one object per line)
how; both go to standard error.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask, g, request

ACCESS = logging.getLogger("formsengine.access")
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_access_line)


def _started() -> None:
    g.started = time.perf_counter()


def _access_line(response):
    if ACCESS.isEnabledFor(logging.INFO):
        rule = request.url_rule.rule if request.url_rule is not None else "-"
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        fields = {"method": request.method, "route": rule, "status": response.status_code,
                  "ms": round(took, 1), "request_id": g.get("request_id", "-")}
        ACCESS.info("%s %s %s %.1fms %s", fields["method"], rule, fields["status"], took,
                    fields["request_id"], extra={"access": fields})
    return response


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and an access line's
    fields)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), "pid": record.process}
        data.update(getattr(record, "access", {}))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Send formsengine's and waitress's logs to standard error at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
