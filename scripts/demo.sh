#!/usr/bin/env bash
# Run the sample bot: the action server and the Rasa server, on embedded defaults
# (in-memory tracker and lock stores; no Redis). Ctrl-C stops both.
# The Rasa server listens on 127.0.0.1 only (INTERFACE=0.0.0.0 opens it to the network), and
# its HTTP API (trackers, model) needs the token kept in .cache/demo-api-token. The action
# server listens on 127.0.0.1 only (ACTIONS_INTERFACE overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/pinecrest.tar.gz}
PORT=${PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
INTERFACE=${INTERFACE:-127.0.0.1}
TOKEN_FILE=.cache/demo-api-token
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false TF_CPP_MIN_LOG_LEVEL=3
export RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD"
# Sanic drops a new connection idle for 5 s; a busy bot writes to the action server later.
export SANIC_KEEP_ALIVE_TIMEOUT=${SANIC_KEEP_ALIVE_TIMEOUT:-60}

# An inbox admin for the demo, made once; its password is kept in a private file.
ADMIN_FILE=.cache/demo-admin-password
if [[ ! -s $ADMIN_FILE ]]; then
    mkdir -p .cache
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' > "$ADMIN_FILE")
    .venv/bin/python -m bot.inbox add-user admin --role admin --password-stdin < "$ADMIN_FILE"
fi

# rasa-sdk has no interface option; Sanic's SANIC_HOST keeps the action server on loopback
# (it has no authentication of its own, and only the Rasa server on this machine calls it).
SANIC_HOST=${ACTIONS_INTERFACE:-127.0.0.1} .venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT

cat <<MSG

  Pinecrest Outfitters support bot is starting on http://localhost:$PORT
  (it takes ~30 s to load). Then:

    Web widget demo page:  http://localhost:$PORT/widget
    Agent inbox:           http://localhost:$PORT/webhooks/inbox/
                           user admin, password in $ADMIN_FILE

  HTTP API (trackers, model; from this machine): add ?token=\$(cat $TOKEN_FILE)

  Or talk to it over REST:

    curl -s localhost:$PORT/webhooks/rest/webhook \\
         -H 'Content-Type: application/json' \\
         -d '{"sender": "me", "message": "where is my order PC-482913?"}'

  or, in another terminal:  .venv/bin/rasa shell -m $MODEL
  Parse only (intent + ranking):
    curl -s "localhost:$PORT/model/parse?token=\$(cat $TOKEN_FILE)" -d '{"text": "I want a refund"}'

MSG
# Open the demo page in a browser when there is one (a desktop session).
if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] && command -v xdg-open >/dev/null 2>&1; then
    (sleep 40 && xdg-open "http://localhost:$PORT/widget" >/dev/null 2>&1 || true) &
fi
# The API token is made on first run; Rasa runs inside demo_server.py, so the token stays
# out of the process list.
.venv/bin/python scripts/demo_server.py "$MODEL" --port "$PORT" --interface "$INTERFACE" \
    --token-file "$TOKEN_FILE"
