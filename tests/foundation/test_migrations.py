import os
import subprocess
import sys

from django.conf import settings


def manage(*args: str, tmp_path) -> subprocess.CompletedProcess:
    # A fresh SQLite file per call: the suite itself runs with --nomigrations.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_models_and_migrations_agree(tmp_path):
    result = manage("makemigrations", "--check", "--dry-run", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "No changes detected" in result.stdout


def test_migrations_apply_to_an_empty_database(tmp_path):
    result = manage("migrate", "--no-input", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
