# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL_DIR ?= models
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export TF_CPP_MIN_LOG_LEVEL := 3
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)

.PHONY: setup knowledge demo train test test-fast lint typecheck bench-intents bench-generation bench-soak bench-handoff bench-discovery bench-prepare bench-sentiment bench-retrieval bench-knowledge-bitext pii-ner clean

setup:  ## make .venv (Python 3.10) and install everything; a second run takes seconds
	@scripts/setup.sh

knowledge: setup  ## the help centre into chunks, vectors and answer examples (models/knowledge)
	@PY=$(PY) scripts/build_knowledge.sh $(MODEL_DIR)/knowledge

train: setup knowledge  ## train the sample bot into models/
	$(RASA) train --domain domain --data data --config config.yml --out $(MODEL_DIR) --fixed-model-name pinecrest

$(MODEL_DIR)/pinecrest.tar.gz:
	@$(MAKE) --no-print-directory train

demo: setup $(MODEL_DIR)/pinecrest.tar.gz  ## train if needed, then run the bot and the action server
	@scripts/demo.sh $(MODEL_DIR)/pinecrest.tar.gz

test: setup  ## the whole suite (installs redis-server for the integration tests if missing)
	@scripts/system_deps.sh
	@scripts/run_tests.sh

test-fast: setup  ## unit tests only
	$(PY) -m pytest -m "not integration and not slow" -q

lint: setup  ## ruff, and the import contracts (dependency direction) in pyproject.toml
	$(VENV)/bin/ruff check common bot channels training actions loopback bench tests scripts
	$(VENV)/bin/ruff format --check common bot channels training actions loopback bench tests scripts
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy common bot channels training actions loopback

bench-intents: setup  ## Banking77 side by side with Rasa's DIET (long: see docs/benchmarks.md)
	$(PY) bench/intents.py

bench-generation: setup  ## decoding speed: our int8 KV-cache loop vs model.generate fp32
	$(PY) bench/generation_speed.py

bench-soak: setup $(MODEL_DIR)/pinecrest.tar.gz  ## 500 messages over web, Slack, Telegram, email
	$(PY) bench/soak.py --model $(MODEL_DIR)/pinecrest.tar.gz

bench-handoff: setup $(MODEL_DIR)/pinecrest.tar.gz  ## 200 concurrent handoffs, two instances on Redis
	$(PY) bench/handoff.py --model $(MODEL_DIR)/pinecrest.tar.gz

bench-discovery: setup  ## intent discovery NMI/ARI on Bitext and Banking77
	$(PY) bench/intent_discovery.py

bench-prepare: setup  ## python -m training prepare on generated conversations
	$(PY) bench/prepare.py

bench-sentiment: setup  ## the escalation sentiment check against plain VADER
	$(PY) bench/sentiment.py

bench-retrieval: setup  ## hybrid knowledge retrieval at 100,000 chunks: build, memory, p95
	$(PY) bench/retrieval.py

bench-knowledge-bitext: setup  ## knowledge answers on Bitext: its replies as knowledge, requests as questions
	nice -n 10 $(PY) bench/knowledge_bitext.py

pii-ner: setup  ## train the MiniLM name/address tagger into .cache/pii-ner (opt-in: RedactionConfig.names)
	$(PY) -m training pii-ner

clean:
	rm -rf $(MODEL_DIR) .pytest_cache .mypy_cache .ruff_cache
