from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=50, unique=True)
    qty = models.IntegerField(default=0)
