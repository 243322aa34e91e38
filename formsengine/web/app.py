"""The app factory: ``create_app(test_config=None)`` builds one Engine per application,
registers one blueprint per area, the request hooks and the error pages. The request's
database connection comes from ``db.get_store()``."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlite_utils.utils import sqlite3

from ..config import Settings
from ..dates import date_text
from ..engine import Engine
from ..errors import BusyError
from ..store import Store, is_database_url
from . import db
from .settings import default_config, secret_key_for

log = logging.getLogger(__name__)

csrf = CSRFProtect()


ASSETS = ("govuk/govuk-frontend.min.css", "govuk/govuk-frontend.min.js", "app.css", "app.js")


def missing_assets() -> list[str]:
    """The stylesheets and scripts every page needs that are not installed (an install
    without them serves pages that cannot be used)."""
    static = Path(__file__).parent / "static"
    return [name for name in ASSETS if not (static / name).is_file()]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    given = (test_config or {}).get("DATABASE")
    settings = Settings.from_env(database=None if is_database_url(given) else given,
                                 database_url=given if is_database_url(given) else None)
    app.config.update(default_config(settings.location))
    if test_config:
        app.config.update(test_config)
    # DATABASE: a SQLite file, or a PostgreSQL URL (from FORMSENGINE_DATABASE_URL)
    location: str | Path = app.config["DATABASE"]
    if not is_database_url(location):
        location = Path(location)
        settings.database, settings.database_url = location, None
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_for(location)
    engine = app.config.get("ENGINE") or Engine(
        settings, load_entrypoints=app.config["LOAD_ENTRYPOINTS"],
        plugins=app.config["PLUGINS"])
    app.extensions["formsengine_engine"] = engine
    # A new file is created at the head of every migration branch; an existing database
    # whose schema is behind is refused (SchemaBehindError: run formsengine db upgrade), so
    # that no server process migrates on its own.
    Store.open(location, engine, create=True).close()

    app.before_request(_request_id)
    app.before_request(_readable_form)
    csrf.init_app(app)

    from . import (
        admin,
        assessment_pages,
        assessments,
        auth,
        cases,
        dates,
        headers,
        i18n,
        logs,
        once,
        reports,
        research,
        sessions,
        throttle,
    )

    headers.init_app(app)
    logs.init_app(app)
    sessions.init_app(app)
    i18n.init_app(app)
    for module in (auth, cases, assessments, admin, reports, research):
        app.register_blueprint(module.bp)
    throttle.init_app(app)

    app.extensions["formsengine_connections"] = threading.local()
    app.teardown_appcontext(db.close_store)
    _error_pages(app)
    app.jinja_env.globals.update(app_version=_version(), date_parts=dates.parts_of,
                                 date_example=dates.EXAMPLE, once_token=once.token)
    app.jinja_env.filters["date_text"] = date_text
    # an instrument's title in the reader's language (its wording pack in that language)
    app.jinja_env.globals["instrument_title"] = lambda inst: assessment_pages.headings(
        inst).title
    return app


def _version() -> str:
    from .. import __version__

    return __version__


def _request_id() -> None:
    g.request_id = uuid.uuid4().hex


def _readable_form() -> None:
    """Form text that is not valid UTF-8 is refused, not stored mangled. Runs before the
    form is parsed; the body (at most MAX_CONTENT_LENGTH) is kept for the parser."""
    if request.method != "POST" or request.mimetype not in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return
    body = request.get_data(cache=True)
    try:
        if request.mimetype == "multipart/form-data":
            _decode_multipart_fields(body, request.mimetype_params.get("boundary", ""))
        else:
            # The whole body at once: "&", "=" and "+" are ASCII and can never be part of
            # a longer UTF-8 sequence, so it decodes exactly when every name and value does.
            unquote_to_bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "The form contained characters that could not be read (the text was not "
                   "valid UTF-8). Nothing was saved: retype the text and try again.")


def _decode_multipart_fields(body: bytes, boundary: str) -> None:
    """Decode every text field of a multipart body as UTF-8 (UnicodeDecodeError when one is
    not), where werkzeug's parser would put U+FFFD in its place. Field names are decoded
    strictly by the parser itself; file contents are bytes and are not checked. A malformed
    body is left to the parser, which refuses it."""
    from werkzeug.sansio.multipart import Data, Epilogue, Field, MultipartDecoder, NeedData

    if not boundary:
        return
    decoder = MultipartDecoder(boundary.encode("latin-1"),
                               max_form_memory_size=current_app.config["MAX_FORM_MEMORY_SIZE"])
    decoder.receive_data(body)
    decoder.receive_data(None)
    text, chunks = False, []
    try:
        while not isinstance(event := decoder.next_event(), (Epilogue, NeedData)):
            if isinstance(event, Data):
                if text:
                    chunks.append(event.data)
                    if not event.more_data:
                        b"".join(chunks).decode("utf-8")
            else:  # a new part: a text field, or a file
                text, chunks = isinstance(event, Field), []
    except UnicodeDecodeError:
        raise
    except ValueError:
        return


ERROR_PAGES: dict[int, tuple[Any, Any]] = {
    403: (_l("You cannot do this"),
          _l("Your role does not allow this. Ask an administrator if you need it.")),
    404: (_l("Page not found"),
          _l("If you typed the web address, check it is correct. The record may not exist "
             "or may belong to another team.")),
    405: (_l("This page cannot be used that way"),
          _l("Use the buttons and links on the pages to make changes.")),
    413: (_l("What you sent is too large"),
          _l("The form was larger than the service accepts (1 MB). Shorten long comments "
             "and try again.")),
    429: (_l("Too many attempts"),
          _l("There have been too many attempts to sign in. Wait a few minutes and try "
             "again.")),
}


def _error_pages(app: Flask) -> None:
    def page(status: int, title: Any, message: Any):
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return page(400, _("Your form could not be sent"),
                    _("The page was open too long or was sent from somewhere else. Go back, "
                      "reload the page and try again."))

    @app.errorhandler(400)
    def bad_request(exc):
        return page(400, _("There is a problem with the request"),
                    getattr(exc, "description", None) or _("The request could not be read."))

    for status, (title, message) in ERROR_PAGES.items():
        app.register_error_handler(
            status, lambda exc, s=status, t=title, m=message: page(s, t, m))

    @app.errorhandler(BusyError)
    @app.errorhandler(sqlite3.OperationalError)
    def busy(exc):
        # Another writer held the database longer than a request may wait ("database is
        # locked" from another process). Nothing was written; going back keeps what was typed.
        if isinstance(exc, sqlite3.OperationalError) and not any(
                word in str(exc) for word in ("locked", "busy")):
            raise exc  # any other database error: logged, and the 500 page
        log.warning("request %s: database busy, nothing written", g.get("request_id", ""))
        response = make_response(page(
            503, _("The service is busy"),
            _("Nothing was saved from this page. Go back (what you typed is still there) and "
              "send it again in a moment.")))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(500)
    def server_error(exc):
        return page(500, _("Sorry, there is a problem with the service"),
                    _("Nothing was lost that had been saved. Quote reference %(ref)s if you "
                      "contact support.", ref=g.get("request_id", "")[:12]))
