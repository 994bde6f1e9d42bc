# sageint's production image: the README's production section, in a container. One image for every process:
# the web server (default command), the Celery worker and beat (docker-compose.yml gives their commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STATIC_ROOT=/app/staticfiles \
    SAGEINT_VAR_DIR=/var/lib/sageint \
    SAGEINT_METRICS_DIR=/var/lib/sageint/metrics \
    WEB_BIND=0.0.0.0:8000

WORKDIR /app
RUN useradd --system --uid 10001 --no-create-home --home-dir /app sageint

COPY requirements.txt ./
RUN python -m venv .venv && .venv/bin/pip install -r requirements.txt

COPY . .
# Hashed, compressed static files, served by whitenoise. Settings need a key to load; this one is never used.
RUN DEBUG=0 SECRET_KEY=collectstatic-only SAGEINT_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXJlYWwta2V5 \
    .venv/bin/python manage.py collectstatic --no-input
RUN mkdir -p /var/lib/sageint/metrics && chown -R sageint /var/lib/sageint

USER sageint
EXPOSE 8000
CMD [".venv/bin/gunicorn", "-c", "gunicorn.conf.py"]
