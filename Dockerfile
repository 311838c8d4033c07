# Taxoloop: one image for web (gunicorn), Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 DJANGO_SETTINGS_MODULE=taxoloop.settings.production
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 taxoloop

COPY pyproject.toml constraints.txt README.md ./
COPY taxoloop ./taxoloop
COPY labeling ./labeling
COPY classifier ./classifier
# CPU torch from PyTorch's CPU index; the constraints keep torch and torchvision together.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

USER taxoloop
EXPOSE 8000
CMD ["gunicorn", "taxoloop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
