"""Alembic's environment for the test project: the database from ISOLA_TEST_URL, the target
metadata from models.py (beside this file), types and server defaults compared."""

import os
import sys

from alembic import context
from sqlalchemy import create_engine, pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

config = context.config
url = os.environ["ISOLA_TEST_URL"]


def run_migrations_online():
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=models.metadata,
            compare_type=True,
            compare_server_default=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
