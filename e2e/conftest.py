import os

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make to build their data would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
