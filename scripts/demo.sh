#!/usr/bin/env bash
# Run the sample bot: the action server and the Rasa server, on embedded defaults
# (in-memory tracker and lock stores; no Redis). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/pinecrest.tar.gz}
PORT=${PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false TF_CPP_MIN_LOG_LEVEL=3
export RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD"
# Sanic drops a new connection idle for 5 s; a busy bot writes to the action server later.
export SANIC_KEEP_ALIVE_TIMEOUT=${SANIC_KEEP_ALIVE_TIMEOUT:-60}

.venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT

cat <<MSG

  Pinecrest Outfitters support bot is starting on http://localhost:$PORT
  (it takes ~20 s to load). Then talk to it:

    curl -s localhost:$PORT/webhooks/rest/webhook \\
         -H 'Content-Type: application/json' \\
         -d '{"sender": "me", "message": "where is my order PC-482913?"}'

  or, in another terminal:  .venv/bin/rasa shell -m $MODEL
  Parse only (intent + ranking):  curl -s localhost:$PORT/model/parse -d '{"text": "I want a refund"}'

MSG
.venv/bin/rasa run -m "$MODEL" --enable-api --port "$PORT" \
    --credentials credentials.yml --endpoints endpoints.yml
