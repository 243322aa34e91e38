"""Alembic's environment, run by ``formsengine.migrations`` (no ``alembic.ini``): the
connection comes in ``config.attributes["connection"]``, already open; a database made by
release 0.1 (sqlite-utils migration sets) is first stamped at the revisions listed in
``config.attributes["stamp"]``. Everything runs in one transaction."""

from __future__ import annotations

from alembic import context

from formsengine.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("formsengine migrations run on an open connection: use "
                       "formsengine db upgrade")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    migration_context = context.get_context()
    # (read inside the transaction: a second upgrade that waited for this lock finds the
    # database already taken over and stamps nothing)
    heads = migration_context.get_current_heads()
    config.attributes["heads_before"] = set(heads)  # what this upgrade started from
    if not heads:
        for revision in config.attributes.get("stamp", ()):
            migration_context.stamp(context.script, revision)
    context.run_migrations()
