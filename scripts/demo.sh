#!/usr/bin/env bash
# `make demo`: the embedded default (SQLite, Celery on kombu's filesystem transport, no services).
# Usage: scripts/demo.sh [CATALOG] [DATASET] [HOST] [PORT]
#   CATALOG  a CSV/JSONL of your own (columns id,title,description,category_path; TAXONOMY=file for its tree)
#   DATASET  "fashion" loads ../shared/data/fashion (44k items with images; 5% of labels kept)
set -euo pipefail
cd "$(dirname "$0")/.."
CATALOG="${1:-}"; DATASET="${2:-}"; HOST="${3:-127.0.0.1}"; PORT="${4:-8000}"
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=taxoloop.settings.dev DEBUG=1
mkdir -p var

$PY manage.py migrate --noinput -v0
echo "Demo users (also in var/demo-credentials.json):"
$PY manage.py demo_setup

has_version() { $PY manage.py shell -c "from labeling.models import TaxonomyVersion as V; import sys; sys.exit(0 if V.objects.filter(is_current=True).exists() else 1)"; }

if [ "$DATASET" = "fashion" ]; then
  DATA="${TAXOLOOP_SHARED_DATA:-../shared/data}/fashion"
  [ -f "$DATA/items.csv" ] || { echo "no fashion data at $DATA (set TAXOLOOP_SHARED_DATA)"; exit 2; }
  $PY scripts/prepare_fashion.py "$DATA/items.csv" var/fashion
  has_version || $PY manage.py import_taxonomy var/fashion/taxonomy.txt --format paths --name Fashion --publish
  $PY manage.py import_catalog var/fashion/items.csv --title-col productDisplayName \
    --attribute-cols gender,baseColour,season,year,usage --label-col category_path \
    --image-col image --images-root "$DATA" --source fashion
elif [ -n "$CATALOG" ]; then
  if [ -n "${TAXONOMY:-}" ]; then has_version || $PY manage.py import_taxonomy "$TAXONOMY" --publish; fi
  $PY manage.py import_catalog "$CATALOG" --label-col "${LABEL_COL:-category_path}" --source demo
else
  has_version || $PY manage.py import_taxonomy scripts/demo_data/taxonomy.txt --name "Demo shop" --publish
  $PY manage.py import_catalog scripts/demo_data/catalog.csv --attribute-cols brand,color,material \
    --description-col description --label-col category_path --source demo
fi

[ "${TAXOLOOP_DEMO_NO_SERVE:-}" = "1" ] && exit 0

echo "Starting web (http://$HOST:$PORT/), Celery worker and beat. Ctrl-C stops all three."
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
.venv/bin/celery -A taxoloop worker -P solo -l info >var/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A taxoloop beat -l info >var/beat.log 2>&1 & pids+=($!)
$PY manage.py runserver "$HOST:$PORT" & pids+=($!)
wait -n
