"""A Celery worker for the service test run, with the same environment defaults as the tests themselves."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.env_defaults  # noqa: F401  (the test-run environment defaults, set before settings load)
from sageint.celery import app

if __name__ == "__main__":
    app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", *sys.argv[1:]])
