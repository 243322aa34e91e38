"""Settings of the web application.

==========================  ==================================  ===============================
setting                     environment variable                default
==========================  ==================================  ===============================
database file               ``FORMSENGINE_DB``                  ``formsengine.db`` (current
                                                                folder)
secret key                  ``FORMSENGINE_SECRET_KEY``          generated once and kept in
                                                                ``<database>.secret-key``
                                                                beside the database (mode 0600)
served over HTTPS           ``FORMSENGINE_HTTPS`` (``1``)       off: cookies are marked Secure
                                                                only when on
idle timeout (minutes)      ``FORMSENGINE_IDLE_MINUTES``        30 (a fraction such as ``0.5``
                                                                is allowed, for trying the
                                                                timeout out)
absolute timeout (hours)    ``FORMSENGINE_ABSOLUTE_HOURS``      12
sign-in limit storage       ``FORMSENGINE_LIMITER_STORAGE``     ``memory://`` (one process);
                                                                ``redis://host:6379`` shared
trusted proxy (``serve``)   ``FORMSENGINE_TRUSTED_PROXY``       none: the connecting address
                                                                is the client's
==========================  ==================================  ===============================

The organisation configuration (``FORMSENGINE_CONFIG``) and local definitions folder
(``FORMSENGINE_DEFINITIONS``) are read by the engine as for the command line.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from ..config import env_switch
from ..errors import ConfigError

SECRET_SUFFIX = ".secret-key"


def secret_key_for(database: Path | str) -> str:
    """The secret key from the environment, or from the file beside the database (created
    on first use, readable by the owner only). A database on a server (PostgreSQL) has no
    file beside it: the key must come from the environment, the same for every process."""
    from_env = os.environ.get("FORMSENGINE_SECRET_KEY")
    if from_env:
        if len(from_env) < 32:
            raise ConfigError("FORMSENGINE_SECRET_KEY must be at least 32 characters long")
        return from_env
    if not isinstance(database, Path):
        raise ConfigError("on PostgreSQL the session key comes from FORMSENGINE_SECRET_KEY "
                          "(at least 32 characters, the same for every server process)")
    path = Path(str(database) + SECRET_SUFFIX)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"secret key file {path.name} can be read by other users; "
                "run: chmod 600 on it") from None
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw[:80]!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0")
    return value


def _minutes_env(name: str, default: int) -> int:
    """Minutes from the environment as whole seconds (at least 10)."""
    raw = os.environ.get(name)
    if not raw:
        return default * 60
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of minutes, not {raw[:80]!r}") from None
    if not 10 <= value * 60 < float("inf"):  # also refuses nan
        raise ConfigError(f"{name} must be at least 10 seconds (0.17 minutes)")
    return round(value * 60)


def default_config(database: Path | str) -> dict[str, Any]:
    https = env_switch("FORMSENGINE_HTTPS", default=False)
    return {
        "DATABASE": str(database),
        "SESSION_COOKIE_NAME": "fe_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "IDLE_TIMEOUT": (idle := _minutes_env("FORMSENGINE_IDLE_MINUTES", 30)),
        # the warning shows this long before the idle sign-out: 5 minutes, less for short
        # timeouts (a third of the timeout)
        "IDLE_WARNING": min(5 * 60, idle // 3),
        "ABSOLUTE_TIMEOUT": _int_env("FORMSENGINE_ABSOLUTE_HOURS", 12) * 3600,
        "MAX_CONTENT_LENGTH": 1_000_000,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the server-side session
        # Argon2id parameters (argon2-cffi defaults: RFC 9106 low-memory profile).
        "PASSWORD_HASH": {"time_cost": 3, "memory_cost": 65536, "parallelism": 4},
        "LOGIN_LIMIT": "20 per minute",
        "LOGIN_FAILURES_PER_USER": 5,  # failures before an account's attempts wait
        "LOGIN_DELAY_BASE": 30,  # seconds; doubled at each further failure
        "LOGIN_DELAY_MAX": 15 * 60,
        "LOGIN_FAILURE_WINDOW": 24 * 3600,
        "LIMITER_STORAGE": os.environ.get("FORMSENGINE_LIMITER_STORAGE") or "memory://",
        "LOAD_ENTRYPOINTS": True,
        "PLUGINS": (),
    }
