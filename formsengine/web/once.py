"""Create forms sent twice create one record.

Each create form carries a random token (the hidden field ``once``). The view that creates
the record asks ``earlier()`` inside its write transaction: the first time, None (create,
then ``remember()`` where it is); a second send of the same form (a double click, a resend
after a slow answer) gets where the first one went. The transaction makes two sends that
arrive together wait for each other. Tokens are kept a day.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from flask import g, request

from . import accounts

if TYPE_CHECKING:
    from ..store import Store

FIELD = "once"
KEEP = 86400


def token() -> str:
    """The token of the form being shown: the one it was sent with when it is shown again
    with its problems, else a new one."""
    sent = request.form.get(FIELD, "") if request.method == "POST" else ""
    return sent if 16 <= len(sent) <= 64 else secrets.token_urlsafe(24)


def _key() -> str | None:
    sent = request.form.get(FIELD, "")
    if not 16 <= len(sent) <= 64:
        return None  # a form without a token: nothing to match
    return hashlib.sha256(f"{g.user['id']}:{sent}".encode()).hexdigest()


def earlier(store: Store) -> str | None:
    """Where an earlier send of this form went, or None. Call inside ``store.write()``."""
    key = _key()
    if key is None:
        return None
    return accounts.sent_before(store, key)


def remember(store: Store, location: str) -> None:
    """Record where this form's send went (inside the write that created it)."""
    key = _key()
    if key is None:
        return
    accounts.remember_send(store, key, g.user["id"], location, keep=KEEP)
