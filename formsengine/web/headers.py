"""Security headers on every response; ``no-store`` on everything but static files."""

from __future__ import annotations

from flask import Flask, g, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """WSGI middleware adding ``HEADERS`` to every response that does not set them itself:
    one pass over the response's header list, where setting each through Flask's header
    object would search the list once per header."""

    def __init__(self, app):
        self.app = app
        self.headers = [(name, value) for name, value in HEADERS.items()]
        self.names = {name.lower() for name in HEADERS}

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            own = {name.lower() for name, _ in headers} & self.names
            extra = ([h for h in self.headers if h[0].lower() not in own] if own
                     else self.headers)
            return start_response(status, headers + extra, exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    # Flask's documented way to wrap the WSGI application, which its annotations declare a
    # method
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response):
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            if "Vary" in response.headers:
                response.vary.add("Cookie")
            else:
                response.headers["Vary"] = "Cookie"
        else:
            response.headers["Cache-Control"] = "public, max-age=3600"
        if g.get("request_id"):
            response.headers["X-Request-Id"] = g.request_id
        return response
