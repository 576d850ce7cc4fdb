"""SQLAlchemy 2's ORM over the Alembic test project's models (tests/alembic/models.py, first
version), run by tests/tools_sqlalchemy.rs against isola and PostgreSQL 15, whose transcripts
must be equal. Usage: sqla_orm.py URL [--psycopg2 | --asyncpg]. Prints one line per observation.

What it does: create_all; a unit of work inserting a customer graph (server defaults read
back), selectinload of two levels, a join with aggregates, ORM and bulk UPDATEs, a SAVEPOINT
(begin_nested) rolled back, the constraint errors (SQLSTATE and constraint name), ON DELETE
SET NULL and CASCADE through the database (passive_deletes), LIMIT / OFFSET, DDL refused by
existing rows (SQLSTATE, schema, table, column and constraint names), drop_all."""

import datetime
import decimal
import os
import sys

import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, registry, relationship, selectinload

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "alembic"))
import models  # noqa: E402

# `--psycopg2`: through psycopg2 (parameters interpolated by the client, the simple protocol)
# instead of psycopg 3.
# `--asyncpg`: through SQLAlchemy's asyncio extension and the asyncpg dialect (the same code,
# run in a greenlet as AsyncSession.run_sync runs it).
driver = next((d for d in ("psycopg2", "asyncpg") if f"--{d}" in sys.argv[2:]), "psycopg")
url = sys.argv[1].replace("postgresql://", f"postgresql+{driver}://", 1)
out = []


def show(*what):
    out.append(" | ".join(str(w) for w in what))


class Customer:
    pass


class Order:
    pass


class OrderLine:
    pass


mapper = registry()
mapper.map_imperatively(OrderLine, models.order_line)
mapper.map_imperatively(Order, models.orders, properties={
    "lines": relationship(OrderLine, order_by=models.order_line.c.line_no,
                          cascade="all, delete-orphan", passive_deletes=True),
    "customer": relationship(Customer, foreign_keys=[models.orders.c.customer_id],
                             back_populates="orders"),
})
mapper.map_imperatively(Customer, models.customer, properties={
    "orders": relationship(Order, foreign_keys=[models.orders.c.customer_id],
                           order_by=models.orders.c.id, back_populates="customer",
                           cascade="all, delete-orphan", passive_deletes=True),
})


def sqlstate(error):
    return getattr(error, "sqlstate", None) or error.pgcode


def fields(error):
    """The error's schema, table, column and constraint names, as the driver shows them
    (psycopg's `diag`, asyncpg's exception attributes)."""
    names = ("schema", "table", "column", "constraint")
    if hasattr(error, "diag"):
        return {n: getattr(error.diag, f"{n}_name") for n in names}
    cause = error.__cause__
    return {n: getattr(cause, f"{n}_name", None) for n in names}


def make(cls, **values):
    obj = cls()
    for k, v in values.items():
        setattr(obj, k, v)
    return obj


def run(engine):
    """Everything, on `engine` (a sync engine, or an async one's `sync_engine`)."""
    models.metadata.drop_all(engine)
    models.metadata.create_all(engine)

    D = decimal.Decimal
    with Session(engine) as s:
        ann = make(Customer, email="ann@example.com", name="Ann", credit=D("10.50"),
                   born_on=datetime.date(1990, 2, 28))
        bob = make(Customer, email="bob@example.com", name="Bob")
        s.add_all([ann, bob])
        s.flush()
        for n in range(3):
            order = make(Order, id=100 + n, customer=ann, placed_on=datetime.date(2026, 1, 1 + n),
                         total=D("19.99") * (n + 1), reference=f"A-{n}",
                         referrer_id=bob.id if n == 0 else None)
            order.lines = [make(OrderLine, line_no=i + 1, sku=f"SKU{i}", unit_price=D("9.995") + i,
                                description=None if i else "first line") for i in range(n + 1)]
            s.add(order)
        s.commit()
        show("defaults", ann.active, bob.credit, ann.created_at is not None,
             type(ann.created_at).__name__, s.get(Order, 100).status, s.get(Order, 100).paid,
             s.get(Order, 101).lines[0].quantity)

    with Session(engine) as s:
        customers = s.scalars(select(Customer).options(
            selectinload(Customer.orders).selectinload(Order.lines)).order_by(Customer.id)).all()
        for c in customers:
            show("customer", c.name, c.email, c.credit, c.born_on, len(c.orders))
            for o in c.orders:
                show("  order", o.id, o.placed_on, o.total, o.reference, o.referrer_id,
                     [(ln.line_no, ln.sku, ln.quantity, ln.unit_price, ln.description)
                      for ln in o.lines])

    with Session(engine) as s:
        rows = s.execute(
            select(Customer.name, func.count(func.distinct(Order.id)),
                   func.sum(models.order_line.c.quantity * models.order_line.c.unit_price))
            .join(Order, Order.customer_id == Customer.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .group_by(Customer.name).order_by(Customer.name)).all()
        show("aggregate", rows)
        ann = s.scalars(select(Customer).where(Customer.email == "ann@example.com")).one()
        ann.credit += D("0.25")
        s.execute(update(Order).where(Order.total > D("30")).values(status="paid"))
        s.commit()
        show("updated", ann.credit, s.scalars(select(Order.status).order_by(Order.id)).all())

    with Session(engine) as s:
        nested = s.begin_nested()
        s.add(make(Customer, email="carl@example.com", name="Carl"))
        s.flush()
        show("in savepoint", s.scalar(select(func.count()).select_from(Customer)))
        nested.rollback()
        show("after rollback to savepoint", s.scalar(select(func.count()).select_from(Customer)))
        s.commit()

    for what, obj in [
        ("duplicate email", make(Customer, email="ann@example.com", name="Ann again")),
        ("negative credit", make(Customer, email="neg@example.com", name="Neg", credit=D("-1"))),
        ("unknown customer", make(Order, id=999, customer_id=12345, placed_on=datetime.date.today(),
                                  total=1, reference="X")),
        ("status", make(Order, id=998, customer_id=1, placed_on=datetime.date.today(), total=1,
                        reference="Y", status="lost")),
        ("missing name", make(Customer, email="nameless@example.com")),
    ]:
        with Session(engine) as s:
            s.add(obj)
            try:
                s.commit()
                show(what, "committed")
            except IntegrityError as e:
                d = fields(e.orig)
                show(what, sqlstate(e.orig), d["constraint"], d["table"], d["column"])

    with Session(engine) as s:
        bob = s.scalars(select(Customer).where(Customer.name == "Bob")).one()
        s.delete(bob)
        s.commit()
        show("referrers after deleting bob", s.scalars(select(Order.referrer_id).order_by(Order.id)).all())
        page = s.scalars(select(Order.id).order_by(Order.total.desc()).limit(2).offset(1)).all()
        show("page", page)
        ann = s.scalars(select(Customer).where(Customer.name == "Ann")).one()
        s.delete(ann)
        s.commit()
        show("after deleting ann", s.scalar(select(func.count()).select_from(Order)),
             s.scalar(select(func.count()).select_from(OrderLine)))

    # DDL that existing rows refuse names the table and the column or constraint too
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ddl_rows (id int PRIMARY KEY, n int, s text)")
        conn.exec_driver_sql("INSERT INTO ddl_rows VALUES (1, NULL, 'a'), (2, -1, 'a')")
    for ddl in [
        "ALTER TABLE ddl_rows ADD CONSTRAINT n_positive CHECK (n > 0)",
        "CREATE UNIQUE INDEX ddl_rows_s ON ddl_rows (s)",
        "ALTER TABLE ddl_rows ALTER COLUMN n SET NOT NULL",
        "ALTER TABLE ddl_rows ADD COLUMN m int NOT NULL",
    ]:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(ddl)
            show(ddl, "done")
        except IntegrityError as e:
            d = fields(e.orig)
            show(ddl, sqlstate(e.orig), d["schema"], d["table"], d["column"], d["constraint"])
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE ddl_rows")

    models.metadata.drop_all(engine)

if driver == "asyncpg":
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.util import greenlet_spawn

    async def run_async():
        engine = create_async_engine(url)
        await greenlet_spawn(run, engine.sync_engine)
        await engine.dispose()

    asyncio.run(run_async())
else:
    run(sa.create_engine(url))
print("\n".join(out))
