"""Settings are parsed from the environment; each case runs in a fresh interpreter so import-time rules apply."""

import json
import os
import subprocess
import sys

from django.conf import settings

# Reading a setting imports the settings module, where every rule below lives; no django.setup(), which would import
# every app (most of each case's time).
PROBE = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({"engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST"), "port": db.get("PORT"),
                  "user": db.get("USER"), "options": db.get("OPTIONS", {}), "debug": settings.DEBUG,
                  "broker": settings.CELERY_BROKER_URL, "site_url": settings.SITE_URL,
                  "allowed_hosts": settings.ALLOWED_HOSTS, "user_token_secret": settings.SAGEINT_USER_TOKEN_SECRET,
                  "user_token_secret_is_dev": settings.SAGEINT_USER_TOKEN_SECRET_IS_DEV}))
"""


def run_settings(tmp_path, **env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "CELERY_BROKER_URL"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "sageint.settings", "SAGEINT_VAR_DIR": str(tmp_path)})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_database_url_selects_postgresql(tmp_path):
    result = run_settings(
        tmp_path, SECRET_KEY="k", DATABASE_URL="postgres://sage:pw@db.internal:6543/sageint"
    )
    parsed = json.loads(result.stdout)
    # Django's PostgreSQL backend with the pool's cheaper health check (sageint/postgresql/base.py).
    assert parsed["engine"] == "sageint.postgresql"
    assert parsed["options"]["pool"]["max_size"] >= 1
    assert (parsed["name"], parsed["host"], parsed["port"], parsed["user"]) == (
        "sageint",
        "db.internal",
        6543,
        "sage",
    )
    assert "transaction_mode" not in parsed["options"]


def test_without_the_pool_postgresql_is_djangos_own_backend(tmp_path):
    result = run_settings(
        tmp_path,
        SECRET_KEY="k",
        DATABASE_URL="postgres://sage@db.internal/sageint",
        DATABASE_POOL_MAX_SIZE="0",
    )
    parsed = json.loads(result.stdout)
    assert parsed["engine"] == "django.db.backends.postgresql"
    assert "pool" not in parsed["options"]


def test_default_database_is_sqlite_tuned_for_several_processes(tmp_path):
    parsed = json.loads(run_settings(tmp_path, SECRET_KEY="k").stdout)
    assert parsed["engine"] == "django.db.backends.sqlite3"
    assert parsed["name"] == str(tmp_path / "db.sqlite3")
    assert parsed["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in parsed["options"]["init_command"]
    assert parsed["options"]["timeout"] >= 5
    assert parsed["broker"] == "filesystem://"


def test_missing_secret_key_with_debug_off_refuses_to_start(tmp_path):
    result = run_settings(tmp_path, DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_on_without_secret_key_uses_a_development_key(tmp_path):
    result = run_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_hosts_and_site_url_come_from_the_environment(tmp_path):
    parsed = json.loads(
        run_settings(
            tmp_path, SECRET_KEY="k", ALLOWED_HOSTS="a.example,b.example", SITE_URL="https://a.example/"
        ).stdout
    )
    assert parsed["allowed_hosts"] == ["a.example", "b.example"]
    assert parsed["site_url"] == "https://a.example"


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text(
        "SECRET_KEY=from-dotenv\nSITE_URL=https://dotenv.example\nALLOWED_HOSTS=dotenv.example\n"
    )
    parsed = json.loads(
        run_settings(tmp_path, SAGEINT_ENV_FILE=str(env_file), SITE_URL="https://env.example").stdout
    )
    assert parsed["allowed_hosts"] == ["dotenv.example"]  # from the file
    assert parsed["site_url"] == "https://env.example"  # the environment overrides the file


def test_debug_derives_a_marked_development_user_token_secret_from_the_secret_key(tmp_path):
    derived = json.loads(run_settings(tmp_path, DEBUG="1", SAGEINT_USER_TOKEN_SECRET="").stdout)
    assert derived["user_token_secret_is_dev"]
    assert derived["user_token_secret"].startswith(settings.DEV_USER_TOKEN_SECRET_PREFIX)
    other_key = json.loads(
        run_settings(tmp_path, DEBUG="1", SECRET_KEY="k", SAGEINT_USER_TOKEN_SECRET="").stdout
    )
    assert other_key["user_token_secret"] != derived["user_token_secret"]
    # A secret of one's own wins, also in DEBUG.
    own = json.loads(run_settings(tmp_path, DEBUG="1", SAGEINT_USER_TOKEN_SECRET="mine").stdout)
    assert (own["user_token_secret"], own["user_token_secret_is_dev"]) == ("mine", False)


def test_without_debug_no_user_token_secret_is_derived_and_a_development_one_is_refused(tmp_path):
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "k" * 50,
        "SAGEINT_ENCRYPTION_KEYS": settings.SAGEINT_ENCRYPTION_KEYS[0],
    }
    unset = run_settings(tmp_path, **production, SAGEINT_USER_TOKEN_SECRET="")
    assert unset.returncode == 0, unset.stderr
    assert json.loads(unset.stdout)["user_token_secret"] == ""

    development = settings.DEV_USER_TOKEN_SECRET_PREFIX + "0" * 64
    copied = run_settings(tmp_path, **production, SAGEINT_USER_TOKEN_SECRET=development)
    assert copied.returncode != 0
    assert "development secret, which is only accepted when DEBUG=1" in copied.stderr
    assert development not in copied.stderr
