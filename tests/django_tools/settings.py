"""Settings of the Django project `tests/tools_django.rs` drives: django.contrib's auth, admin,
contenttypes, sessions, messages and staticfiles plus the app `catalog` (in the admin site), on the server at $DB_PORT (isola, or the
PostgreSQL 15 reference), database $DB_NAME."""
import os

SECRET_KEY = "isola-tests"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "catalog",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DB_NAME", "isola"),
        "USER": "isola",
        "HOST": "127.0.0.1",
        "PORT": os.environ["DB_PORT"],
    }
}
ROOT_URLCONF = "urls"
ALLOWED_HOSTS = ["testserver"]
STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
