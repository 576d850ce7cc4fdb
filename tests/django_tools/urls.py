"""The project's URLs: the admin site, which `orm.py`'s `admin` step browses."""
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
