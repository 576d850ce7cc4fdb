"""The declared schema the Alembic test migrates to (tests/tools_sqlalchemy.rs): three tables
with foreign keys (ON DELETE CASCADE / SET NULL), unique constraints, check constraints,
indexes (unique and multi-column), server defaults, NOT NULL, column and table comments, and
the types Integer, BigInteger, String(n), Text, Numeric(p,s), Boolean, DateTime and Date."""

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer,
    MetaData, Numeric, String, Table, Text, UniqueConstraint, text,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

customer = Table(
    "customer", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(120), nullable=False, comment="where receipts go"),
    Column("name", String(80), nullable=False),
    Column("created_at", DateTime, nullable=False, server_default=text("now()")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("credit", Numeric(12, 2), nullable=False, server_default=text("0")),
    Column("born_on", Date),
    Column("notes", Text),
    UniqueConstraint("email"),
    CheckConstraint("credit >= 0", name="credit_positive"),
    comment="people who order",
)

orders = Table(
    "orders", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customer.id", ondelete="CASCADE"),
           nullable=False),
    Column("referrer_id", Integer, ForeignKey("customer.id", ondelete="SET NULL")),
    Column("placed_on", Date, nullable=False),
    Column("status", String(20), nullable=False, server_default=text("'new'")),
    Column("total", Numeric(10, 2), nullable=False),
    Column("reference", String(32), nullable=False),
    Column("paid", Boolean, server_default=text("false")),
    UniqueConstraint("customer_id", "reference", name="uq_orders_customer_reference"),
    CheckConstraint("total >= 0", name="total_positive"),
    CheckConstraint("status IN ('new', 'paid', 'sent')", name="status_known"),
    Index("ix_orders_customer_placed", "customer_id", "placed_on"),
    Index("ix_orders_reference", "reference", unique=True),
    comment="one basket, checked out",
)

order_line = Table(
    "order_line", metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"),
           primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(40), nullable=False, index=True),
    Column("quantity", Integer, nullable=False, server_default=text("1")),
    Column("unit_price", Numeric(8, 2), nullable=False),
    Column("description", Text, comment="as printed on the invoice"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)
