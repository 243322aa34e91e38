"""``formsengine serve``: the application under waitress with its limits set explicitly.

waitress's defaults let about 100 unfinished connections stop the server answering anyone
(``connection_limit`` 100, ``channel_timeout`` 120 s) and read up to 1 GiB of a request
body before refusing it. Here the connection limit is higher (connections waiting for
their request cost a socket each, not a thread: a request reaches a worker thread only when
it has arrived whole), idle connections are closed sooner, and a body over 1 MB is refused
as soon as its length is known. For buffering slow clients in front of it, run behind a
proxy such as nginx (docs/deployment.md).

Responses waitress writes itself (400, 413, 431, 500 before the application runs) get the
same security headers as the application's own.
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from .headers import HEADERS

CONNECTION_LIMIT = 500
CHANNEL_TIMEOUT = 30  # seconds without activity before a connection is closed
MAX_REQUEST_BODY = 1_000_000  # bytes, as the application's MAX_CONTENT_LENGTH
ERROR_HEADERS = [*HEADERS.items(), ("Cache-Control", "no-store")]


class HeadedErrorTask(ErrorTask):
    """waitress's error response with the security headers (added as the response's head
    is built, which waitress writes sorted by name)."""

    def build_response_header(self):
        self.response_headers = [*self.response_headers, *ERROR_HEADERS]
        return super().build_response_header()


class Channel(HTTPChannel):
    error_task_class = HeadedErrorTask


def server_options(*, connection_limit: int = CONNECTION_LIMIT,
                   channel_timeout: int = CHANNEL_TIMEOUT,
                   max_request_body_size: int = MAX_REQUEST_BODY,
                   trusted_proxy: str | None = None) -> dict[str, Any]:
    """waitress's settings. With ``trusted_proxy`` (the proxy's address, as the server sees
    it), the client's address and scheme come from that proxy's X-Forwarded-For and
    X-Forwarded-Proto; from anyone else those headers are dropped."""
    options: dict[str, Any] = {
        "ident": "formsengine",
        "connection_limit": connection_limit,
        "channel_timeout": channel_timeout,
        "cleanup_interval": min(30, max(1, channel_timeout // 2)),
        "max_request_body_size": max_request_body_size,
        "asyncore_use_poll": True,  # select() stops at 1024 file descriptors
        "clear_untrusted_proxy_headers": True,
    }
    if trusted_proxy:
        options.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                       trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"})
    return options


def make_server(app, *, threads: int, host: str | None = None, port: int | None = None,
                sockets: list | None = None, **limits: Any):
    """A waitress server on ``host``:``port``, or on already bound ``sockets`` (the workers
    of ``serve --workers N`` share their parent's)."""
    listeners: dict = {}
    where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(app, map=listeners, threads=threads, **where,
                           **server_options(**limits))
    for listener in listeners.values():
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = Channel
    return server
