"""Settings for the test suite: photobox.settings with a fixed, explicit test environment.

DATABASE_URL is taken from the environment when set (CI points it at PostgreSQL); otherwise the
suite runs on SQLite and skips the tests that need PostgreSQL's row locks.
"""

import os

TEST_ENVIRONMENT = {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "PAYMENT_GATEWAY": "simulator",
    "XENDIT_API_KEY": "",
    # At least 32 characters, as production requires (tests/support/webhooks.py's CALLBACK_TOKEN).
    "XENDIT_CALLBACK_TOKEN": "test-callback-token-0123456789abcdef",
    "XENDIT_API_URL": "http://127.0.0.1:9",
    "ENCRYPTION_ENABLED": "false",
    "MAINTENANCE_TOKEN": "",  # a developer's short one would stop start-up; tests that use it set their own
    # Kiosks in most tests send no key (tests/locations/test_kiosk_keys.py covers `required`): chosen explicitly,
    # since DEBUG is off. This process logs that choice once as it starts.
    "KIOSK_AUTH": "optional",
    # DEBUG off needs a mail choice; the test runner then replaces it with its in-memory outbox
    # (mailoutbox), and tests that send for real set EMAIL_BACKEND themselves (tests/gallery/test_emails.py).
    "EMAIL_BACKEND": "console",
    "LOG_LEVEL": "warning",
    "DB_POOL_SIZE": "0",
    "SECURE_SSL_REDIRECT": "false",  # the test client speaks plain HTTP; tests/project/test_deploy.py covers HTTPS
}
# A developer's .env must not change what the tests see.
os.environ.update(TEST_ENVIRONMENT)
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from photobox.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Each test process counts rate limits in its own memory (cleared before every test, tests/conftest.py);
# the tests about the shared cache (tests/project/test_scaling_out.py) start servers with the real one.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The poll reads `default` here, so a test's uncommitted rows (TestCase's transaction) are what it
# sees and `django_assert_num_queries` counts its SELECT. On PostgreSQL its own connection ("poll",
# a test mirror of default) is still configured: the tests that cover it
# (tests/payments/test_poll_connection.py) commit their rows and set POLL_DATABASE = "poll".
POLL_DATABASE = "default"
