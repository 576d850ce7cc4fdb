"""`catalog/models.py` changed, as `tests/tools_django.rs` copies it over the app before
`makemigrations`: fields added (with a default, nullable), one removed, one renamed, a length
changed, a new model with a PROTECT foreign key and a unique_together, a new CheckConstraint
and index."""
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=40, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE)


class Supplier(models.Model):
    name = models.CharField(max_length=60)
    country = models.CharField(max_length=3)
    rating = models.SmallIntegerField(default=3)

    class Meta:
        unique_together = [("name", "country")]


class Product(models.Model):
    sku = models.CharField(max_length=20)
    name = models.CharField(max_length=100, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, null=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.IntegerField(default=0)
    active = models.BooleanField(default=True)
    discontinued = models.DateTimeField(null=True)
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=0)
    created = models.DateTimeField()
    attrs = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku"], name="product_sku_unique"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_nonneg"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="product_qty_nonneg"),
        ]
        indexes = [
            models.Index(fields=["category", "-created"], name="product_cat_created"),
            models.Index(fields=["active", "price"], name="product_active_price"),
        ]


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    stars = models.PositiveSmallIntegerField()
    body = models.TextField(blank=True)
    posted = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("product", "posted")]
