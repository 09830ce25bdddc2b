# Quorum: one image for web (gunicorn), worker and beat (celery).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 QUORUM_VAR_DIR=/var/lib/quorum
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
COPY quorum ./quorum
COPY labeling ./labeling
COPY review ./review
COPY api ./api
COPY ml ./ml
RUN pip install --no-cache-dir .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=build-only QUORUM_PRODUCTION=False python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /var/lib/quorum quorum && mkdir -p /var/lib/quorum && chown quorum /var/lib/quorum
USER quorum
EXPOSE 8000
CMD ["gunicorn", "quorum.wsgi", "-b", "0.0.0.0:8000", "-w", "2", "--threads", "8", "-k", "gthread"]
