"""Production settings, read in a fresh interpreter without the test switches."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _read_settings(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("QINGLANG_") and k != "DJANGO_SETTINGS_MODULE"
    }
    clean.update(
        {"QINGLANG_DATA_DIR": str(tmp_path), "QINGLANG_STATIC_ROOT": str(tmp_path / "static"), **env}
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60
    )


def test_argon2_is_the_first_password_hasher_in_production(tmp_path):
    r = _read_settings(
        tmp_path,
        "import qinglang.config.settings as s; print(s.TESTING); print('\\n'.join(s.PASSWORD_HASHERS))",
        QINGLANG_DEMO="true",
    )
    assert r.returncode == 0, r.stderr
    testing, *hashers = r.stdout.split()
    assert testing == "False"
    assert hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert not any("MD5" in h for h in hashers)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    r = _read_settings(tmp_path, "import qinglang.config.settings")
    assert r.returncode != 0 and "QINGLANG_SECRET_KEY" in r.stderr


def test_argon2_library_is_installed():
    from django.contrib.auth.hashers import Argon2PasswordHasher  # needs argon2-cffi

    h = Argon2PasswordHasher()
    encoded = h.encode("Qinglang-test-2026", h.salt())
    assert encoded.startswith("argon2$") and h.verify("Qinglang-test-2026", encoded)
