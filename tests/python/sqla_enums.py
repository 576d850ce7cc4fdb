"""Enum types through SQLAlchemy, run against PostgreSQL 15 and isola: the transcripts must be
equal. Usage: sqla_enums.py URL [--psycopg2]. Prints one line per observation.

`sa.Enum` columns make `CREATE TYPE ... AS ENUM` (after SQLAlchemy's existence check on
pg_type), values round-trip as Python enum members, comparisons follow the label order, the
inspector reflects the types (`get_enums`, columns as ENUM with their labels), a bad label
fails with 22P02, and `drop_all` drops the types again.
"""

import enum
import sys

import sqlalchemy as sa

driver = "psycopg2" if "--psycopg2" in sys.argv[2:] else "psycopg"
url = sys.argv[1].replace("postgresql://", f"postgresql+{driver}://", 1)


class Mood(enum.Enum):
    sad = 1
    ok = 2
    happy = 3


engine = sa.create_engine(url)
metadata = sa.MetaData()
person = sa.Table(
    "enum_person",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("mood", sa.Enum(Mood, name="enum_mood"), nullable=False),
    sa.Column("size", sa.Enum("small", "large", "x-large", name="enum_size")),
)
metadata.drop_all(engine)
metadata.create_all(engine)
with engine.begin() as c:
    c.execute(
        person.insert(),
        [
            {"id": 1, "mood": Mood.happy, "size": "small"},
            {"id": 2, "mood": Mood.sad, "size": "x-large"},
            {"id": 3, "mood": Mood.ok, "size": None},
        ],
    )
with engine.connect() as c:
    print("by mood", c.execute(sa.select(person).order_by(person.c.mood)).all())
    print("above sad", c.execute(sa.select(person.c.id).where(person.c.mood > Mood.sad).order_by(person.c.id)).all())
    print("by size desc", c.execute(sa.select(person.c.id, person.c.size).order_by(person.c.size.desc().nulls_last())).all())
    print("max", c.execute(sa.select(sa.func.max(person.c.mood), sa.func.min(person.c.size))).one())
    try:
        c.execute(sa.text("INSERT INTO enum_person (id, mood) VALUES (9, 'angry')"))
    except sa.exc.DBAPIError as e:
        print("bad label", getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None))
        c.rollback()
inspector = sa.inspect(engine)
print("enums", sorted((e["name"], e["labels"]) for e in inspector.get_enums()))
for column in inspector.get_columns("enum_person"):
    print("column", column["name"], repr(column["type"]), column["nullable"])
reflected = sa.Table("enum_person", sa.MetaData(), autoload_with=engine)
print("reflected labels", reflected.c.mood.type.enums, reflected.c.size.type.enums)
metadata.drop_all(engine)
print("after drop_all", sa.inspect(engine).get_enums())
