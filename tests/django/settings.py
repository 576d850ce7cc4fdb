"""Settings of the Django project `tests/django.rs` runs `manage.py test` with: one app, the
database `shop` on the isola server at $ISOLA_PORT (its test database is `test_shop`)."""
import os

SECRET_KEY = "isola-tests"
INSTALLED_APPS = ["shop"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "isola",
        "HOST": "127.0.0.1",
        "PORT": os.environ["ISOLA_PORT"],
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
