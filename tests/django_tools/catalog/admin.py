"""The app's models in the admin site, with the search, filters and counts a change list
runs queries for."""
from django.contrib import admin

from catalog.models import Category, Product, Supplier


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "price", "active"]
    list_filter = ["active", "category", "created"]
    search_fields = ["name", "sku"]
    date_hierarchy = "created"


admin.site.register(Category)
admin.site.register(Supplier)
