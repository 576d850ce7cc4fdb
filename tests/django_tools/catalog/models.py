"""The app `tests/tools_django.rs` migrates, dumps, loads and queries: foreign keys with
CASCADE and PROTECT, unique_together and a UniqueConstraint, a CheckConstraint, indexes, and
decimal, boolean, date-time and JSON fields."""
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=40, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE)


class Supplier(models.Model):
    name = models.CharField(max_length=60)
    country = models.CharField(max_length=2)

    class Meta:
        unique_together = [("name", "country")]


class Product(models.Model):
    sku = models.CharField(max_length=20)
    name = models.CharField(max_length=100, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, null=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    active = models.BooleanField(default=True)
    created = models.DateTimeField()
    attrs = models.JSONField(default=dict)
    notes = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku"], name="product_sku_unique"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_nonneg"),
        ]
        indexes = [models.Index(fields=["category", "-created"], name="product_cat_created")]
