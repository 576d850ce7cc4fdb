"""SQLAlchemy 2 reflection (the inspector, MetaData.reflect) against a server: the tables it
created from declared metadata read back as declared: columns (types, nullability, defaults,
autoincrement), primary keys, unique constraints, indexes, CHECK constraints and foreign
keys. Usage: reflection.py URL [--only=section,...]. Prints ALL OK on success."""

import sys

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Index,
    Integer, MetaData, Numeric, String, Table, Text, UniqueConstraint, inspect, text,
)
from sqlalchemy.types import DateTime

url = sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1)
# Sections to run (all by default): names, columns, keys, indexes, checks, foreign_keys, reflect
only = [a.split("=", 1)[1].split(",") for a in sys.argv[2:] if a.startswith("--only=")]
only = only[0] if only else None

engine = sa.create_engine(url)
meta = MetaData()
author = Table(
    "refl_author", meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("born", DateTime(timezone=True)),
    Column("active", Boolean, server_default=text("true")),
    Column("score", Numeric(10, 2), server_default=text("0")),
    Column("bio", Text),
    CheckConstraint("score >= 0", name="refl_author_score_check"),
)
book = Table(
    "refl_book", meta,
    Column("isbn", Text, primary_key=True),
    Column("edition", Integer, primary_key=True),
    Column("author_id", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("pages", BigInteger),
    UniqueConstraint("title", "edition", name="refl_book_title_edition_key"),
    Index("refl_book_author_idx", "author_id"),
    Index("refl_book_title_idx", "title", unique=True),
    ForeignKeyConstraint(["author_id"], ["refl_author.id"], name="refl_book_author_fk",
                         ondelete="CASCADE"),
)

failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}:\n  got  {got!r}\n  want {want!r}")


def section(name):
    """Runs the decorated checks when the section is selected; an exception is a failure."""
    def run(body):
        if only is not None and name not in only:
            return
        try:
            body()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next
            failures.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0]}")
    return run


with engine.begin() as conn:
    for name in ("refl_book", "refl_author"):
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
meta.create_all(engine)

insp = inspect(engine)


@section("names")
def _():
    check("table names", sorted(n for n in insp.get_table_names() if n.startswith("refl_")),
          ["refl_author", "refl_book"])
    check("has_table", (insp.has_table("refl_author"), insp.has_table("refl_nothing")),
          (True, False))


@section("columns")
def _():
    cols = {c["name"]: c for c in insp.get_columns("refl_author")}
    check("author columns", list(cols), ["id", "name", "born", "active", "score", "bio"])
    check("id type", str(cols["id"]["type"]), "INTEGER")
    check("id autoincrement", cols["id"].get("autoincrement"), True)
    check("id default", cols["id"]["default"], "nextval('refl_author_id_seq'::regclass)")
    check("name type", str(cols["name"]["type"]), "VARCHAR(40)")
    check("name nullable", cols["name"]["nullable"], False)
    check("born type", (type(cols["born"]["type"]).__name__, cols["born"]["type"].timezone),
          ("TIMESTAMP", True))
    check("active default", cols["active"]["default"], "true")
    check("score type", (str(cols["score"]["type"])), "NUMERIC(10, 2)")
    check("score default", cols["score"]["default"], "0")
    check("bio type", str(cols["bio"]["type"]), "TEXT")
    check("bio nullable", cols["bio"]["nullable"], True)


@section("keys")
def _():
    pk = insp.get_pk_constraint("refl_author")
    check("author pk", (pk["constrained_columns"], pk["name"]), (["id"], "refl_author_pkey"))
    check("book pk", insp.get_pk_constraint("refl_book")["constrained_columns"],
          ["isbn", "edition"])

    uniques = sorted((u["name"], u["column_names"]) for u in insp.get_unique_constraints("refl_book"))
    check("book unique constraints", uniques, [("refl_book_title_edition_key", ["title", "edition"])])
    uniques = sorted((u["name"], u["column_names"])
                     for u in insp.get_unique_constraints("refl_author"))
    check("author unique constraints", uniques, [("refl_author_name_key", ["name"])])


@section("indexes")
def _():
    indexes = sorted((i["name"], i["column_names"], i["unique"]) for i in insp.get_indexes("refl_book"))
    check("book indexes", indexes, [
        ("refl_book_author_idx", ["author_id"], False),
        ("refl_book_title_edition_key", ["title", "edition"], True),
        ("refl_book_title_idx", ["title"], True),
    ])


@section("checks")
def _():
    checks = [(c["name"], c["sqltext"]) for c in insp.get_check_constraints("refl_author")]
    check("author checks", checks, [("refl_author_score_check", "score >= 0::numeric")])


@section("foreign_keys")
def _():
    fks = insp.get_foreign_keys("refl_book")
    want_fks = [{
        "name": "refl_book_author_fk", "constrained_columns": ["author_id"],
        "referred_schema": None, "referred_table": "refl_author", "referred_columns": ["id"],
        "options": {"ondelete": "CASCADE"}, "comment": None,
    }]
    check("book foreign keys", fks, want_fks)


@section("reflect")
def _():
    reflected = MetaData()
    reflected.reflect(engine, only=["refl_author", "refl_book"])
    check("reflected tables", sorted(reflected.tables), ["refl_author", "refl_book"])
    rbook = reflected.tables["refl_book"]
    check("reflected book columns", [c.name for c in rbook.columns],
          ["isbn", "edition", "author_id", "title", "pages"])
    check("reflected book pk", [c.name for c in rbook.primary_key.columns], ["isbn", "edition"])
    check("reflected book indexes", sorted(i.name for i in rbook.indexes),
          ["refl_book_author_idx", "refl_book_title_idx"])


meta.drop_all(engine)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ALL OK")
