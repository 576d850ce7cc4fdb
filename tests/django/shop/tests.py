"""Run by Django's test runner in the test database it created (`test_shop`), each test in a
transaction rolled back at its end."""
from django.db import IntegrityError, connection, transaction
from django.test import TestCase

from .models import Item


class ItemTests(TestCase):
    def test_rows_in_the_test_database(self):
        Item.objects.create(name="apple", qty=2)
        Item.objects.create(name="pear")
        self.assertEqual(list(Item.objects.order_by("name").values_list("name", "qty")),
                         [("apple", 2), ("pear", 0)])
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            self.assertEqual(cursor.fetchone()[0], "test_shop")

    def test_each_test_starts_empty_and_constraints_hold(self):
        self.assertEqual(Item.objects.count(), 0)
        Item.objects.create(name="apple")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Item.objects.create(name="apple")
        self.assertEqual(Item.objects.count(), 1)
