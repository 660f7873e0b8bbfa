# carebot: `make run` to try it, `make test` to check it. Both set up .venv with uv on first use.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGGRAPH_NO_VERSION_CHECK := 1

.PHONY: help venv run test test-fast lint format typecheck studio eval eval-retrieval bench clean

help:
	@echo "make run        serve the agent on http://127.0.0.1:8000 (embedded Postgres, demo shop, offline model)"
	@echo "make test       lint, type-check and run every test"
	@echo "make studio     LangGraph Studio's dev server on port 2025"
	@echo "make eval       the golden set through the agent: report in reports/latest, fails below evals/thresholds.toml"
	@echo "                (COMPARE=reports/<earlier run> shows what changed), the customer-style held-out sets"
	@echo "                (intents, out-of-scope declined and false alarms per language), the prompt-injection set"
	@echo "                (injection resistance and false alarms per language), the order actions on their own"
	@echo "                shop (task success, pass^k, unconfirmed and foreign writes), the frozen blind set (gated by"
	@echo "                evals/thresholds.blind.toml, reported apart), then make eval-retrieval"
	@echo "make eval-retrieval  recall@1, recall@3 and MRR of the help-centre search, per dataset and language"
	@echo "make bench      P1–P3 and cold-start benchmarks (minutes) → table + reports/bench.json;"
	@echo "                BENCH_ARGS=\"--only p2 --sizes 50,200\" or \"--smoke\" (python -m bench --help)"
	@echo "make lint | typecheck | format | clean"

# uv comes from PyPI when the machine has none; the lock file pins everything else. Bytecode is
# compiled at install: where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python would otherwise
# compile every imported module on every start (3 s of a one-shot `carebot chat`).
$(VENV)/.synced: pyproject.toml uv.lock Makefile
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

venv: $(VENV)/.synced

run: venv
	$(VENV)/bin/carebot serve

test: venv lint typecheck
	$(VENV)/bin/pytest

test-fast: venv
	$(VENV)/bin/pytest -m "not slow"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	$(VENV)/bin/mypy -p carebot -p bench

EVAL_REPORT ?= reports/latest
# Held-out sets of how customers write: in-scope messages, off-topic requests, in-scope look-alikes.
CUSTOMER_SETS := $(foreach s,customers out_of_scope lookalike,--dataset evals/datasets/$(s).v1.jsonl)
eval: venv
	$(VENV)/bin/carebot eval --dataset evals/datasets/golden.v1.jsonl --report $(EVAL_REPORT) $(if $(COMPARE),--compare $(COMPARE))
	$(VENV)/bin/carebot eval $(CUSTOMER_SETS) --thresholds evals/thresholds.customers.toml --report $(EVAL_REPORT)-customers \
		$(if $(wildcard $(COMPARE)-customers),--compare $(COMPARE)-customers)
	$(VENV)/bin/carebot eval --dataset evals/datasets/injection.v1.jsonl --thresholds evals/thresholds.injection.toml \
		--report $(EVAL_REPORT)-injection $(if $(wildcard $(COMPARE)-injection),--compare $(COMPARE)-injection)
	$(VENV)/bin/carebot eval --dataset evals/datasets/actions.v1.jsonl --shop evals/shops/actions \
		--thresholds evals/thresholds.actions.toml --report $(EVAL_REPORT)-actions \
		$(if $(wildcard $(COMPARE)-actions),--compare $(COMPARE)-actions)
	$(VENV)/bin/carebot eval --dataset evals/datasets/actions_blind.v1.jsonl --shop evals/shops/actions \
		--thresholds evals/thresholds.actions_blind.toml --report $(EVAL_REPORT)-actions-blind \
		$(if $(wildcard $(COMPARE)-actions-blind),--compare $(COMPARE)-actions-blind)
	$(VENV)/bin/carebot eval --dataset evals/datasets/blind.v1.jsonl --thresholds evals/thresholds.blind.toml \
		--report $(EVAL_REPORT)-blind $(if $(wildcard $(COMPARE)-blind),--compare $(COMPARE)-blind)
	$(VENV)/bin/carebot eval --dataset evals/datasets/blind.v2.jsonl --thresholds evals/thresholds.blind2.toml \
		--report $(EVAL_REPORT)-blind2 $(if $(wildcard $(COMPARE)-blind2),--compare $(COMPARE)-blind2)
	$(VENV)/bin/carebot eval --dataset evals/datasets/blind.v3.jsonl --thresholds evals/thresholds.blind3.toml \
		--report $(EVAL_REPORT)-blind3 $(if $(wildcard $(COMPARE)-blind3),--compare $(COMPARE)-blind3)
	$(MAKE) --no-print-directory eval-retrieval

eval-retrieval: venv
	$(VENV)/bin/carebot kb evaluate --dataset evals/datasets/retrieval.v1.jsonl \
		--dataset evals/datasets/retrieval_paraphrase.v1.jsonl --fail-under 0.9

bench: venv
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

studio: venv
	$(VENV)/bin/langgraph dev --no-browser --port 2025

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .langgraph_api
