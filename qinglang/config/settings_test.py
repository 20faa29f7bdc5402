"""Test settings: the production settings with TESTING on (jobs run inline, a fast
password hasher). Nothing else differs, so tests exercise the real configuration."""

import os

os.environ.setdefault("QINGLANG_TESTING", "true")

from .settings import *  # noqa: F403
