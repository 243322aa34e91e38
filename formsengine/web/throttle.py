"""The per-address limit on failed sign-ins, and its storage.

Failed sign-ins are slowed per account (see ``auth``: a progressive delay kept in the
database) and limited per client address here: once an address has had ``LOGIN_LIMIT``
failed POSTs to the sign-in pages, it gets 429 until the window moves on. The address is
the connecting one, or behind a trusted proxy the client's own (``formsengine serve
--trusted-proxy`` or ``FORMSENGINE_TRUSTED_PROXY``: waitress takes it from the proxy's
``X-Forwarded-For``). The counts live in the ``limits`` library's storage named by
``LIMITER_STORAGE`` (``FORMSENGINE_LIMITER_STORAGE``): ``memory://`` for one process, or a
shared one such as ``redis://host:6379`` when several server processes serve one
organisation. Refusals are audited, once a minute per address.
"""

from __future__ import annotations

import functools

from flask import Flask, abort, current_app, g, make_response, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .db import get_store

NAMESPACE = "formsengine"
ONCE = parse("1 per minute")


def init_app(app: Flask) -> None:
    """Only the two sign-in views are wrapped, so no other request pays for the check."""
    storage = storage_from_string(app.config["LIMITER_STORAGE"])
    limiter = MovingWindowRateLimiter(storage)
    app.extensions["formsengine_limiter"] = limiter

    def limited(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if request.method != "POST":
                return view(*args, **kwargs)
            address = request.remote_addr or "unknown"
            limit = _parsed(current_app.config["LOGIN_LIMIT"])
            if not limiter.test(limit, NAMESPACE, "sign-in", address):
                _audit_refusal(address)
                abort(429)
            response = make_response(view(*args, **kwargs))
            if response.status_code != 302:
                limiter.hit(limit, NAMESPACE, "sign-in", address)
            return response
        return inner

    for endpoint in ("auth.login", "auth.totp"):
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])


@functools.cache
def _parsed(text: str):
    return parse(text)


def once_a_minute(kind: str, key: str) -> bool:
    """True the first time in a minute (across every process sharing the storage) that
    ``kind``/``key`` is asked about: to audit a flood of refusals as one row a minute."""
    limiter = current_app.extensions["formsengine_limiter"]
    return limiter.hit(ONCE, NAMESPACE, "audit", kind, key)


def _audit_refusal(address: str) -> None:
    if once_a_minute("address", address):
        get_store().audit("rate_limited", actor="anonymous", request_id=g.request_id,
                          details={"address": address, "page": request.endpoint,
                                   "limit": current_app.config["LOGIN_LIMIT"],
                                   "note": "first refusal this minute for this address"})
