"""Alembic environment: migrations run on the connection the archive hands over."""

from alembic import context

from bot.store.schema import managed_by_alembic, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  include_name=managed_by_alembic)
with context.begin_transaction():
    context.run_migrations()
