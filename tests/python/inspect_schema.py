"""SQLAlchemy 2's inspector over every user table of a database, printed as one JSON document
(tests/tools_sqlalchemy.rs compares isola's with PostgreSQL 15's): get_table_names, and per
table get_columns, get_pk_constraint, get_foreign_keys, get_indexes, get_unique_constraints,
get_check_constraints, get_table_comment. Usage: inspect_schema.py URL [--asyncpg] (the
asyncpg dialect through SQLAlchemy's asyncio extension instead of psycopg 3)."""

import json
import sys

import sqlalchemy as sa

# `--asyncpg`: through SQLAlchemy's asyncio extension and the asyncpg dialect (the inspector
# runs in `run_sync`); otherwise psycopg 3.
use_asyncpg = "--asyncpg" in sys.argv[2:]
driver = "postgresql+asyncpg://" if use_asyncpg else "postgresql+psycopg://"
url = sys.argv[1].replace("postgresql://", driver, 1)
dialect = sa.create_engine(url.replace("+asyncpg", "+psycopg")).dialect


def plain(value):
    """Types as their SQL text; lists of dicts sorted by name, so order never matters."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, sa.types.TypeEngine):
        return value.compile(dialect=dialect)
    return value


def by_name(items):
    return sorted((plain(i) for i in items), key=lambda i: str(i.get("name")))


def inspect_all(connection):
    insp = sa.inspect(connection)
    out = {"tables": sorted(insp.get_table_names())}
    for table in out["tables"]:
        out[table] = {
            "columns": [plain(c) for c in insp.get_columns(table)],
            "pk": plain(insp.get_pk_constraint(table)),
            "foreign_keys": by_name(insp.get_foreign_keys(table)),
            "indexes": by_name(insp.get_indexes(table)),
            "unique_constraints": by_name(insp.get_unique_constraints(table)),
            "check_constraints": by_name(insp.get_check_constraints(table)),
            "comment": plain(insp.get_table_comment(table)),
        }
    return out


async def inspect_async():
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.connect() as connection:
        out = await connection.run_sync(inspect_all)
    await engine.dispose()
    return out


if use_asyncpg:
    import asyncio

    out = asyncio.run(inspect_async())
else:
    with sa.create_engine(url).connect() as connection:
        out = inspect_all(connection)
print(json.dumps(out, indent=1, sort_keys=True, default=str))
