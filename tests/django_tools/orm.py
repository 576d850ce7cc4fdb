"""Django's ORM over the `catalog` app as `models_v2.py` has it, run by `tests/tools_django.rs`
against isola and PostgreSQL 15 (the same fresh, migrated database on each): prints one JSON
line per check, which the test compares between the two. Checks what the ORM sends: bulk_create
(`INSERT ... SELECT * FROM UNNEST(...)`), `.iterator()` (a server-side cursor), `__regex`,
aggregates with `filter=` (`FILTER (WHERE ...)`), `select_for_update` (over joins too), PROTECT and CASCADE,
constraint violations, JSONField values and lookups, and date-time lookups."""
import datetime
import decimal
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django  # noqa: E402

django.setup()

from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import Avg, Count, Max, ProtectedError, Q, Sum  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Category, Product, Review, Supplier  # noqa: E402

UTC = datetime.timezone.utc


def show(name, value):
    """One check's answer, as a JSON line: `name value`."""
    print(name, json.dumps(value, default=str, sort_keys=True), flush=True)


def populate():
    root = Category.objects.create(name="root")
    with CaptureQueriesContext(connection) as queries:
        cats = Category.objects.bulk_create(
            [Category(name=f"cat{i}", parent=root) for i in range(5)]
        )
    show("bulk_create categories unnest", any("UNNEST" in q["sql"] for q in queries.captured_queries))
    show("bulk_create categories ids", [c.pk is not None for c in cats])
    sups = Supplier.objects.bulk_create(
        [Supplier(name=f"sup{i % 2}", country=["de", "fr", "usa"][i % 3], rating=i) for i in range(6)]
    )
    products = []
    for i in range(120):
        products.append(
            Product(
                sku=f"SKU-{i:04d}",
                name=f"{['red', 'green', 'blue'][i % 3]} widget {i}",
                category=cats[i % 5],
                supplier=sups[i % 6] if i % 7 else None,
                price=decimal.Decimal(i) / 4,
                quantity=i % 11,
                active=i % 4 != 0,
                created=datetime.datetime(2024, 1 + i % 12, 1 + i % 28, i % 24, 0, tzinfo=UTC),
                weight=decimal.Decimal("0.125") * i,
                attrs={"color": ["red", "green", "blue"][i % 3], "n": i, "tags": ["a", "b"]},
            )
        )
    with CaptureQueriesContext(connection) as queries:
        Product.objects.bulk_create(products, batch_size=50)
    show("bulk_create products statements", len(queries.captured_queries))
    show("bulk_create products unnest", sum("UNNEST" in q["sql"] for q in queries.captured_queries))
    show("count", Product.objects.count())


def queries():
    # .iterator() runs a server-side cursor (DECLARE ... CURSOR WITH HOLD outside a transaction
    # block, FETCH chunk_size rows at a time)
    show("iterator", [p.sku for p in Product.objects.order_by("id").iterator(chunk_size=7)][:3])
    show("iterator count", sum(1 for _ in Product.objects.filter(active=True).iterator(chunk_size=9)))
    with transaction.atomic():
        show("iterator in atomic", sum(p.quantity for p in Product.objects.iterator(chunk_size=10)))
    with transaction.atomic():
        rows = Product.objects.order_by("id").iterator(chunk_size=10)
        first = next(rows)
        with connection.cursor() as c:
            c.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
            show("iterator server-side cursor", [first.sku, c.fetchone()[0]])
        rows.close()
    show("regex", list(Product.objects.filter(name__regex=r"^(red|blue) widget 1[0-9]$").order_by("sku").values_list("sku", flat=True)))
    show("iregex", Product.objects.filter(name__iregex=r"^GREEN").count())
    show(
        "aggregate filter",
        Product.objects.aggregate(
            total=Count("id"),
            n_active=Count("id", filter=Q(active=True)),
            cheap=Count("id", filter=Q(price__lt=10)),
            active_value=Sum("price", filter=Q(active=True)),
            top_price=Max("price", filter=Q(active=False)),
            avg_qty=Avg("quantity", filter=Q(quantity__gt=5)),
        ),
    )
    show(
        "annotate filter",
        list(
            Category.objects.filter(parent__isnull=False)
            .annotate(n=Count("products"), n_active=Count("products", filter=Q(products__active=True)))
            .order_by("name")
            .values_list("name", "n", "n_active")
        ),
    )
    show(
        "group by",
        list(Product.objects.values("category__name").annotate(s=Sum("price")).order_by("category__name")),
    )
    show("decimal", str(Product.objects.get(sku="SKU-0007").price))
    show("date lookups", [
        Product.objects.filter(created__year=2024, created__month=3).count(),
        Product.objects.filter(created__gte=datetime.datetime(2024, 6, 1, tzinfo=UTC)).count(),
        Product.objects.filter(created__date=datetime.date(2024, 2, 2)).count(),
    ])
    show("json", Product.objects.get(sku="SKU-0004").attrs)
    show("json lookups", [
        Product.objects.filter(attrs__color="red").count(),
        Product.objects.filter(attrs__n__gt=100).count(),
        Product.objects.filter(attrs__n__lte=3).count(),
        Product.objects.filter(attrs__has_key="tags").count(),
        Product.objects.filter(attrs__has_any_keys=["nope", "color"]).count(),
        Product.objects.filter(attrs__contains={"color": "blue"}).count(),
        Product.objects.filter(attrs__tags__contains=["b"]).count(),
        Product.objects.filter(attrs__tags__0="a").count(),
        Product.objects.filter(attrs__color__icontains="GRE").count(),
        list(Product.objects.filter(attrs__n__in=[5, 7]).order_by("id").values_list("attrs__color", flat=True)),
    ])
    show("in and range", Product.objects.filter(id__in=[1, 2, 3], price__range=(0, 1)).count())
    show("exists", Category.objects.filter(products__quantity=10).distinct().count())


def locking():
    with transaction.atomic():
        p = Product.objects.select_for_update().get(sku="SKU-0010")
        p.quantity += 100
        p.save()
    show("select_for_update", Product.objects.get(sku="SKU-0010").quantity)
    with transaction.atomic():
        locked = list(Product.objects.select_for_update(skip_locked=True).filter(active=False).order_by("id")[:3].values_list("sku", flat=True))
    show("select_for_update skip_locked", locked)
    with transaction.atomic():
        p = Product.objects.select_for_update(nowait=True).get(sku="SKU-0011")
        show("select_for_update nowait", p.quantity)

    with transaction.atomic():
        rows = list(
            Product.objects.select_for_update(of=("self",))
            .filter(category__name="cat1")
            .order_by("id")
            .values_list("sku", flat=True)[:2]
        )
    show("select_for_update of, over a join", rows)
    with transaction.atomic():
        rows = list(Product.objects.select_for_update().filter(category__parent__name="root", quantity=3).order_by("id").values_list("sku", "category__name"))
    show("select_for_update over joins", rows)

def constraints():
    for name, work in [
        ("unique", lambda: Product.objects.create(sku="SKU-0001", name="x", category_id=1, price=1, created=datetime.datetime(2024, 1, 1, tzinfo=UTC))),
        ("check", lambda: Product.objects.filter(sku="SKU-0002").update(price=-1)),
        ("unique_together", lambda: Supplier.objects.create(name="sup0", country="de")),
        ("fk", lambda: Product.objects.filter(sku="SKU-0003").update(category_id=999999)),
    ]:
        try:
            with transaction.atomic():
                work()
            show(name, "no error")
        except IntegrityError as e:
            show(name, type(e.__cause__).__name__)
    p = Product.objects.get(sku="SKU-0005")
    Review.objects.create(product=p, stars=4, body="fine")
    try:
        p.delete()
        show("protect", "deleted")
    except ProtectedError:
        show("protect", "ProtectedError")
    show("reviews", Review.objects.count())
    Review.objects.all().delete()
    deleted = Category.objects.get(name="cat4").delete()
    show("cascade", deleted)
    show("after cascade", Product.objects.count())


def people():
    """Rows with nothing random in them (no password salt, no `now()`), so that dumps of the
    two databases compare equal."""
    from django.contrib.auth.models import Group, User

    when = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    staff = Group.objects.create(name="staff")
    alice = User.objects.create(username="alice", password="!", email="a@example.com", date_joined=when)
    alice.groups.add(staff)
    review = Review.objects.create(product=Product.objects.get(sku="SKU-0006"), stars=5, body="great")
    Review.objects.filter(pk=review.pk).update(posted=when)
    show("people", [User.objects.count(), Group.objects.count(), Review.objects.count()])


def after_load():
    """After `flush` and `loaddata`: new rows get ids past the loaded ones (loaddata reset
    the sequences)."""
    before = [Category.objects.aggregate(m=Max("id"))["m"], Product.objects.aggregate(m=Max("id"))["m"]]
    c = Category.objects.create(name="new")
    p = Product.objects.create(sku="NEW-1", name="new", category=c, price=1, created=datetime.datetime(2024, 1, 1, tzinfo=UTC))
    show("after load", {"max ids": before, "new ids": [c.pk, p.pk]})


def admin_site():
    """The admin site through Django's test client: log in (a session row), the change list
    with a search, a filter and the date hierarchy, a change form, a delete confirmation."""
    from django.contrib.auth.models import User
    from django.test import Client

    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    show("admin login", client.login(username="admin", password="pw"))
    pages = [
        "/admin/",
        "/admin/catalog/product/",
        "/admin/catalog/product/?q=widget+1",
        "/admin/catalog/product/?active__exact=1&created__year=2024&created__month=3",
        "/admin/catalog/product/%d/change/" % Product.objects.get(sku="SKU-0002").pk,
        "/admin/catalog/category/%d/delete/" % Category.objects.get(name="cat1").pk,
    ]
    show("admin pages", [client.get(p).status_code for p in pages])
    page = client.get("/admin/catalog/product/?q=widget+1").content.decode()
    show("admin search", page.count('class="field-sku"'))


def main():
    steps = {
        "populate": populate,
        "queries": queries,
        "locking": locking,
        "constraints": constraints,
        "people": people,
        "after_load": after_load,
        "admin": admin_site,
    }
    for step in sys.argv[1:]:
        steps[step]()


main()
