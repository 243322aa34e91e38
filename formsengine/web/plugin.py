"""The web application as a built-in plugin: its migration branch and its commands
(``serve``, ``users``, ``teams``, ``settings``). Flask is imported only when a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..hookspecs import hookimpl


@hookimpl
def register_migrations() -> tuple[str, Path]:
    """The branch ``web``: the web application's tables (``formsengine/web/migrations``)."""
    return "web", Path(__file__).parent / "migrations"


def _store(state):
    return state.store(create=True)


def _params() -> dict:
    from .settings import default_config

    return default_config(None)["PASSWORD_HASH"]  # type: ignore[arg-type]


@hookimpl
def register_commands(cli) -> None:
    @cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on. Keep 127.0.0.1 unless behind a TLS proxy.")
    @click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
                  help="Worker threads. Requests share one interpreter, so more threads add "
                  "waiting, not speed.")
    @click.option("--connection-limit", default=500, show_default=True,
                  type=click.IntRange(10, 10000),
                  help="Open connections accepted at once (unfinished requests included).")
    @click.option("--channel-timeout", default=30, show_default=True,
                  type=click.IntRange(5, 3600),
                  help="Seconds without activity before a connection is closed.")
    @click.option("--max-request-body-size", default=1_000_000, show_default=True,
                  type=click.IntRange(10_000, 100_000_000),
                  help="Bytes; a larger request body is refused (413) unread.")
    @click.option("--trusted-proxy", envvar="FORMSENGINE_TRUSTED_PROXY", metavar="ADDRESS",
                  help="Address of the reverse proxy in front (for example 127.0.0.1): "
                  "the client's own address, for the sign-in limits, is then taken from "
                  "its X-Forwarded-For. [env: FORMSENGINE_TRUSTED_PROXY]")
    @click.option("--log-level", envvar="FORMSENGINE_LOG_LEVEL", default="info",
                  show_default=True, type=click.Choice(["debug", "info", "warning", "error"]),
                  help="info: one access line per request (method, route pattern, status, "
                  "time, request id; nothing identifying). [env: FORMSENGINE_LOG_LEVEL]")
    @click.option("--log-format", envvar="FORMSENGINE_LOG_FORMAT", default="text",
                  show_default=True, type=click.Choice(["text", "json"]),
                  help="json: one object per line. [env: FORMSENGINE_LOG_FORMAT]")
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                  envvar="FORMSENGINE_WORKERS",
                  help="Server processes sharing the address; a worker that stops is "
                  "started again. [env: FORMSENGINE_WORKERS]")
    @click.option("--listen-fd", type=click.IntRange(0), hidden=True,
                  help="(internal) serve on this inherited listening socket")
    @click.pass_obj
    def serve(state, host: str, port: int, threads: int, connection_limit: int,
              channel_timeout: int, max_request_body_size: int,
              trusted_proxy: str | None, log_level: str, log_format: str, workers: int,
              listen_fd: int | None) -> None:
        """Run the web application (waitress; one process, or --workers N processes).
        Logs go to standard error."""
        from ..cli import before_serving
        from ..errors import FormsEngineError
        from . import logs
        from .app import create_app, missing_assets

        logs.configure(log_level, log_format)

        if missing_assets():
            raise FormsEngineError(
                "this installation has no " + ", ".join(missing_assets()) + ": the pages "
                "would have no styles or scripts. In a working copy run scripts/build-assets; "
                "otherwise reinstall formsengine from a complete wheel")
        from .server import make_server

        app = create_app({"DATABASE": str(state.settings.database)})
        limits: dict[str, Any] = {
            "connection_limit": connection_limit, "channel_timeout": channel_timeout,
            "max_request_body_size": max_request_body_size,
            "trusted_proxy": trusted_proxy or None}
        if listen_fd is not None:  # a worker of `serve --workers N`: the parent said it all
            import os
            import socket

            server = make_server(app, threads=threads,
                                 sockets=[socket.socket(fileno=listen_fd)], **limits)
            click.echo(f"worker process {os.getpid()} ready", err=True)
            from .workers import exit_with_parent

            exit_with_parent()
            try:
                server.run()
            except KeyboardInterrupt:
                pass
            finally:
                server.close()
            return
        if workers > 1:
            _serve_workers(state, host, port, workers, threads, limits, log_level,
                           log_format)
            return
        server = make_server(app, host=host, port=port, threads=threads, **limits)
        before_serving(state)
        click.echo(f"formsengine web application on http://{host}:{port}/ "
                   f"(database {state.settings.database})")
        if trusted_proxy:
            click.echo(f"client addresses from X-Forwarded-For of {trusted_proxy}")
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()

    def _serve_workers(state, host: str, port: int, workers: int, threads: int,
                       limits: dict, log_level: str, log_format: str) -> None:
        """Bind once, then run ``workers`` processes on the socket under a supervisor."""
        from ..cli import before_serving, fail
        from .workers import Supervisor, bind, worker_command, worker_environment

        sock = bind(host, port)  # a port in use: one plain line (FriendlyGroup)
        before_serving(state)
        settings = state.settings
        command = worker_command(threads=threads, log_level=log_level,
                                 log_format=log_format, **limits)
        env = worker_environment(str(settings.database),
                                 str(settings.config_file) if settings.config_file else None,
                                 str(settings.definitions_dir)
                                 if settings.definitions_dir else None)
        click.echo(f"formsengine web application on http://{host}:{port}/ "
                   f"({workers} processes of {threads} threads; database "
                   f"{settings.database})")
        code = Supervisor(command, workers, sock, env=env,
                          say=lambda m: click.echo(m, err=True)).run()
        if code:
            fail("the server stopped because its worker processes kept stopping")

    @cli.group("users")
    def users() -> None:
        """Create and manage user accounts."""

    @users.command("create-admin")
    @click.argument("username")
    @click.pass_obj
    def create_admin(state, username: str) -> None:
        """Create an administrator and print a one-time password (changed at first sign-in)."""
        from . import accounts

        with _store(state) as store:
            password = accounts.generate_password(username)
            accounts.create_user(store, username, role="administrator", password=password,
                                 params=_params(), actor="cli")
        click.echo(f"Administrator {username} created.")
        click.echo(f"One-time password: {password}")
        click.echo("It must be changed at first sign-in.")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", required=True,
                  type=click.Choice(["practitioner", "supervisor", "administrator",
                                     "researcher"]))
    @click.option("--team", "teams", multiple=True, help="Team name (repeat for several).")
    @click.option("--name", "display_name", help="Name shown to colleagues.")
    @click.pass_obj
    def create(state, username: str, role: str, teams: tuple[str, ...],
               display_name: str | None) -> None:
        """Create a user and print a one-time password (changed at first sign-in)."""
        from . import accounts

        with _store(state) as store:
            team_ids = [accounts.team_id_by_name(store, t) for t in teams]
            password = accounts.generate_password(username)
            accounts.create_user(store, username, role=role, password=password,
                                 params=_params(), teams=team_ids, display_name=display_name,
                                 actor="cli")
        click.echo(f"User {username} ({role}) created.")
        click.echo(f"One-time password: {password}")

    @users.command("disable")
    @click.argument("username")
    @click.pass_obj
    def disable(state, username: str) -> None:
        """Disable a user; their sessions end at once."""
        from . import accounts

        with _store(state) as store:
            accounts.set_disabled(store, accounts.user_id_by_name(store, username), True,
                                  actor="cli")
        click.echo(f"User {username} disabled.")

    @users.command("two-factor-off")
    @click.argument("username")
    @click.pass_obj
    def two_factor_off(state, username: str) -> None:
        """Turn off a user's two-factor sign-in (a lost phone); their sessions end."""
        from . import accounts

        with _store(state) as store:
            accounts.turn_off_totp(store, accounts.user_id_by_name(store, username),
                                   actor="cli")
        click.echo(f"Two-factor sign-in is off for {username}.")

    @users.command("teams")
    @click.argument("username")
    @click.option("--team", "teams", multiple=True,
                  help="Team name (repeat for several); the user's teams become exactly these.")
    @click.option("--none", "no_teams", is_flag=True, help="Take the user out of every team.")
    @click.pass_obj
    def set_user_teams(state, username: str, teams: tuple[str, ...], no_teams: bool) -> None:
        """Set the teams a user belongs to (cases of teams they leave are unassigned)."""
        from . import accounts

        if bool(teams) == no_teams:
            raise click.UsageError("give --team (one or more) or --none")
        with _store(state) as store:
            user_id = accounts.user_id_by_name(store, username)
            team_ids = [accounts.team_id_by_name(store, t) for t in teams]
            unassigned = accounts.set_teams(store, user_id, team_ids, actor="cli")
        click.echo(f"User {username}: teams {', '.join(teams) if teams else 'none'}."
                   + (f" Unassigned from {unassigned} case(s) of teams they left."
                      if unassigned else ""))

    @cli.group("teams")
    def teams() -> None:
        """Create and list teams."""

    @teams.command("create")
    @click.argument("name")
    @click.pass_obj
    def team_create(state, name: str) -> None:
        """Create a team (cases and users belong to teams)."""
        with _store(state) as store:
            store.ensure_team(name, actor="cli")
        click.echo(f"Team {name} ready.")

    @teams.command("list")
    @click.pass_obj
    def team_list(state) -> None:
        """List teams."""
        from ..store.teams import team_names

        with _store(state) as store:
            for name in team_names(store):
                click.echo(name)

    @cli.group("settings")
    def settings() -> None:
        """Organisation settings of the web application."""

    @settings.command("set")
    @click.argument("key", type=click.Choice(["require_totp", "exit_url", "wording"]))
    @click.argument("value")
    @click.pass_obj
    def settings_set(state, key: str, value: str) -> None:
        """Set a setting. require_totp: on/off. exit_url: https address. wording:
        INSTRUMENT=PACK@VERSION (or INSTRUMENT= for the built-in paraphrase)."""
        from ..config import parse_switch
        from . import accounts

        with _store(state) as store:
            if key == "wording":
                inst_id, _, ref = value.partition("=")
                accounts.set_wording(store, state.engine, inst_id, ref or None, actor="cli")
            elif key == "require_totp":
                accounts.set_setting(store, key, parse_switch(value, key), actor="cli")
            else:
                if not value.startswith("https://"):
                    raise accounts.AccountError("exit_url must start with https://")
                accounts.set_setting(store, key, value, actor="cli")
        click.echo(f"{key} set.")
